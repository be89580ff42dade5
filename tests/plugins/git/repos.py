"""Repositories with known histories for the git plugin's tests, made with the real `git`.

`history(root)` writes: three authors in three time zones, a rename with an edit, a merge of a
side branch, a binary file changed, a commit whose message holds the record mark our log
parser splits on, and a file name with a space and a non-ASCII letter.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ADA = ("Ada Lovelace", "ada@example.com", "2024-01-02T10:00:00+00:00")
LINUS = ("Linus Torvalds", "linus@example.com", "2024-02-03T09:30:00-07:00")
GRACE = ("Grace Hopper", "grace@example.com", "2024-03-04T18:15:00+05:30")
KEN = ("Ken Thompson", "ken@example.com", "2024-04-05T08:00:00+09:00")


def env(who: tuple[str, str, str] = ADA) -> dict[str, str]:
    """git with no user config, as `who` at their time."""
    name, email, when = who
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_AUTHOR_DATE": when,
        "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email, "GIT_COMMITTER_DATE": when,
    }  # fmt: skip


def git(root: Path, *args: str, who: tuple[str, str, str] = ADA) -> str:
    out = subprocess.run(
        ["git", "-C", str(root), *args], env=env(who), check=True, capture_output=True
    )
    return out.stdout.decode()


def commit(root: Path, message: str, who: tuple[str, str, str]) -> str:
    git(root, "add", "-A", who=who)
    git(root, "commit", "-q", "-m", message, who=who)
    return git(root, "rev-parse", "HEAD").strip()


def history(root: Path) -> dict[str, str]:
    """Write the known history at `root`; returns the commit ids by name."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    ids: dict[str, str] = {}
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("".join(f"line {n}\n" for n in range(1, 11)))
    (root / "README.md").write_text("# demo\n")
    (root / "logo.png").write_bytes(b"\x89PNG\x00\x01\x02")
    ids["first"] = commit(root, "Add the app\n\nThe first version.", ADA)
    app = (root / "src" / "app.py").read_text().splitlines(keepends=True)
    app[1], app[2] = "line two, by Linus\n", "line three, by Linus\n"
    (root / "src" / "app.py").write_text("".join(app))
    ids["edit"] = commit(root, "Edit lines 2 and 3", LINUS)
    git(root, "mv", "src/app.py", "src/main.py")
    (root / "src" / "main.py").write_text("".join(app) + "line 11, after the rename\n")
    ids["rename"] = commit(root, "Rename app.py to main.py\x1e (with a record mark)", GRACE)
    git(root, "checkout", "-q", "-b", "side")
    (root / "docs").mkdir()
    (root / "docs" / "guide with space é.md").write_text("guide\n")
    ids["side"] = commit(root, "Add the guide", KEN)
    git(root, "checkout", "-q", "main")
    (root / "README.md").write_text("# demo\n\nMore words.\n")
    ids["readme"] = commit(root, "Expand the README", ADA)
    git(root, "merge", "-q", "--no-ff", "-m", "Merge side", "side", who=KEN)
    ids["merge"] = git(root, "rev-parse", "HEAD").strip()
    (root / "logo.png").write_bytes(b"\x89PNG\x00\x03\x04\x05")
    ids["binary"] = commit(root, "New logo", LINUS)
    return ids
