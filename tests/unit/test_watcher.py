"""Degraded mode: a watcher that cannot watch is reported, and reconciliation takes over."""

from __future__ import annotations

import asyncio
import errno
import json
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from watchfiles import Change

from aegisd import changefeed, filestate, watcher, watching
from aegisd.builtin import workspace_methods
from aegisd.daemon import Daemon
from aegisd.events import Subscriber
from aegisd.filestate import FileStat, FileTable
from aegisd.notify import RESCAN
from aegisd.workspace import Workspace
from tests.conftest import make_config

CORE = (
    "aegisd.builtin.daemon_methods",
    "aegisd.builtin.workspace_methods",
    "aegisd.builtin.event_methods",
)


async def wait_until(predicate: Any, timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


async def test_watcher_failure_degrades_and_reconciles(
    app_daemon: Daemon,
    rpc_client: TestClient[Any, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken_watch(*args: Any, **kwargs: Any) -> AsyncIterator[set[Any]]:
        raise OSError(errno.ENOSPC, "inotify watch limit reached")
        yield set()  # pragma: no cover - makes this an async generator

    root = tmp_path / "proj"
    root.mkdir()
    (root / "a.py").write_text("a = 1\n")
    ws, _ = await app_daemon.workspaces.open(str(root))
    await app_daemon.settings.update(ws.id, {"watcher": {"reconcile_interval_s": 1}})
    await app_daemon.workspaces.close(ws.id)
    monkeypatch.setattr(watching, "watch_changes", broken_watch)
    ws, _ = await app_daemon.workspaces.open(str(root))
    await wait_until(lambda: ws.degraded is not None)
    assert "inotify watch limit" in (ws.degraded or "")
    assert ws.pending is True
    health = await rpc_client.get("/health")
    assert health.status == 503
    body = await health.json()
    assert body["status"] == "degraded" and "degraded" in body["reasons"][0]
    response = await rpc_client.post(
        "/rpc",
        json={"jsonrpc": "2.0", "method": "workspace.changes", "params": {"since": 0}, "id": 1},
    )
    assert (await response.json())["result"]["pending"] is True
    # Changes are still seen, by periodic reconciliation.
    (root / "b.py").write_text("b = 1\n")
    await wait_until(lambda: "b.py" in (ws.changes_since(ws.retained_from) or {}), timeout=15)


async def test_pending_until_plugins_have_processed(app_daemon: Daemon, tmp_path: Path) -> None:
    seen: list[bool] = []
    release = asyncio.Event()

    class SlowPlugin:
        from aegisd import hookimpl

        @hookimpl
        async def aegisd_files_changed(
            self, daemon: Daemon, workspace: Workspace, batch: Any
        ) -> None:
            """Block until the test releases it, recording what pending said meanwhile."""
            seen.append(workspace.pending)
            await release.wait()

    app_daemon.host.pm.register(SlowPlugin(), "slow")
    root = tmp_path / "proj"
    root.mkdir()
    (root / "a.py").write_text("a = 1\n")
    ws, _ = await app_daemon.workspaces.open(str(root))
    await wait_until(lambda: bool(seen))
    assert seen == [True] and ws.pending
    release.set()
    await wait_until(lambda: not ws.pending)
    assert ws.clock == 1


async def test_file_written_before_its_new_directory_is_watched_is_found(
    app_daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """inotify sees a new directory before it watches it: a file written in between raises no
    event. This fake watcher reports only the directory, as inotify would; the second look at
    the new directory must still find the file, and must not schedule a third."""
    events: asyncio.Queue[set[tuple[Any, str]]] = asyncio.Queue()
    settled: list[set[str]] = []

    async def directory_only_watch(*args: Any, **kwargs: Any) -> AsyncIterator[set[Any]]:
        while True:
            yield await events.get()

    def recording_settle(root: Path, rules: Any, table: Any, touched: set[str]) -> Any:
        settled.append(set(touched))
        return real_settle(root, rules, table, touched)

    real_settle = watcher.settle
    monkeypatch.setattr(watcher, "settle", recording_settle)
    monkeypatch.setattr(watcher, "NEW_DIR_RECHECK_S", 0.1)
    monkeypatch.setattr(watching, "watch_changes", directory_only_watch)
    root = tmp_path / "proj"
    root.mkdir()
    ws, _ = await app_daemon.workspaces.open(str(root))
    live = ws.live
    assert live is not None
    await wait_until(lambda: not ws.pending)
    (root / "pkg").mkdir()
    await events.put({(Change.added, str(root / "pkg"))})
    await wait_until(lambda: settled == [{"pkg"}])
    # Written after the directory settled, before inotify would have watched it.
    (root / "pkg" / "late.py").write_text("late = 1\n")
    await wait_until(lambda: "pkg/late.py" in live.known)
    assert ws.changes_since(0) == {"pkg/late.py": "created"}
    assert settled == [{"pkg"}, {"pkg"}]
    await asyncio.sleep(0.3)
    assert settled == [{"pkg"}, {"pkg"}] and live.batches == 1


def test_an_editors_save_is_settled_on_the_loop_anything_larger_in_a_thread(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "b.py").write_text("y = 2\n")
    (tmp_path / "big.bin").write_bytes(b"\0" * (watcher.QUICK_SETTLE_BYTES + 1))
    (tmp_path / "pkg").mkdir()
    known: dict[str, FileStat] = {"gone.py": (1, 1, "h")}
    table = FileTable(known, {}, 1 << 20)
    assert watcher._quick_to_settle(tmp_path, {"a.py", "b.py"}, table)
    assert watcher._quick_to_settle(tmp_path, {"a.py", "gone.py"}, table)  # reads nothing
    assert not watcher._quick_to_settle(tmp_path, {"a.py", "b.py", "c.py"}, table)
    assert not watcher._quick_to_settle(tmp_path, {"big.bin"}, table)
    assert not watcher._quick_to_settle(tmp_path, {"pkg"}, table)  # a directory is walked
    # Gone and never known: a temp file, or a directory whose files are looked for among
    # every known path.
    assert not watcher._quick_to_settle(tmp_path, {"a.py", ".a.py.swp"}, table)


async def test_lost_events_are_found_by_a_rescan(
    app_daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kernel's queue overflowed: no event for a file written meanwhile, only RESCAN."""
    events: asyncio.Queue[set[tuple[Any, str]]] = asyncio.Queue()

    async def overflowing_watch(*args: Any, **kwargs: Any) -> AsyncIterator[set[Any]]:
        yield set()  # armed
        while True:
            yield await events.get()

    monkeypatch.setattr(watching, "watch_changes", overflowing_watch)
    root = tmp_path / "proj"
    root.mkdir()
    ws, _ = await app_daemon.workspaces.open(str(root))
    await wait_until(lambda: not ws.pending)
    (root / "unseen.py").write_text("u = 1\n")
    await events.put({RESCAN})
    await wait_until(lambda: ws.changes_since(0) == {"unseen.py": "created"})


async def test_a_large_batch_is_sorted_encoded_and_listed_off_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first index's batch of 50k paths: sorting it (70 ms) and making its `files.changed`
    message (80 ms) ran on the event loop. Both happen in the thread that settled it now."""
    on_loop = threading.main_thread()
    sorted_in: list[tuple[int, bool]] = []
    encoded_in: list[tuple[str, bool]] = []
    real_sort, real_notification = filestate.Settled.sort, changefeed.notification

    def recording_sort(self: filestate.Settled) -> None:
        sorted_in.append((len(self.changes), threading.current_thread() is on_loop))
        real_sort(self)

    def recording_notification(method: str, params: dict[str, Any]) -> str:
        encoded_in.append((method, threading.current_thread() is on_loop))
        return real_notification(method, params)

    monkeypatch.setattr(filestate.Settled, "sort", recording_sort)
    monkeypatch.setattr(changefeed, "notification", recording_notification)
    monkeypatch.setattr(changefeed, "LARGE_BATCH", 10)
    monkeypatch.setattr(workspace_methods, "INLINE_CHANGES", 10)
    listed_in: list[bool] = []
    real_listing = workspace_methods._file_changes

    def recording_listing(batches: list[dict[str, str]]) -> Any:
        listed_in.append(threading.current_thread() is on_loop)
        return real_listing(batches)

    monkeypatch.setattr(workspace_methods, "_file_changes", recording_listing)
    root = tmp_path / "proj"
    for n in range(30):
        (root / f"pkg{n % 3}").mkdir(parents=True, exist_ok=True)
        (root / f"pkg{n % 3}" / f"m{n:02}.py").write_text(f"v = {n}\n")
    daemon = Daemon(make_config(tmp_path), builtins=CORE)
    await daemon.start()
    sent: list[str] = []

    async def send(message: str) -> None:
        sent.append(message)

    subscriber = Subscriber(send, "test")
    subscriber.subscribe(["files.changed"], None)
    daemon.events.add(subscriber)
    pump = asyncio.create_task(subscriber.pump())
    try:
        ws, _ = await daemon.workspaces.open(str(root))
        await wait_until(lambda: not ws.pending and sent)
        assert (30, False) in sorted_in and (30, True) not in sorted_in
        assert encoded_in == [("files.changed", False)]
        [message] = [json.loads(m) for m in sent]
        paths = [c["path"] for c in message["params"]["changes"]]
        assert len(paths) == 30 and paths == sorted(paths)
        # So is workspace.changes listing them all.
        listed = await daemon.dispatcher.call("workspace.changes", {"since": 0})
        assert [c["path"] for c in listed["changes"]] == paths
        assert listed_in == [False]
        # A small batch (an edit) is made on the loop: a thread hand-over costs more.
        (root / "pkg0" / "m00.py").write_text("v = 100\n")
        assert ws.live is not None
        ws.live.touch(["pkg0/m00.py"])
        await ws.live.flush()
        await wait_until(lambda: len(sent) == 2)
        assert json.loads(sent[1])["params"]["changes"] == [
            {"path": "pkg0/m00.py", "kind": "modified"}
        ]
    finally:
        pump.cancel()
        await daemon.stop()
