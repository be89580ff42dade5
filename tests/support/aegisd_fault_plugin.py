"""Fault injection for the e2e tests (loaded through `plugins.extra`): `test.break_watcher`
makes the change processor's task die each time it wakes and every reconciliation fail,
inside the real daemon, until called again with `fail: false`."""

from __future__ import annotations

from typing import Any

from aegisd import hookimpl, watcher
from aegisd.rpc.context import RpcContext
from aegisd.rpc.registry import Params, Result, RpcMethod

_ORIGINALS: dict[str, Any] = {}


class BreakParams(Params):
    fail: bool


class BreakResult(Result):
    failing: bool


def _injected(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected fault")


async def _dying_wait(self: Any) -> None:
    raise RuntimeError("injected fault: the processor task dies")


async def break_watcher(params: BreakParams, ctx: RpcContext) -> BreakResult:
    if params.fail and not _ORIGINALS:
        _ORIGINALS["reconcile"] = watcher.reconcile
        _ORIGINALS["wait"] = watcher.LiveWorkspace._wait_for_git
        watcher.reconcile = _injected  # type: ignore[assignment]
        watcher.LiveWorkspace._wait_for_git = _dying_wait  # type: ignore[method-assign]
    elif not params.fail and _ORIGINALS:
        watcher.reconcile = _ORIGINALS.pop("reconcile")
        watcher.LiveWorkspace._wait_for_git = _ORIGINALS.pop("wait")  # type: ignore[method-assign]
    return BreakResult(failing=bool(_ORIGINALS))


@hookimpl
def aegisd_rpc_methods() -> list[RpcMethod]:
    """A switch that breaks the change processor and reconciliation."""
    return [RpcMethod("test.break_watcher", BreakParams, break_watcher, summary="Inject faults")]
