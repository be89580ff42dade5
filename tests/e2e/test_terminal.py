"""Terminal sessions over a real daemon's WebSocket: a real shell on a real PTY."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aegisd_terminal.marks import plain_text
from wsclient import WsClient

from aegisd.client import RpcCallError
from tests.conftest import DaemonProcess
from tests.e2e.terminal_support import Viewer


@pytest.fixture
def d(daemon_factory: Any, tmp_path: Path) -> DaemonProcess:
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    return daemon_factory("--root", str(project))  # type: ignore[no-any-return]


async def open_shell(ws: WsClient, **params: Any) -> str:
    answer = await ws.call("terminal.open", {"cols": 80, "rows": 24, **params})
    return str(answer["id"])


def gone(pid: int) -> bool:
    """No such process, or only its zombie (waiting for a parent that is not us to reap it)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rpartition(b")")[2].split()[0] == b"Z"
    except FileNotFoundError:
        return True


async def test_a_shell_runs_a_command_and_prints_its_output(d: DaemonProcess) -> None:
    async with WsClient(d.socket) as ws:
        viewer = Viewer(ws)
        term = await open_shell(ws)
        await ws.call("terminal.input", {"id": term, "data": "echo $((6*7))\r"})
        await viewer.until(term, r"^42$")
        await ws.call("terminal.close", {"id": term})


async def test_the_program_sees_its_size_change(d: DaemonProcess) -> None:
    async with WsClient(d.socket) as ws:
        viewer = Viewer(ws)
        term = await open_shell(ws, cwd="sub")
        await ws.call("terminal.input", {"id": term, "data": "pwd; stty size\r"})
        await viewer.until(term, r"/sub\n24 80$")
        await ws.call("terminal.resize", {"id": term, "cols": 132, "rows": 43})
        await ws.call("terminal.input", {"id": term, "data": "stty size\r"})
        await viewer.until(term, r"^43 132$")
        listed = (await ws.call("terminal.list"))["sessions"]
        assert [(s["id"], s["cols"], s["rows"]) for s in listed] == [(term, 132, 43)]
        await ws.call("terminal.close", {"id": term})


async def test_two_viewers_see_the_same_output(d: DaemonProcess) -> None:
    async with WsClient(d.socket, "one") as ws1, WsClient(d.socket, "two") as ws2:
        first, second = Viewer(ws1), Viewer(ws2)
        term = await open_shell(ws1)
        await ws2.call("terminal.attach", {"id": term})
        await ws2.call("terminal.input", {"id": term, "data": "echo shared-$((20+1))\r"})
        await first.until(term, r"^shared-21$")
        await second.until(term, r"^shared-21$")
        await ws1.call("terminal.input", {"id": term, "data": "echo after-$((1+1))\r"})
        await first.until(term, r"^after-2$")
        await second.until(term, r"^after-2$")
        # The same frames, in the same order: what the second one got is a suffix of the first's.
        assert first.output[term].endswith(second.output[term][-200:])
        await ws1.call("terminal.close", {"id": term})


async def test_a_late_viewer_gets_the_scrollback_then_live_output(d: DaemonProcess) -> None:
    async with WsClient(d.socket, "opener") as ws1:
        opener = Viewer(ws1)
        term = await open_shell(ws1)
        await ws1.call("terminal.input", {"id": term, "data": "echo early-$((3*3))\r"})
        await opener.until(term, r"^early-9$")
        seen = opener.seqs[term][-1]
    # The opener's tab closed; the session goes on without viewers.
    async with WsClient(d.socket, "late") as ws2:
        late = Viewer(ws2)
        attached = await ws2.call("terminal.attach", {"id": term})
        assert attached["lost"] == 0 and attached["running"]
        await late.until(term, r"^early-9$")  # replayed
        await ws2.call("terminal.input", {"id": term, "data": "echo live-$((4*4))\r"})
        await late.until(term, r"^live-16$")
    async with WsClient(d.socket, "resumed") as ws3:
        resumed = Viewer(ws3)
        await ws3.call("terminal.attach", {"id": term, "since_seq": seen})
        await resumed.until(term, r"^live-16$")
        assert not re.search(r"^early-9$", plain_text(resumed.output[term]), re.MULTILINE)
        assert min(resumed.seqs[term]) > seen
        await ws3.call("terminal.close", {"id": term})


async def test_exit_code_and_signal_are_pushed(d: DaemonProcess) -> None:
    async with WsClient(d.socket) as ws:
        viewer = Viewer(ws)
        code = await open_shell(ws, argv=["sh", "-c", "echo bye; exit 3"])
        killed = await open_shell(ws, argv=["sh", "-c", "kill -TERM $$"])
        assert await viewer.exit_of(code) == {"id": code, "code": 3, "signal": None}
        assert await viewer.exit_of(killed) == {"id": killed, "code": None, "signal": "SIGTERM"}
        await viewer.until(code, r"^bye$")  # output before the exit is not lost
        listed = {s["id"]: s for s in (await ws.call("terminal.list"))["sessions"]}
        assert listed[code]["running"] is False and listed[code]["code"] == 3
        assert await ws.call("terminal.close", {"id": code}) == {
            "id": code, "code": 3, "signal": None,
        }  # fmt: skip


