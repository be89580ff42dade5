"""lint.report read page by page through the socket: the store answers each page, so a
client (insights, an editor) never needs the whole workspace's issues at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import DaemonProcess
from tests.e2e.test_lint import replace, settled, wait_for

QUICK = {name: {"enabled": False} for name in ("mypy", "bandit", "pytest")}


def test_a_report_read_page_by_page_is_the_whole_report(
    daemon_factory: Any, tmp_path: Path
) -> None:
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    for n in range(23):
        (root / "pkg" / f"m{n:02}.py").write_text("import os\n")
    (root / "clean.py").write_text("x = 1\n")
    d: DaemonProcess = daemon_factory("--root", str(root))
    d.call("settings.update", {"settings": {"lint": {"tools": QUICK}}})
    whole = settled(d)
    assert len(whole["files"]) == 23 and whole["next_cursor"] is None

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        page = d.call("lint.report", params)
        assert page["summary"] == whole["summary"]  # the counts are the workspace's
        seen += [f["path"] for f in page["files"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f["path"] for f in whole["files"]]
    head = d.call("lint.report", {"limit": 0})
    assert head["files"] == [] and head["summary"]["issues"] == whole["summary"]["issues"]
    in_pkg = d.call("lint.report", {"path": "pkg", "limit": 10, "cursor": "pkg/m19.py"})
    assert [f["path"] for f in in_pkg["files"]] == ["pkg/m20.py", "pkg/m21.py", "pkg/m22.py"]
    assert in_pkg["files"][0]["total_issues"] == 1

    # a page read after an edit has it (a cached page is never served stale)
    before = d.call("lint.report", {"limit": 5})
    replace(root / "pkg" / "m00.py", "x = 0\n", tmp_path)
    wait_for(lambda: d.call("lint.report", {"limit": 5})["files"][0]["path"] == "pkg/m01.py")
    assert before["files"][0]["path"] == "pkg/m00.py"
