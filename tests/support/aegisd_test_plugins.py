"""Plugins used by the end-to-end tests, loaded into real daemons through `plugins.extra`."""

from __future__ import annotations

import asyncio

from pydantic import Field

from aegisd import hookimpl
from aegisd.rpc.context import RpcContext
from aegisd.rpc.registry import Params, Result, RpcMethod


class SleepParams(Params):
    seconds: float = Field(ge=0, le=30)


class SleepResult(Result):
    slept: float


_running = {"now": 0, "max": 0}


async def sleep(params: SleepParams, ctx: RpcContext) -> SleepResult:
    _running["now"] += 1
    _running["max"] = max(_running["max"], _running["now"])
    try:
        await asyncio.sleep(params.seconds)
    finally:
        _running["now"] -= 1
    return SleepResult(slept=params.seconds)


class ConcurrencyResult(Result):
    max_concurrent_sleeps: int


async def concurrency(params: Params, ctx: RpcContext) -> ConcurrencyResult:
    return ConcurrencyResult(max_concurrent_sleeps=_running["max"])


async def explode(params: Params, ctx: RpcContext) -> SleepResult:
    raise RuntimeError("secret internal detail")


class StepsParams(Params):
    steps: int = Field(ge=1, le=100)


class StepsResult(Result):
    steps: int


async def steps(params: StepsParams, ctx: RpcContext) -> StepsResult:
    progress = ctx.progress("stepping", params.steps)
    for done in range(1, params.steps + 1):
        await asyncio.sleep(0.01)
        progress.report(done)
    return StepsResult(steps=params.steps)


@hookimpl
def aegisd_rpc_methods() -> list[RpcMethod]:
    """A slow method (for drain tests) and one that fails unexpectedly."""
    return [
        RpcMethod("test.sleep", SleepParams, sleep, summary="Sleep, then answer"),
        RpcMethod("test.explode", Params, explode, summary="Raise an unexpected error"),
        RpcMethod("test.concurrency", Params, concurrency, summary="Most sleeps seen at once"),
        RpcMethod("test.steps", StepsParams, steps, summary="Report progress step by step"),
    ]
