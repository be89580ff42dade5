"""Plugin host: isolation of failing plugins, misspelled hooks, duplicate methods."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path
from typing import Any

import pytest

from aegisd import hookimpl
from aegisd.daemon import Daemon, StartupError
from aegisd.plugins import PluginHost
from aegisd.rpc.registry import Params, Result, RpcMethod
from tests.conftest import make_config


class PingResult(Result):
    pong: bool


async def ping(params: Params, ctx: Any) -> PingResult:
    return PingResult(pong=True)


class Misspelled:
    @hookimpl
    def aegisd_rpc_method(self) -> list[RpcMethod]:
        """Misspelled on purpose (missing the final s)."""
        return []


class Duplicate:
    @hookimpl
    def aegisd_rpc_methods(self) -> list[RpcMethod]:
        """Contributes a name a built-in already has."""
        return [RpcMethod("daemon.health", Params, ping)]


class RaisesInMethods:
    @hookimpl
    def aegisd_rpc_methods(self) -> list[RpcMethod]:
        """Fails while contributing."""
        raise ValueError("boom")


def test_misspelled_hook_blocks_the_plugin_with_a_hint() -> None:
    host = PluginHost()
    host.register(Misspelled(), "misspelled")
    record = host.records["misspelled"]
    assert record.status == "blocked"
    assert "aegisd_rpc_method" in (record.error or "")
    assert "did you mean aegisd_rpc_methods" in (record.error or "")
    assert host.pm.get_plugin("misspelled") is None


async def test_duplicate_method_stops_startup_naming_both(tmp_path: Path) -> None:
    daemon = Daemon(make_config(tmp_path))
    daemon.host.register(Duplicate(), "dup-plugin")
    with pytest.raises(StartupError) as info:
        await daemon.start()
    message = str(info.value)
    assert "daemon.health" in message
    assert "dup-plugin" in message and "aegisd.builtin.daemon_methods" in message
    await daemon.stop()


async def test_plugin_raising_in_a_contribution_is_blocked(tmp_path: Path) -> None:
    daemon = Daemon(make_config(tmp_path))
    daemon.host.register(RaisesInMethods(), "raiser")
    await daemon.start()
    try:
        assert daemon.host.records["raiser"].status == "blocked"
        assert "ValueError: boom" in (daemon.host.records["raiser"].error or "")
        assert daemon.registry.get("daemon.health") is not None
    finally:
        await daemon.stop()


async def test_disabled_plugin_is_not_loaded(tmp_path: Path) -> None:
    config = make_config(tmp_path, plugins={"disabled": ["aegisd.builtin.event_methods"]})
    daemon = Daemon(config)
    await daemon.start()
    try:
        assert daemon.host.records["aegisd.builtin.event_methods"].status == "disabled"
        assert daemon.registry.get("events.subscribe") is None
    finally:
        await daemon.stop()


async def test_runtime_hook_errors_are_logged_not_blocking(tmp_path: Path) -> None:
    class Flaky:
        calls = 0

        @hookimpl
        def aegisd_workspace_opened(self, daemon: Any, workspace: Any) -> None:
            """Raises at run time."""
            Flaky.calls += 1
            raise RuntimeError("flaky")

    daemon = Daemon(make_config(tmp_path))
    daemon.host.register(Flaky(), "flaky")
    await daemon.start()
    try:
        _, opened = await daemon.workspaces.open(str(tmp_path))
        assert opened and Flaky.calls == 1
        assert daemon.host.records["flaky"].status == "active"
    finally:
        await daemon.stop()


def test_a_plugin_can_bring_its_own_hook_specs() -> None:
    import types

    from aegisd import hookspec

    specs = types.ModuleType("specs")

    @hookspec
    def aegisd_widgets() -> list[str]:
        """A hook defined by a plugin."""
        return []

    specs.aegisd_widgets = aegisd_widgets  # type: ignore[attr-defined]

    class Owner:
        AEGISD_HOOKSPECS = specs

    class Contributor:
        @hookimpl
        def aegisd_widgets(self) -> list[str]:
            """Implements the plugin-defined hook."""
            return ["w"]

    host = PluginHost()
    host.register(Contributor(), "early")  # before the owner: its hook is unknown yet
    host.register(Owner(), "owner")
    host.register(Contributor(), "late")
    assert host.records["early"].status == "blocked"
    assert host.records["late"].status == "active"
    assert host.call_each("aegisd_widgets", block_on_error=False) == [("late", ["w"])]


async def test_internal_calls_reach_other_plugins_methods(
    app_daemon: Daemon, tmp_path: Path
) -> None:
    from aegisd.rpc.errors import MethodNotFound, NotFound

    health = await app_daemon.dispatcher.call("daemon.health")
    assert health["status"] == "ok"
    with pytest.raises(NotFound):
        await app_daemon.dispatcher.call("settings.get")  # no workspace open
    await app_daemon.workspaces.open(str(tmp_path))
    assert (await app_daemon.dispatcher.call("settings.get"))["clock"] >= 0
    with pytest.raises(MethodNotFound):
        await app_daemon.dispatcher.call("lint.nothing")


async def test_a_cancelled_hook_call_closes_the_later_plugins_coroutines() -> None:
    started = asyncio.Event()
    later: list[Any] = []

    async def never_done() -> None:
        started.set()
        await asyncio.Event().wait()

    ran: list[str] = []

    async def after() -> None:  # pragma: no cover - closed, never run
        ran.append("after")

    class First:
        @hookimpl(tryfirst=True)
        def aegisd_shutdown(self, daemon: Any) -> Any:
            """Waits until cancelled."""
            return never_done()

    class Second:
        @hookimpl
        def aegisd_shutdown(self, daemon: Any) -> Any:
            """Would run after the first."""
            later.append(after())
            return later[-1]

    host = PluginHost()
    host.register(First(), "first")
    host.register(Second(), "second")
    call = asyncio.ensure_future(
        host.call_each_async("aegisd_shutdown", block_on_error=False, daemon=None)
    )
    await started.wait()
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert inspect.getcoroutinestate(later[0]) == inspect.CORO_CLOSED and ran == []
