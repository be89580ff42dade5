"""A plugin for the e2e tests (loaded through `plugins.extra`) whose files-changed hook raises
while its workspace holds `fail.trigger`, and otherwise records each path it takes in:
`flaky.seen` lists them with the kind it was last handed."""

from __future__ import annotations

import os
from typing import Any

from aegisd import hookimpl
from aegisd.rpc.context import RpcContext
from aegisd.rpc.registry import Params, Result, RpcMethod

_seen: dict[str, str] = {}


class SeenResult(Result):
    seen: dict[str, str]


async def seen(params: Params, ctx: RpcContext) -> SeenResult:
    return SeenResult(seen=dict(_seen))


@hookimpl
def aegisd_rpc_methods() -> list[RpcMethod]:
    """`flaky.seen`: what the plugin has taken in."""
    return [RpcMethod("flaky.seen", Params, seen, summary="Paths the flaky plugin took in")]


@hookimpl
def aegisd_files_changed(daemon: Any, workspace: Any, batch: Any) -> None:
    """Fail the batch while the trigger file exists; else note its paths."""
    if os.path.exists(workspace.root / "fail.trigger"):
        raise RuntimeError("flaky: the trigger is there")
    _seen.update(batch.changes)
