"""Live workspaces against a real daemon: watcher, change cursor, reconciliation, fan-out."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from wsclient import WsClient

from aegisd.client import RpcCallError
from tests.conftest import DaemonProcess


def wait_fresh(d: DaemonProcess, timeout: float = 20) -> dict[str, Any]:
    """Poll until the workspace is not pending; returns the last workspace.changes answer."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        answer = d.call("workspace.changes", {"since": 0})
        if not answer["pending"] or time.monotonic() > deadline:
            return answer  # type: ignore[no-any-return]
        time.sleep(0.05)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "keep.py").write_text("x = 1\n")
    (root / ".gitignore").write_text("*.log\nsecret/\n")
    return root


@pytest.fixture
def live(daemon_factory: Any, project: Path) -> DaemonProcess:
    d: DaemonProcess = daemon_factory("--root", str(project))
    wait_fresh(d)
    return d


async def test_each_kind_of_change_reaches_cursor_and_subscriber(
    live: DaemonProcess, project: Path
) -> None:
    start = live.call("workspace.changes", {"since": 0})
    async with WsClient(live.socket) as ws:
        await ws.call("events.subscribe", {"topics": ["files.changed"]})
        (project / "new.py").write_text("a = 1\n")
        got = await ws.changes_until(lambda c: "new.py" in c)
        assert got["new.py"] == "created"
        (project / "keep.py").write_text("x = 2\n")
        assert (await ws.changes_until(lambda c: "keep.py" in c))["keep.py"] == "modified"
        tmp = project / ".keep.py.swp-tmp"
        tmp.write_text("x = 3\n")
        os.replace(tmp, project / "keep.py")  # atomic save
        got = await ws.changes_until(lambda c: "keep.py" in c)
        assert got == {"keep.py": "modified"}
        os.rename(project / "new.py", project / "renamed.py")
        got = await ws.changes_until(lambda c: "new.py" in c and "renamed.py" in c)
        assert got == {"new.py": "deleted", "renamed.py": "created"}
        (project / "renamed.py").unlink()
        assert (await ws.changes_until(lambda c: "renamed.py" in c))["renamed.py"] == "deleted"
    answer = live.call("workspace.changes", {"since": start["cursor"]})
    assert answer["fresh_instance"] is False
    # Coalesced: new.py created then renamed away, renamed.py created then deleted → nothing.
    assert {c["path"]: c["kind"] for c in answer["changes"]} == {"keep.py": "modified"}
    assert answer["clock"] > start["clock"]


async def test_excluded_and_gitignored_paths_never_appear(
    live: DaemonProcess, project: Path
) -> None:
    start = live.call("workspace.changes", {"since": 0})["clock"]
    async with WsClient(live.socket) as ws:
        await ws.call("events.subscribe", {"topics": ["files.changed"]})
        (project / "node_modules").mkdir()
        (project / "node_modules" / "lib.js").write_text("x")
        (project / "debug.log").write_text("noise")
        (project / "secret").mkdir()
        (project / "secret" / "key.py").write_text("k = 1")
        (project / "__pycache__").mkdir()
        (project / "__pycache__" / "m.pyc").write_bytes(b"\0")
        (project / "marker.py").write_text("m = 1\n")  # a real change, to know when to stop
        got = await ws.changes_until(lambda c: "marker.py" in c)
    assert set(got) == {"marker.py"}
    changes = live.call("workspace.changes", {"since": start})["changes"]
    assert [c["path"] for c in changes] == ["marker.py"]


async def test_three_subscribers_all_receive_every_event(
    live: DaemonProcess, project: Path
) -> None:
    async with (
        WsClient(live.socket, "a") as a,
        WsClient(live.socket, "b") as b,
        WsClient(live.socket, "c") as c,
    ):
        for client in (a, b, c):
            await client.call("events.subscribe", {"topics": ["files.changed"]})
        for i in range(5):
            (project / f"f{i}.py").write_text(f"v = {i}\n")
            await asyncio.sleep(0.15)
        names = {f"f{i}.py" for i in range(5)}
        for client in (a, b, c):
            got = await client.changes_until(lambda seen: names <= set(seen))
            assert names <= set(got)


async def test_a_subscriber_that_never_reads_does_not_delay_others(
    daemon_factory: Any, project: Path
) -> None:
    import json

    import aiohttp

    d = daemon_factory("--root", str(project), env={"AEGISD_EVENTS__MAX_QUEUE": "2"})
    wait_fresh(d)
    connector = aiohttp.UnixConnector(path=str(d.socket))
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        WsClient(d.socket, "fast") as fast,
    ):
        slow = await session.ws_connect("http://localhost/rpc/ws")
        await slow.send_str(
            json.dumps(
                {
                    "jsonrpc": "2.0",
                    "method": "events.subscribe",
                    "params": {"topics": ["files.changed"]},
                    "id": 1,
                }
            )
        )
        assert json.loads((await slow.receive()).data)["result"]["topics"] == ["files.changed"]
        await fast.call("events.subscribe", {"topics": ["files.changed"]})
        rounds = 8
        for r in range(rounds):
            # Each round is one batch of 1,500 paths: a large notification that fills buffers.
            for i in range(1500):
                (project / f"burst{i:04d}_{'x' * 200}.txt").write_text(f"round = {r}\n")
            marker = f"round{r}.py"
            (project / marker).write_text("m\n")
            got = await fast.changes_until(lambda seen, m=marker: m in seen, timeout=60)
            assert marker in got
        # The slow client now reads: the oldest notifications were dropped for it and one
        # events.overflow notice says from which clock to resync.
        methods = []
        overflow = None
        async with asyncio.timeout(30):
            while overflow is None:
                message = json.loads((await slow.receive()).data)
                methods.append(message["method"])
                if message["method"] == "events.overflow":
                    overflow = message["params"]
        assert overflow["dropped"] >= 1 and overflow["clock"] >= 1
        assert methods.count("events.overflow") == 1
        await slow.close()
    assert d.call("daemon.health")["status"] == "ok"


