"""Reference sites as stored (`sitestore`), through a real daemon: two workspaces using the
same names answer each from its own files, and a workspace closed and opened again answers
from its stored rows without parsing anything."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from tests.conftest import REPO, DaemonProcess

FIXTURE = REPO / "tests/fixtures/codemap/navproj"


def _ready(d: DaemonProcess, ws: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status = d.call("index.status", {"workspace": ws})
        if status["ready"] and not status["pending"]:
            return status  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


def _callers(d: DaemonProcess, ws: str) -> set[tuple[str, int]]:
    found = d.call("index.references", {"workspace": ws, "name": "shout", "limit": 1000})
    return {(r["path"], r["line"]) for r in found["references"]}


def test_workspaces_sharing_names_and_one_closed_and_opened_again(
    daemon_factory: Any, tmp_path: Path
) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    shutil.copytree(FIXTURE, one)
    shutil.copytree(FIXTURE, two)
    (two / "extra.py").write_text("from app.core.helpers import shout\n\nshout('two')\n")
    d: DaemonProcess = daemon_factory()
    first = d.call("workspace.open", {"root": str(one)})["workspace"]["id"]
    second = d.call("workspace.open", {"root": str(two)})["workspace"]["id"]
    _ready(d, first)
    _ready(d, second)
    mine = _callers(d, first)
    assert mine and ("extra.py", 3) not in mine
    assert _callers(d, second) == mine | {("extra.py", 1), ("extra.py", 3)}
    d.call("workspace.close", {"workspace": first})
    assert _callers(d, second) == mine | {("extra.py", 1), ("extra.py", 3)}
    again = d.call("workspace.open", {"root": str(one)})["workspace"]["id"]
    assert again == first
    assert _ready(d, again)["parsed"] == 0  # its rows were kept, not parsed again
    assert _callers(d, again) == mine
