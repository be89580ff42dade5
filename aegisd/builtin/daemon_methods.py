"""`daemon.*`, `rpc.discover` and `plugins.list`."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from pydantic import Field

from aegisd import hookimpl
from aegisd.rpc.context import RpcContext
from aegisd.rpc.openrpc import build_openrpc
from aegisd.rpc.registry import Params, Result, RpcMethod


class EmptyParams(Params):
    pass


class HealthResult(Result):
    status: str = Field(description='"ok" or "degraded"')
    reasons: list[str] = Field(default_factory=list)
    version: str
    pid: int


async def health(params: EmptyParams, ctx: RpcContext) -> HealthResult:
    daemon = ctx.daemon
    report = daemon.health()
    return _health_result(report["status"], tuple(report["reasons"]), daemon.version, daemon.pid)


@functools.lru_cache(maxsize=64)
def _health_result(status: str, reasons: tuple[str, ...], version: str, pid: int) -> HealthResult:
    """One result per distinct answer, shared: the answer rarely changes, and building the
    model is about half the cost of the method."""
    return HealthResult(status=status, reasons=list(reasons), version=version, pid=pid)


class StatusResult(Result):
    version: str
    pid: int
    instance: str
    uptime_s: float
    socket: str
    data_dir: str
    health: dict[str, Any]
    workspaces: list[dict[str, Any]]
    plugins: list[dict[str, Any]]
    cache: dict[str, Any]
    requests: dict[str, Any]
    in_flight: int
    subscribers: int


async def status(params: EmptyParams, ctx: RpcContext) -> StatusResult:
    d = ctx.daemon
    return StatusResult(
        version=d.version,
        pid=d.pid,
        instance=d.instance_id,
        uptime_s=round(d.uptime_s, 3),
        socket=str(d.config.socket_path),
        data_dir=str(d.config.data_path),
        health=d.health(),
        workspaces=[ws.info() for ws in d.workspaces],
        plugins=[_plugin_info(r) for r in d.host.records.values()],
        cache={
            "entries": len(d.cache),
            "bytes": d.cache.total_bytes,
            "namespaces": d.cache.stats(),
        },
        requests=d.metrics.request_summary(),
        in_flight=d.dispatcher.in_flight,
        subscribers=len(d.events.subscribers),
    )


class ShutdownResult(Result):
    stopping: bool


async def shutdown(params: EmptyParams, ctx: RpcContext) -> ShutdownResult:
    event = ctx.daemon.shutdown_requested
    if event is not None:
        # Let this answer go out before the server starts draining.
        asyncio.get_running_loop().call_later(0.05, event.set)
    return ShutdownResult(stopping=event is not None)


class DiscoverResult(Result):
    openrpc: str
    info: dict[str, Any]
    methods: list[dict[str, Any]]
    components: dict[str, Any]


async def discover(params: EmptyParams, ctx: RpcContext) -> DiscoverResult:
    doc = build_openrpc(ctx.daemon.registry, "aegisd", ctx.daemon.version)
    return DiscoverResult(**doc)


class PluginsListResult(Result):
    plugins: list[dict[str, Any]]


def _plugin_info(record: Any) -> dict[str, Any]:
    return {
        "name": record.name,
        "builtin": record.builtin,
        "status": record.status,
        "version": record.version,
        "hooks": record.hooks,
        "error": record.error,
    }


async def plugins_list(params: EmptyParams, ctx: RpcContext) -> PluginsListResult:
    records = ctx.daemon.host.records.values()
    plugins = []
    for record in records:
        info = _plugin_info(record)
        info["methods"] = sorted(m.name for m in ctx.daemon.registry if m.plugin == record.name)
        plugins.append(info)
    return PluginsListResult(plugins=plugins)


@hookimpl
def aegisd_rpc_methods() -> list[RpcMethod]:
    """The daemon's own methods."""
    return [
        RpcMethod("daemon.health", EmptyParams, health, summary="Liveness and degraded reasons", instant=True, probe=True, while_opening=True),
        RpcMethod("daemon.status", EmptyParams, status, summary="Version, uptime, workspaces, plugins, caches", instant=True, probe=True),
        RpcMethod("daemon.shutdown", EmptyParams, shutdown, summary="Drain in-flight requests and exit", cost="write"),
        RpcMethod("rpc.discover", EmptyParams, discover, summary="OpenRPC document of every method", after_plugins=True),
        RpcMethod("plugins.list", EmptyParams, plugins_list, summary="Plugins with status, hooks, methods and errors", instant=True, after_plugins=True),
    ]  # fmt: skip
