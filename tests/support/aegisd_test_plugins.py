"""Plugins used by the end-to-end tests, loaded into real daemons through `plugins.extra`."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from aegisd import hookimpl
from aegisd.rpc.context import RpcContext
from aegisd.rpc.registry import Params, Result, RpcMethod
from aegisd.settings import SettingsSection


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


class FailParams(Params):
    text: str


async def fail(params: FailParams, ctx: RpcContext) -> SleepResult:
    raise ValueError(f"cannot handle {params.text}")


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


class StorePagesParams(Params):
    max_pages: int | None = Field(None, ge=1)


class StorePagesResult(Result):
    page_count: int
    max_page_count: int


def _pages(db: Any, max_pages: int | None) -> StorePagesResult:
    if max_pages is not None:
        db.execute_sql(f"PRAGMA max_page_count = {int(max_pages)}")
    (count,) = db.execute_sql("PRAGMA page_count").fetchone()
    (limit,) = db.execute_sql("PRAGMA max_page_count").fetchone()
    return StorePagesResult(page_count=count, max_page_count=limit)


async def store_pages(params: StorePagesParams, ctx: RpcContext) -> StorePagesResult:
    """The database's size in pages, and its cap: a cap at the current size is a full disk
    (SQLite answers SQLITE_FULL as it would on ENOSPC), without needing root for a tmpfs."""
    return await ctx.daemon.store.run(_pages, ctx.daemon.store.db, params.max_pages)


@hookimpl
def aegisd_rpc_methods() -> list[RpcMethod]:
    """A slow method (for drain tests), one that fails unexpectedly, a cap on the database."""
    return [
        RpcMethod("test.sleep", SleepParams, sleep, summary="Sleep, then answer"),
        RpcMethod("test.explode", Params, explode, summary="Raise an unexpected error"),
        RpcMethod("test.fail", FailParams, fail, summary="Raise an error quoting the params"),
        RpcMethod("test.concurrency", Params, concurrency, summary="Most sleeps seen at once"),
        RpcMethod("test.steps", StepsParams, steps, summary="Report progress step by step"),
        RpcMethod("test.store_pages", StorePagesParams, store_pages, summary="Cap the database"),
    ]


class FreeFormSettings(BaseModel):
    """A section holding any JSON, as a third-party plugin's may."""

    model_config = ConfigDict(extra="forbid")
    data: dict[str, Any] = Field(default_factory=dict)


@hookimpl
def aegisd_settings_sections() -> list[SettingsSection]:
    """The `test` section: free-form data."""
    return [SettingsSection("test", FreeFormSettings)]
