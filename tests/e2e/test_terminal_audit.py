"""A terminal's commands in the audit trail, from bash's OSC 133 shell integration."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from wsclient import WsClient

from aegisd.client import RpcCallError
from tests.conftest import DaemonProcess
from tests.e2e.terminal_support import Viewer

FAKE_KEY = "ghp_" + "A1b2C3d4E5f6G7h8I9j0" * 2


@pytest.fixture
def d(daemon_factory: Any, tmp_path: Path) -> DaemonProcess:
    project = tmp_path / "project"
    project.mkdir()
    return daemon_factory("--root", str(project))  # type: ignore[no-any-return]


def events_until(d: DaemonProcess, run: int, count: int) -> list[dict[str, Any]]:
    """The run's command and command_result events, once there are `count` of them."""
    deadline = time.monotonic() + 20
    while True:
        events = [
            e
            for e in d.call("audit.list_events", {"run": run})["events"]
            if e["type"] in ("command", "command_result")
        ]
        if len(events) >= count or time.monotonic() > deadline:
            return events
        time.sleep(0.05)


@pytest.mark.parametrize("shell", ["bash", "zsh"])
async def test_false_then_true_become_commands_with_exit_codes(
    d: DaemonProcess, shell: str
) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"no {shell} here (.ci/run installs it)")
    async with WsClient(d.socket) as ws:
        viewer = Viewer(ws)
        opened = await ws.call("terminal.open", {"argv": [shell], "cols": 80, "rows": 24})
        term, run = opened["id"], opened["run"]
        assert run is not None
        for line in ("false", "true", f"echo token={FAKE_KEY}; seq 1 3000"):
            await ws.call("terminal.input", {"id": term, "data": line + "\r"})
        await viewer.until(term, r"^3000$")
        events = events_until(d, run, 6)
        await ws.call("terminal.close", {"id": term})
    started = [e for e in events if e["type"] == "command"]
    ended = [e for e in events if e["type"] == "command_result"]
    assert [e["title"] for e in started][:2] == ["false", "true"]
    assert [e["payload"]["exit_code"] for e in ended] == [1, 0, 0]
    assert [e["status"] for e in ended] == ["error", "ok", "ok"]
    assert all(e["payload"]["duration_ms"] >= 0 and e["ref"] == term for e in ended)
    tail = ended[2]["detail"]
    assert tail is not None, events
    assert tail.rstrip().endswith("2999\n3000") and len(tail) <= 4096  # the capped tail
    assert FAKE_KEY not in str(events) and "token=" in started[2]["title"]  # redacted
    run_info = d.call("audit.get_run", {"run": run})
    assert run_info["name"] == f"terminal: {shell}"
    deadline = time.monotonic() + 20
    while d.call("audit.get_run", {"run": run})["status"] == "open":
        assert time.monotonic() < deadline, "the session's own run was not ended"
        time.sleep(0.05)


async def test_a_session_logs_into_the_run_it_is_given(d: DaemonProcess) -> None:
    run = d.call("audit.start_run", {"name": "agent session"})["id"]
    async with WsClient(d.socket) as ws:
        opened = await ws.call("terminal.open", {"argv": ["bash"], "run": run, "cols": 80,
                                                 "rows": 24})  # fmt: skip
        assert opened["run"] == run
        await ws.call("terminal.input", {"id": opened["id"], "data": "exit 4\r"})
        assert (await Viewer(ws).exit_of(opened["id"]))["code"] == 4
    events = events_until(d, run, 2)
    # The shell ended inside its command: the result is the session's exit.
    assert [(e["type"], e["title"]) for e in events] == [
        ("command", "exit 4"), ("command_result", "exit 4")
    ]  # fmt: skip
    assert events[1]["payload"]["exit_code"] == 4
    assert d.call("audit.get_run", {"run": run})["status"] == "open"  # not ours to end
    d.call("audit.end_run", {"run": run})
    with pytest.raises(RpcCallError) as closed:
        d.call("terminal.open", {"argv": ["bash"], "run": run, "cols": 80, "rows": 24})
    assert closed.value.error["data"]["code"] == "CONFLICT"
    with pytest.raises(RpcCallError) as unknown:
        d.call("terminal.open", {"argv": ["bash"], "run": 999, "cols": 80, "rows": 24})
    assert unknown.value.error["data"]["code"] == "NOT_FOUND"
