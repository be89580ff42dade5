"""`events.subscribe` / `events.unsubscribe`: push notifications over the WebSocket."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from aegisd import hookimpl
from aegisd.events import Subscriber
from aegisd.rpc.context import RpcContext
from aegisd.rpc.errors import Unsupported
from aegisd.rpc.registry import Params, Result, RpcMethod

Topic = Literal[
    "files.changed", "index.updated", "lint.updated", "audit.event", "insights.updated", "progress"
]


class SubscribeParams(Params):
    topics: list[Topic] = Field(min_length=1)
    workspace: str | None = Field(None, description="Only this workspace's events (root or id).")


class SubscribeResult(Result):
    topics: list[str] = Field(description="Every topic this connection is now subscribed to.")


def _subscriber(ctx: RpcContext) -> Subscriber:
    if ctx.caller.subscriber is None:
        raise Unsupported("subscriptions need the WebSocket transport (GET /rpc/ws)")
    return ctx.caller.subscriber


async def subscribe(params: SubscribeParams, ctx: RpcContext) -> SubscribeResult:
    subscriber = _subscriber(ctx)
    workspace = None
    if params.workspace is not None:
        workspace = ctx.daemon.workspaces.resolve(params.workspace).id
    subscriber.subscribe(params.topics, workspace)
    return SubscribeResult(topics=sorted(subscriber.topics))


class UnsubscribeParams(Params):
    topics: list[Topic] | None = Field(None, description="Topics to drop; all when omitted.")


async def unsubscribe(params: UnsubscribeParams, ctx: RpcContext) -> SubscribeResult:
    subscriber = _subscriber(ctx)
    subscriber.unsubscribe(params.topics)
    return SubscribeResult(topics=sorted(subscriber.topics))


@hookimpl
def aegisd_rpc_methods() -> list[RpcMethod]:
    """Subscription management for WebSocket clients."""
    return [
        RpcMethod("events.subscribe", SubscribeParams, subscribe,
                  summary="Receive notifications of these topics on this WebSocket",
                  errors=("UNSUPPORTED", "NOT_FOUND"), instant=True),
        RpcMethod("events.unsubscribe", UnsubscribeParams, unsubscribe,
                  summary="Stop receiving some or all topics", errors=("UNSUPPORTED",), instant=True),
    ]  # fmt: skip
