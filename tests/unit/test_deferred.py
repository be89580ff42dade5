"""Deferred plugins: `serve` answers from the early ones while the rest load behind them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aegisd_late_fixture as late
import pytest

from aegisd import hookimpl
from aegisd.daemon import Daemon
from aegisd.plugins import PluginHost
from aegisd.rpc.context import Caller
from aegisd.settings import _save_overrides
from tests.conftest import make_config

CORE = (
    "aegisd.builtin.daemon_methods",
    "aegisd.builtin.workspace_methods",
    "aegisd.builtin.event_methods",
)


def _caller() -> Caller:
    return Caller("test", "http", "req-1")


def _request(dispatcher: Any, method: str, params: dict[str, Any] | None = None) -> Any:
    message = {"jsonrpc": "2.0", "method": method, "id": 1, "params": params or {}}
    return asyncio.ensure_future(dispatcher.handle(json.dumps(message), _caller()))


async def _answer(pending: Any) -> dict[str, Any]:
    async with asyncio.timeout(10):
        return json.loads(await pending)  # type: ignore[no-any-return]


@pytest.fixture
async def deferred(tmp_path: Path) -> AsyncIterator[Daemon]:
    """A daemon started as `serve` starts it, with `aegisd_late_fixture` deferred."""
    late.calls.clear()
    daemon = Daemon(make_config(tmp_path), builtins=(*CORE, "aegisd_late_fixture"))
    await daemon.start(defer=True)
    yield daemon
    daemon.dispatcher.plugins_loaded()
    await daemon.stop()


async def test_deferred_plugins_meet_the_open_workspaces_and_waiting_requests(
    deferred: Daemon, tmp_path: Path
) -> None:
    daemon, dispatcher = deferred, deferred.dispatcher
    assert daemon.host.records["aegisd_late_fixture"].status == "loading"
    assert daemon.registry.get("late.opened") is None
    root = tmp_path / "proj"
    root.mkdir()
    (root / "a.py").write_text("a = 1\n")
    ws, _ = await daemon.workspaces.open(root)
    # A setting of the deferred plugin, stored by an earlier run: the early model leaves it be.
    await daemon.store.run(_save_overrides, ws.id, {"late": {"level": 5}})
    daemon.cache.invalidate_workspace(ws.id)
    assert "late" not in (await daemon.settings.get(ws.id)).model_dump()
    assert ws.live is not None
    async with asyncio.timeout(10):
        await ws.live.ready.wait()
    (root / "b.py").write_text("b = 1\n")
    ws.live.touch(["b.py"])  # as workspace.notify_changes does: no waiting for the watcher
    await ws.live.flush()
    assert ws.clock == 2 and late.calls == []

    # Nothing is answered inline on a WebSocket while it might have to wait.
    assert not dispatcher.is_instant({"jsonrpc": "2.0", "method": "workspace.list", "id": 1})
    waiting = _request(dispatcher, "late.opened")
    listing = _request(dispatcher, "plugins.list")
    listed = await _answer(_request(dispatcher, "workspace.list"))  # early: answers now
    assert len(listed["result"]["workspaces"]) == 1
    await asyncio.sleep(0.05)
    assert not waiting.done() and not listing.done()

    await daemon.load_deferred()
    assert (await _answer(waiting))["result"]["opened"] == 1
    plugins = {p["name"]: p for p in (await _answer(listing))["result"]["plugins"]}
    assert plugins["aegisd_late_fixture"]["status"] == "active"
    await _heard(3)  # the catch-up batch comes in line with the others
    # Started, opened with the whole settings, then told what changed since the open, once.
    assert late.calls == [
        ("startup",),
        ("opened", ws.id, 5),
        ("changed", ws.id, {"a.py": "created", "b.py": "created"}),
    ]
    assert ws.settings.model_dump()["late"] == {"level": 5}
    assert dispatcher.is_instant({"jsonrpc": "2.0", "method": "workspace.list", "id": 1})
    # From now on it hears of changes as every plugin does.
    (root / "c.py").write_text("c = 1\n")
    ws.live.touch(["c.py"])
    await ws.live.flush()
    assert late.calls[-1] == ("changed", ws.id, {"c.py": "created"})
    heard = list(late.calls)
    await daemon.load_deferred()  # once is all: nothing loads, starts or opens twice
    assert late.calls == heard


async def _heard(count: int) -> None:
    async with asyncio.timeout(10):
        while len(late.calls) < count:
            await asyncio.sleep(0.01)


class Gate:
    """An early plugin whose reaction to a batch waits until it is let through: a first
    index that takes minutes, as the code map's did on 56k files."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.open = asyncio.Event()
        self.batches: list[dict[str, str]] = []

    @hookimpl
    async def aegisd_files_changed(self, daemon: Any, workspace: Any, batch: Any) -> None:
        """Record the batch, then wait for the gate."""
        self.batches.append(dict(batch.changes))
        self.entered.set()
        await self.open.wait()