def test_edits_while_stopped_are_reported_after_restart(daemon_factory: Any, project: Path) -> None:
    d = daemon_factory("--root", str(project))
    before = wait_fresh(d)
    old_cursor, old_clock = before["cursor"], before["clock"]
    assert d.stop() == 0
    (project / "keep.py").write_text("x = 'edited offline'\n")
    (project / "offline.py").write_text("o = 1\n")
    (project / ".gitignore").unlink()
    d2 = daemon_factory("--root", str(project))
    wait_fresh(d2)
    answer = d2.call("workspace.changes", {"since": old_clock})
    assert answer["fresh_instance"] is False  # the clock persisted; reconciliation is one batch
    assert {c["path"]: c["kind"] for c in answer["changes"]} == {
        "keep.py": "modified",
        "offline.py": "created",
        ".gitignore": "deleted",
    }, (answer, before)
    assert answer["clock"] == old_clock + 1
    # A cursor from the previous instance, or a clock before what is retained: resync.
    assert d2.call("workspace.changes", {"since": old_cursor})["fresh_instance"] is True
    assert d2.call("workspace.changes", {"since": old_clock - 1})["fresh_instance"] is True
    # Nothing touched: a second restart reports nothing new.
    assert d2.stop() == 0
    d3 = daemon_factory("--root", str(project))
    final = wait_fresh(d3)
    assert final["clock"] == answer["clock"]


def test_burst_of_2000_files_settles_equal_to_reconciliation(
    daemon_factory: Any, project: Path
) -> None:
    d = daemon_factory("--root", str(project))
    start = wait_fresh(d)["clock"]
    script = (
        "import os, sys\n"
        "root = sys.argv[1]\n"
        "os.makedirs(os.path.join(root, '.git'), exist_ok=True)\n"
        "lock = os.path.join(root, '.git', 'index.lock')\n"
        "open(lock, 'w').close()\n"
        "for i in range(2000):\n"
        "    d = os.path.join(root, 'pkg%d' % (i % 20))\n"
        "    os.makedirs(d, exist_ok=True)\n"
        "    open(os.path.join(d, 'm%d.py' % i), 'w').write('v = %d\\n' % i)\n"
        "os.remove(lock)\n"
    )
    subprocess.run(["python", "-c", script, str(project)], check=True)
    import time

    deadline = time.monotonic() + 60
    while True:
        answer = d.call("workspace.changes", {"since": start})
        if len(answer["changes"]) >= 2000 and not answer["pending"]:
            break
        assert time.monotonic() < deadline, len(answer["changes"])
        time.sleep(0.1)
    assert all(c["kind"] == "created" for c in answer["changes"])
    # While .git/index.lock existed the batch waited: the checkout came as very few batches.
    assert answer["clock"] - start <= 3
    # A restart reconciles against the stored state and finds nothing to report.
    clock = answer["clock"]
    assert d.stop() == 0
    d2 = daemon_factory("--root", str(project))
    assert wait_fresh(d2)["clock"] == clock


def test_notify_changes_is_immediate_and_confined(
    live: DaemonProcess, project: Path, tmp_path: Path
) -> None:
    start = live.call("workspace.changes", {"since": 0})["clock"]
    (project / "agent.py").write_text("written by an agent\n")
    answer = live.call("workspace.notify_changes", {"paths": ["agent.py"]})
    assert answer["accepted"] == 1 and answer["clock"] >= start
    changes = live.call("workspace.changes", {"since": start})["changes"]
    assert {"path": "agent.py", "kind": "created"} in changes
    outside = tmp_path / "outside.py"
    outside.write_text("x")
    (project / "link.py").symlink_to(outside)
    for bad in ["../outside.py", str(outside), "link.py"]:
        with pytest.raises(RpcCallError) as info:
            live.call("workspace.notify_changes", {"paths": ["agent.py", bad]})
        assert info.value.code_name == "INVALID_PATH", bad


async def test_reconciliation_reports_progress(
    daemon_factory: Any, project: Path, tmp_path: Path
) -> None:
    d = daemon_factory("--root", str(project))
    other = tmp_path / "other"
    other.mkdir()
    for i in range(50):
        (other / f"m{i}.py").write_text("x\n")
    async with WsClient(d.socket) as ws:
        await ws.call("events.subscribe", {"topics": ["progress"]})
        opened = await ws.call("workspace.open", {"root": str(other)})
        token = f"reconcile-{opened['workspace']['id']}-"
        mine = []
        while not mine or mine[-1]["done"] != 50:
            note = await ws.next("progress")
            if note["token"].startswith(token):
                mine.append(note)
        assert mine[0]["done"] == 0
        assert mine[-1]["done"] == mine[-1]["total"] == 50
