"""A session's asciicast v2 recording, parsed here and replayed by asciinema itself."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from wsclient import WsClient

from tests.conftest import DaemonProcess, start_daemon
from tests.e2e.terminal_support import Viewer


@pytest.fixture
def d(daemon_factory: Any, tmp_path: Path) -> DaemonProcess:
    project = tmp_path / "project"
    project.mkdir()
    return daemon_factory("--root", str(project))  # type: ignore[no-any-return]


def parse_cast(text: str) -> tuple[dict[str, Any], list[list[Any]]]:
    header_line, *lines = text.splitlines()
    header = json.loads(header_line)
    events = [json.loads(line) for line in lines]
    for event in events:
        assert isinstance(event, list) and len(event) == 3
        assert isinstance(event[0], float | int) and event[1] in ("o", "i", "r", "m")
        assert isinstance(event[2], str)
    times = [event[0] for event in events]
    assert times == sorted(times)
    return header, events


async def test_a_session_is_recorded_as_asciicast_v2(d: DaemonProcess) -> None:
    async with WsClient(d.socket) as ws:
        viewer = Viewer(ws)
        term = (await ws.call("terminal.open", {"argv": ["cat"], "cols": 90, "rows": 30}))["id"]
        await ws.call("terminal.input", {"id": term, "data": "secret-typed\r"})
        await viewer.until(term, r"^secret-typed$")
        await ws.call("terminal.resize", {"id": term, "cols": 100, "rows": 40})
        await ws.call("terminal.input", {"id": term, "data": "second line\r\x04"})
        assert (await viewer.exit_of(term))["code"] == 0
        answer = await ws.call("terminal.recording", {"id": term})
    header, events = parse_cast(answer["cast"])
    assert header["version"] == 2 and (header["width"], header["height"]) == (90, 30)
    assert header["env"]["TERM"] == "xterm-256color" and isinstance(header["timestamp"], int)
    output = "".join(event[2] for event in events if event[1] == "o")
    assert "secret-typed\r\n" in output and "second line\r\n" in output
    assert ["r", "100x40"] in [event[1:] for event in events]
    assert not [event for event in events if event[1] == "i"]  # input is off by default
    path = Path(answer["path"])
    assert path.is_relative_to(d.data_dir) and path.read_text() == answer["cast"]
    assert os.stat(path).st_mode & 0o777 == 0o600
    if shutil.which("asciinema") is not None:  # the real player reads it
        replay = subprocess.run(["asciinema", "cat", str(path)], capture_output=True,
                                text=True, timeout=60, check=True)  # fmt: skip
        assert "second line" in replay.stdout


async def test_input_is_recorded_when_the_workspace_asks(d: DaemonProcess) -> None:
    d.call("settings.update", {"settings": {"terminal": {"record_input": True}}})
    async with WsClient(d.socket) as ws:
        viewer = Viewer(ws)
        term = (await ws.call("terminal.open", {"argv": ["cat"], "cols": 80, "rows": 24}))["id"]
        await ws.call("terminal.input", {"id": term, "data": "typed\r"})
        await viewer.until(term, r"^typed$")
        cast = (await ws.call("terminal.recording", {"id": term}))["cast"]
        await ws.call("terminal.close", {"id": term})
    _, events = parse_cast(cast)
    assert ["i", "typed\r"] in [event[1:] for event in events]


def test_recordings_follow_the_audit_retention(d: DaemonProcess, tmp_path: Path) -> None:
    term = d.call("terminal.open", {"argv": ["true"], "cols": 80, "rows": 24})["id"]
    deadline = time.monotonic() + 20
    while d.call("terminal.list")["sessions"][0]["running"] and time.monotonic() < deadline:
        time.sleep(0.05)
    path = Path(d.call("terminal.recording", {"id": term})["path"])
    recent = path.with_name("term-recent.cast")
    shutil.copy(path, recent)
    old = time.time() - 3 * 86400
    os.utime(path, (old, old))
    d.call("settings.update", {"settings": {"audit": {"retention_days": 2}}})
    d.stop()  # retention runs at start (then hourly): serve the same state dir again
    assert path.exists()
    restarted = start_daemon(tmp_path, "--root", str(tmp_path / "project"))
    try:
        deadline = time.monotonic() + 20
        while path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not path.exists() and recent.exists()
    finally:
        restarted.stop()