async def test_deferred_plugins_load_while_a_first_index_runs(tmp_path: Path) -> None:
    late.calls.clear()
    gate = Gate()
    host = PluginHost()
    host.register(gate, "gate")
    daemon = Daemon(make_config(tmp_path), builtins=(*CORE, "aegisd_late_fixture"), host=host)
    await daemon.start(defer=True)
    try:
        root = tmp_path / "proj"
        root.mkdir()
        (root / "a.py").write_text("a = 1\n")
        ws, _ = await daemon.workspaces.open(root)
        async with asyncio.timeout(10):
            await gate.entered.wait()  # the first reconciliation's batch is being indexed
        assert ws.pending
        waiting = _request(daemon.dispatcher, "late.opened")
        async with asyncio.timeout(10):
            await daemon.load_deferred()  # does not wait for the index in progress
        assert (await _answer(waiting))["result"]["opened"] == 1
        assert late.calls == [("startup",), ("opened", ws.id, 1)]
        assert ws.pending  # the late plugin's catch-up is still to come
        gate.open.set()
        await _heard(3)
        assert late.calls[2] == ("changed", ws.id, {"a.py": "created"})
        (root / "b.py").write_text("b = 1\n")
        assert ws.live is not None
        ws.live.touch(["b.py"])
        await ws.live.flush()
        assert late.calls[3:] == [("changed", ws.id, {"b.py": "created"})]
        assert gate.batches == [{"a.py": "created"}, {"b.py": "created"}]
    finally:
        gate.open.set()
        await daemon.stop()


async def test_a_deferred_plugin_taking_a_known_method_name_is_blocked_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aegisd.rpc.registry import Params, RpcMethod

    def taken() -> list[RpcMethod]:
        return [RpcMethod("workspace.list", Params, late.opened)]

    monkeypatch.setattr(late, "aegisd_rpc_methods", late.hookimpl(taken))
    daemon = Daemon(make_config(tmp_path), builtins=(*CORE, "aegisd_late_fixture"))
    await daemon.start(defer=True)
    try:
        await daemon.load_deferred()
        record = daemon.host.records["aegisd_late_fixture"]
        assert record.status == "blocked" and "workspace.list" in (record.error or "")
        assert daemon.registry.get("workspace.list").plugin == "aegisd.builtin.workspace_methods"  # type: ignore[union-attr]
        assert daemon.dispatcher.loading is None
    finally:
        await daemon.stop()


async def test_a_deferred_plugin_that_cannot_import_is_blocked_and_waiters_are_answered(
    tmp_path: Path,
) -> None:
    config = make_config(tmp_path, plugins={"extra": ["aegisd_no_such_module"]})
    daemon = Daemon(config, builtins=CORE)
    await daemon.start(defer=True)
    try:
        assert daemon.host.records["aegisd_no_such_module"].status == "loading"
        waiting = _request(daemon.dispatcher, "nothing.here")
        await daemon.load_deferred()
        assert (await _answer(waiting))["error"]["data"]["code"] == "METHOD_NOT_FOUND"
        record = daemon.host.records["aegisd_no_such_module"]
        assert record.status == "blocked" and "ModuleNotFoundError" in (record.error or "")
    finally:
        await daemon.stop()


async def test_status_shows_deferred_plugins_as_loading(
    deferred: Daemon, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from aegisd import cli

    status = await deferred.dispatcher.call("daemon.status")  # answered now: it waits for none

    class Answering:
        def call(self, method: str) -> dict[str, Any]:
            assert method == "daemon.status"
            return status

    monkeypatch.setattr(cli, "_client", lambda args: Answering())
    assert cli.main(["status"]) == 0
    printed = capsys.readouterr().out
    assert "  loading: aegisd_late_fixture" in printed
    assert "aegisd_late_fixture" not in printed.split("plugins:")[1].split("\n")[0]
