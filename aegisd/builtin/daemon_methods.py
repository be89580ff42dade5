"""`daemon.*`, `rpc.discover` and `plugins.list`."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from pydantic import ConfigDict, Field

from aegisd import hookimpl
from aegisd.builtin.examples import EXAMPLES
from aegisd.builtin.workspace_methods import WorkspaceInfo
from aegisd.rpc.context import RpcContext
from aegisd.rpc.openrpc import build_openrpc
from aegisd.rpc.openrpc_shape import document_schema
from aegisd.rpc.registry import Params, Result, RpcMethod, with_examples


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


class HealthReport(Result):
    """`Daemon.health()`: whatever else it reports (per-part details) is passed on as is."""

    model_config = ConfigDict(defer_build=True, extra="allow")

    status: str = Field(description='"ok" or "degraded"')
    reasons: list[str] = Field(description="Why it is degraded (blocked plugins, ...)")


class PluginInfo(Result):
    name: str
    builtin: bool
    status: str = Field(description='"active", "blocked", "disabled" or "loading"')
    version: str | None
    hooks: list[str]
    error: str | None = Field(description="Why it is blocked")


class CacheNamespace(Result):
    hits: int
    misses: int
    evictions: int
    invalidations: int
    entries: int
    bytes: int


class CacheStats(Result):
    entries: int
    bytes: int
    namespaces: dict[str, CacheNamespace]


class OwnerShare(Result):
    caches: int = Field(description="Bytes its caches and bounded structures hold")
    workers: int = Field(description="Bytes (PSS) of its worker processes")


class BudgetedCacheStats(Result):
    owner: str
    entries: int
    bytes: int
    hits: int
    misses: int
    evictions: int


class MemoryReport(Result):
    budget_bytes: int = Field(description="`[memory] budget_mib`: the process tree's target")
    used_bytes: int | None = Field(
        description="The process tree's PSS when last measured (None: not yet)"
    )
    daemon_bytes: int | None = Field(description="The daemon process's own share of it")
    over_budget: bool = Field(description="Over budget with the caches shrunk (degraded)")
    cache_allowance_bytes: int = Field(description="What the caches may hold now")
    cached_bytes: int
    by_owner: dict[str, OwnerShare] = Field(description="Each plugin's share (core, other)")
    caches: dict[str, BudgetedCacheStats]


class RequestSummary(Result):
    total: int
    by_outcome: dict[str, int] = Field(description='Requests per outcome ("ok" or an error code)')
    by_method: dict[str, int] = Field(description="Requests per method, the 20 most called")
    mean_ms: float


class StatusResult(Result):
    version: str
    pid: int
    instance: str
    uptime_s: float
    socket: str
    data_dir: str
    health: HealthReport
    workspaces: list[WorkspaceInfo]
    plugins: list[PluginInfo]
    cache: CacheStats
    memory: MemoryReport
    requests: RequestSummary
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
        health=HealthReport(**d.health()),
        workspaces=[WorkspaceInfo(**ws.info()) for ws in d.workspaces],
        plugins=[PluginInfo(**_plugin_info(r)) for r in d.host.records.values()],
        cache=CacheStats(
            entries=len(d.cache), bytes=d.cache.total_bytes, namespaces=d.cache.stats()
        ),
        memory=MemoryReport(**d.memory.report()),
        requests=RequestSummary(**d.metrics.request_summary()),
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
    """The OpenRPC document (its `x-` extensions kept as extra keys); its shape is spelled out
    in `aegisd.rpc.openrpc_shape`."""

    model_config = ConfigDict(defer_build=True, extra="allow", json_schema_extra=document_schema)

    openrpc: str
    info: dict[str, Any]
    methods: list[dict[str, Any]]
    components: dict[str, Any]


async def discover(params: EmptyParams, ctx: RpcContext) -> DiscoverResult:
    daemon = ctx.daemon
    doc = build_openrpc(
        daemon.registry,
        "aegisd",
        daemon.version,
        limits=daemon.config.rate_limits,
        late={"WorkspaceSettings": daemon.settings.model},
    )
    return DiscoverResult.model_validate(doc)


class PluginsListItem(PluginInfo):
    methods: list[str] = Field(description="The methods it contributes")


class PluginsListResult(Result):
    plugins: list[PluginsListItem]


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
        plugins.append(PluginsListItem(**info))
    return PluginsListResult(plugins=plugins)


@hookimpl
def aegisd_rpc_methods() -> list[RpcMethod]:
    """The daemon's own methods."""
    return with_examples([
        RpcMethod("daemon.health", EmptyParams, health, summary="Liveness and degraded reasons", instant=True, probe=True, while_opening=True),
        RpcMethod("daemon.status", EmptyParams, status, summary="Version, uptime, workspaces, plugins, caches", instant=True, probe=True),
        RpcMethod("daemon.shutdown", EmptyParams, shutdown, summary="Drain in-flight requests and exit", cost="write"),
        RpcMethod("rpc.discover", EmptyParams, discover, summary="OpenRPC document of every method", after_plugins=True),
        RpcMethod("plugins.list", EmptyParams, plugins_list, summary="Plugins with status, hooks, methods and errors", instant=True, after_plugins=True),
    ], EXAMPLES)  # fmt: skip