async def test_close_hangs_up_every_job_of_the_shell(d: DaemonProcess) -> None:
    async with WsClient(d.socket) as ws:
        viewer = Viewer(ws)
        answer = await ws.call("terminal.open", {"cols": 80, "rows": 24})
        term, shell = answer["id"], answer["pid"]
        # A background job (its own process group under job control) and one that ignores
        # SIGHUP: both must go.
        script = "sleep 1000 & echo bg=$!; (trap '' HUP; exec sleep 1001) & echo nohup=$!\r"
        await ws.call("terminal.input", {"id": term, "data": script})
        background = int((await viewer.until(term, r"^bg=(\d+)$")).group(1))
        stubborn = int((await viewer.until(term, r"^nohup=(\d+)$")).group(1))
        assert not gone(background) and not gone(stubborn)
        closed = await ws.call("terminal.close", {"id": term})
        assert closed["signal"] in ("SIGHUP", "SIGKILL")
        deadline = time.monotonic() + 10
        while not all(map(gone, (shell, background, stubborn))) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert gone(shell) and gone(background) and gone(stubborn)
        assert await ws.call("terminal.list") == {"sessions": []}


async def test_sessions_outlive_viewers_and_end_with_the_daemon(d: DaemonProcess) -> None:
    async with WsClient(d.socket) as ws:
        answer = await ws.call("terminal.open", {"argv": ["sleep", "1000"], "cols": 80, "rows": 24})
    assert [s["running"] for s in d.call("terminal.list")["sessions"]] == [True]
    assert d.stop() == 0
    with contextlib.suppress(ProcessLookupError):
        os.kill(answer["pid"], 0)
        assert gone(answer["pid"])


async def test_a_yes_flood_leaves_the_daemon_answering(d: DaemonProcess) -> None:
    async with WsClient(d.socket, "flooded") as ws:
        viewer = Viewer(ws)
        term = await open_shell(ws, argv=["yes"])
        await viewer.until(term, r"^y$")
        timings: list[float] = []
        for _ in range(200):
            began = time.perf_counter()
            health = await asyncio.to_thread(d.call, "daemon.health")
            timings.append((time.perf_counter() - began) * 1000)
            assert health["status"] in ("ok", "degraded")
            viewer.drain()
        timings.sort()
        print(f"daemon.health during a yes flood: p50 {timings[100]:.2f} ms, "
              f"p99 {timings[197]:.2f} ms, max {timings[-1]:.2f} ms")  # fmt: skip
        listed = (await ws.call("terminal.list"))["sessions"][0]
        assert listed["running"] and listed["bytes"] > 0
        await ws.call("terminal.close", {"id": term})


async def test_a_slow_viewer_is_told_and_catches_up_from_the_ring(d: DaemonProcess) -> None:
    async with WsClient(d.socket, "opener") as ws:
        term = await open_shell(ws, argv=["yes", "flood"])
        async with (
            aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=str(d.socket))) as session,
            session.ws_connect("http://localhost/rpc/ws") as slow,
        ):
            await slow.send_json({"jsonrpc": "2.0", "id": 1, "method": "terminal.attach",
                                  "params": {"id": term}})  # fmt: skip
            await asyncio.sleep(3)  # reads nothing meanwhile: the daemon's queue for it fills
            # Attaching again before reading what waits would pile a replay on top: refused.
            await slow.send_json({"jsonrpc": "2.0", "id": 3, "method": "terminal.attach",
                                  "params": {"id": term}})  # fmt: skip
            overflow = refused = None
            async with asyncio.timeout(30):
                while overflow is None or refused is None:
                    note = json.loads((await slow.receive()).data)
                    if note.get("method") == "terminal.overflow":
                        overflow = note["params"]
                    elif note.get("id") == 3:
                        refused = note["error"]["data"]["code"]
            assert refused == "UNAVAILABLE"
            assert overflow["id"] == term and overflow["seq"] > 0
            await slow.send_json({"jsonrpc": "2.0", "id": 2, "method": "terminal.attach",
                                  "params": {"id": term, "since_seq": overflow["seq"]}})  # fmt: skip
            async with asyncio.timeout(30):
                while True:
                    note = json.loads((await slow.receive()).data)
                    if note.get("id") == 2:
                        assert note["result"]["seq"] > overflow["seq"]
                        break
        await ws.call("terminal.close", {"id": term})


@pytest.mark.parametrize("shell", ["bash", "zsh", "sh"])
async def test_the_session_environment(d: DaemonProcess, shell: str) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"no {shell} here")
    async with WsClient(d.socket) as ws:
        viewer = Viewer(ws)
        term = await open_shell(ws, argv=[shell], env={"GREETING": "hello there"})
        await ws.call(
            "terminal.input", {"id": term, "data": "echo $TERM/$AEGISD_TERMINAL/$GREETING\r"}
        )
        # Not anchored at the line's start: sh prints its prompt, then runs what was typed ahead.
        await viewer.until(term, rf"xterm-256color/{term}/hello there$")
        await ws.call("terminal.close", {"id": term})
    with pytest.raises(RpcCallError) as bad:
        d.call("terminal.open", {"argv": ["true"], "env": {"A=B": "x"}})
    assert bad.value.error["data"]["code"] == "INVALID_PARAMS"
