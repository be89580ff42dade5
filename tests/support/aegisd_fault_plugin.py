"""Fault injection for the e2e tests (loaded through `plugins.extra`): `test.break_watcher`
makes the change processor's task die each time it wakes and every reconciliation fail,
inside the real daemon, until called again with `fail: false`; `test.slow_hashing` makes
settling take `delay_s` per file it hashes (a huge tree's first reconciliation) and says how
many it has started."""

from __future__ import annotations

import time
from typing import Any

from aegisd import filestate, hookimpl, watcher
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


class SlowParams(Params):
    delay_s: float | None = None  # None: only say how many hashes started


class SlowResult(Result):
    hashing: int


_SLOW: dict[str, Any] = {"delay_s": 0.0, "started": 0}


def _slow_hash(*args: Any, **kwargs: Any) -> Any:
    _SLOW["started"] += 1
    time.sleep(_SLOW["delay_s"])
    return _SLOW["original"](*args, **kwargs)


async def slow_hashing(params: SlowParams, ctx: RpcContext) -> SlowResult:
    if params.delay_s is not None:
        _SLOW.setdefault("original", filestate.hash_text_file)
        _SLOW["delay_s"] = params.delay_s
        filestate.hash_text_file = _slow_hash  # type: ignore[assignment]
    return SlowResult(hashing=_SLOW["started"])


@hookimpl
def aegisd_rpc_methods() -> list[RpcMethod]:
    """Switches that break the change processor and reconciliation, or slow settling down."""
    return [
        RpcMethod("test.break_watcher", BreakParams, break_watcher, summary="Inject faults"),
        RpcMethod("test.slow_hashing", SlowParams, slow_hashing, summary="Slow settling down"),
    ]
