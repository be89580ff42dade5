"""The source snippets a prompt may carry are read like every workspace file."""

from __future__ import annotations

import os
from pathlib import Path

from aegisd_insights.generate import _read_snippets

from tests.fifoguard import released_if_blocked


def test_snippets_are_read_safely_and_only_inside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "a.py").write_text("def f():\n    return 1\n\n\ndef g():\n    pass\n")
    (tmp_path / "secret.py").write_text("def s():\n    return 'secret'\n")
    (root / "out.py").symlink_to(tmp_path / "secret.py")
    os.mkfifo(root / "pipe.py")
    wanted = [("a.py", "f", 1, 2), ("out.py", "s", 1, 2), ("pipe.py", "p", 1, 2)]
    with released_if_blocked(root / "pipe.py") as blocked:
        found = _read_snippets(root, wanted, 1 << 20)
    assert not blocked()
    assert found == {"a.py::f": "def f():\n    return 1"}
