"""`workspace.overlay`: an unsaved buffer laid over a file, for one WebSocket connection only."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest
from wsclient import WsClient

from tests.conftest import TESTS, DaemonProcess

FIXTURE = TESTS / "fixtures" / "lsp" / "project"
BUFFER = "import json\n\n\ndef fresh() -> int:\n    return 1\n"


def codes(report: dict[str, Any]) -> set[str]:
    return {issue["code"] for entry in report["files"] for issue in entry["issues"]}


async def settled(ws: WsClient, root: Path) -> None:
    """Wait until the first lint pass has results for the fixture file."""
    for _ in range(600):
        report = await ws.call("lint.report", {"workspace": str(root), "path": "pkg/app.py"})
        if {"F401", "assignment"} <= codes(report):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the first lint pass never reported")


async def test_overlay_is_the_connections_own_view(daemon_factory: Any, tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    daemon: DaemonProcess = daemon_factory("--root", str(root))
    async with WsClient(daemon.socket, "editor") as editor, WsClient(daemon.socket) as other:
        await settled(editor, root)
        laid = await editor.call("workspace.overlay", {"path": "pkg/app.py", "text": BUFFER})
        assert (laid["path"], laid["overlaid"], laid["overlays"]) == ("pkg/app.py", True, 1)

        outline = await editor.call("index.file", {"path": "pkg/app.py"})
        assert outline["overlay"] is True
        assert [s["name"] for s in outline["outline"]] == ["fresh"]
        report = await editor.call("lint.report", {"path": "pkg/app.py"})
        assert report["overlay"] is True
        assert [(i["code"], i["line"]) for i in report["files"][0]["issues"]] == [("F401", 1)]
        assert report["files"][0]["issues"][0]["message"] == "`json` imported but unused"
        assert set(report["summary"]["by_tool"]) == {"ruff"}
        assert "mypy" in report["message"] and "left out" in report["message"]

        # another connection, and the disk, are untouched
        theirs = await other.call("index.file", {"path": "pkg/app.py"})
        assert [s["name"] for s in theirs["outline"]] == ["add", "Greeter"]
        assert {"F401", "assignment"} <= codes(
            await other.call("lint.report", {"path": "pkg/app.py"})
        )
        assert "def add" in (root / "pkg" / "app.py").read_text()

        dropped = await editor.call("workspace.overlay", {"path": "pkg/app.py"})
        assert (dropped["overlaid"], dropped["overlays"]) == (False, 0)
        again = await editor.call("index.file", {"path": "pkg/app.py"})
        assert again["overlay"] is False
        assert [s["name"] for s in again["outline"]] == ["add", "Greeter"]

        # a buffer of a file not saved yet
        await editor.call("workspace.overlay", {"path": "pkg/new.py", "text": BUFFER})
        fresh = await editor.call("lint.report", {"path": "pkg/new.py"})
        assert codes(fresh) == {"F401"}


async def test_overlays_end_with_their_connection(daemon_factory: Any, tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    daemon: DaemonProcess = daemon_factory("--root", str(root))
    async with WsClient(daemon.socket, "editor") as editor:
        await editor.call("workspace.overlay", {"path": "pkg/app.py", "text": BUFFER})
        assert (await editor.call("index.file", {"path": "pkg/app.py"}))["overlay"] is True
    async with WsClient(daemon.socket, "editor") as editor:
        assert (await editor.call("index.file", {"path": "pkg/app.py"}))["overlay"] is False


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"path": "../outside.py", "text": "x = 1\n"}, "INVALID_PATH"),
        ({"path": ".", "text": "x = 1\n"}, "INVALID_PATH"),
        ({"path": "pkg/app.py", "text": "#" * 5000}, "TOO_LARGE"),
        ({"path": "pkg/app.py", "text": "x = '\ud800'\n"}, "INVALID_PARAMS"),
    ],
)
async def test_bad_overlays(
    daemon_factory: Any, tmp_path: Path, params: dict[str, Any], code: str
) -> None:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    daemon: DaemonProcess = daemon_factory("--root", str(root))
    daemon.call("settings.update", {"settings": {"max_file_bytes": 4096}})
    async with WsClient(daemon.socket, "editor") as editor:
        with pytest.raises(RuntimeError) as refused:
            await editor.call("workspace.overlay", params)
        assert refused.value.args[0]["data"]["code"] == code
        assert (await editor.call("index.file", {"path": "pkg/app.py"}))["overlay"] is False


def test_overlays_need_the_websocket(daemon_factory: Any, tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    daemon: DaemonProcess = daemon_factory("--root", str(root))
    status, body, _ = daemon.post(
        '{"jsonrpc": "2.0", "id": 1, "method": "workspace.overlay",'
        ' "params": {"path": "pkg/app.py", "text": "x = 1\\n"}}'
    )
    assert status == 200 and body["error"]["data"]["code"] == "UNSUPPORTED"
