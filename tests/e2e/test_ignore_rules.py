"""The files a real daemon considers in a git repository are exactly the ones git does not
ignore: nested negations, anchored and directory patterns, `**`, and all three sources."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from tests.e2e.test_live import wait_fresh
from tests.unit.test_ignore import git_env, git_kept, write


def test_the_daemons_file_set_equals_git_check_ignore(daemon_factory: Any, tmp_path: Path) -> None:
    home = tmp_path / "home"
    root = tmp_path / "repo"
    env = git_env(home)
    subprocess.run(["git", "init", "-q", str(root)], check=True, env=env)
    write(home, {".gitconfig": "[core]\n  excludesfile = ~/.ignore-global\n"})
    write(home, {".ignore-global": "*.orig\n"})
    write(root, {
        ".gitignore": "*.py\n!/src/\n/dist\nlogs/\n**/cache/**\n*.tmp\n!important.tmp\n",
        ".git/info/exclude": "local-notes.md\n",
        "src/.gitignore": "!keep.py\n!*.tmp\n",
        "src/keep.py": "def kept(): pass\n", "src/other.py": "", "src/a.tmp": "",
        "lib/keep.py": "", "main.rs": "", "dist": "", "sub/dist": "",
        "logs/x.txt": "", "a/logs/y.txt": "", "a/cache/b/c.txt": "", "cache.txt": "",
        "important.tmp": "", "junk.tmp": "", "local-notes.md": "", "merge.orig": "",
        "README.md": "",
    })  # fmt: skip
    d = daemon_factory("--root", str(root), env={"HOME": str(home)})
    wait_fresh(d)
    considered = {c["path"] for c in d.call("workspace.changes", {"since": 0})["changes"]}
    assert considered == git_kept(root, env)
    assert "src/keep.py" in considered and "src/a.tmp" in considered
    # An edited .gitignore applies at once, negations included.
    (root / "src" / ".gitignore").write_text("!*.tmp\n")
    d.call("workspace.notify_changes", {"paths": ["src/.gitignore"]})
    considered = {c["path"] for c in d.call("workspace.changes", {"since": 0})["changes"]}
    assert considered == git_kept(root, env)
    assert "src/keep.py" not in considered
