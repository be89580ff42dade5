"""A plugin for the e2e tests (loaded through `plugins.extra`) whose reaction to every batch,
and whose closing and shutdown hooks, wait until `gate.open` is called: a plugin busy with a
first index that takes minutes, and slow to stop. `gate.state` says how many batches it has
been handed and whether it is open."""

from __future__ import annotations

import asyncio
from typing import Any

from aegisd import hookimpl
from aegisd.rpc.context import RpcContext
from aegisd.rpc.registry import Params, Result, RpcMethod

_gate: dict[str, Any] = {"batches": 0}


class GateResult(Result):
    batches: int
    open: bool


def _event() -> asyncio.Event:
    event = _gate.get("open")
    if event is None:
        event = _gate["open"] = asyncio.Event()
    return event  # type: ignore[no-any-return]


async def state(params: Params, ctx: RpcContext) -> GateResult:
    return GateResult(batches=_gate["batches"], open=_event().is_set())


async def open_gate(params: Params, ctx: RpcContext) -> GateResult:
    _event().set()
    return await state(params, ctx)


@hookimpl
def aegisd_rpc_methods() -> list[RpcMethod]:
    """`gate.state` and `gate.open`."""
    return [
        RpcMethod("gate.state", Params, state, summary="Batches handed to the gate"),
        RpcMethod("gate.open", Params, open_gate, summary="Let every batch through"),
    ]


@hookimpl
async def aegisd_files_changed(daemon: Any, workspace: Any, batch: Any) -> None:
    """Count the batch, then wait until the gate is open."""
    _gate["batches"] += 1
    await _event().wait()


@hookimpl
async def aegisd_workspace_closed(daemon: Any, workspace: Any) -> None:
    """Wait until the gate is open (cancelled at the close's limit)."""
    await _event().wait()


@hookimpl
async def aegisd_shutdown(daemon: Any) -> None:
    """Wait until the gate is open (cancelled at the shutdown's limit)."""
    await _event().wait()
