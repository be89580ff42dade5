"""`events.subscribe` / `events.unsubscribe`: push notifications over the WebSocket."""

from __future__ import annotations

from pydantic import Field

from aegisd import hookimpl
from aegisd.builtin.examples import EXAMPLES
from aegisd.builtin.workspace_methods import FileChange
from aegisd.events import OVERFLOW, Subscriber, Topic
from aegisd.rpc.context import RpcContext
from aegisd.rpc.errors import Unsupported
from aegisd.rpc.registry import (
    Example,
    Notification,
    NotificationParams,
    Params,
    Result,
    RpcMethod,
    with_examples,
)


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
    return with_examples([
        RpcMethod("events.subscribe", SubscribeParams, subscribe,
                  summary="Receive notifications of these topics on this WebSocket",
                  errors=("UNSUPPORTED", "NOT_FOUND"), instant=True),
        RpcMethod("events.unsubscribe", UnsubscribeParams, unsubscribe,
                  summary="Stop receiving some or all topics", errors=("UNSUPPORTED",), instant=True),
    ], EXAMPLES)  # fmt: skip


class FilesChangedParams(NotificationParams):
    workspace: str = Field(description="Workspace id")
    clock: int = Field(description="The clock this batch advanced the workspace to")
    source: str = Field(
        description='"watcher" (file events, `workspace.notify_changes`) or '
        '"reconcile" (a comparison of the whole tree with the stored state)'
    )
    changes: list[FileChange]


class ProgressParams(NotificationParams):
    token: str = Field(description="Identifies one piece of work; its notifications share it")
    title: str
    done: int
    total: int | None = Field(description="None when the amount of work is not known")


class OverflowParams(NotificationParams):
    clock: int = Field(description="Resync from this clock (`workspace.changes {since}`)")
    dropped: int = Field(description="How many notifications were dropped")


@hookimpl
def aegisd_notifications() -> list[Notification]:
    """What the core pushes: file changes, progress, and the overflow notice."""
    return [
        Notification("files.changed", FilesChangedParams,
                     "A settled batch of file changes in a workspace",
                     examples=(Example({"workspace": "3f2a9c1e0b7d", "clock": 42, "source": "watcher",
                                        "changes": [{"path": "shop/cart.py", "kind": "modified"}]}),)),
        Notification("progress", ProgressParams,
                     "Progress of long work: to the caller of the method doing it, and to "
                     "subscribers of `progress`",
                     examples=(Example({"token": "lint.run-7", "title": "ruff", "done": 3,
                                        "total": 12}),)),
        Notification(OVERFLOW, OverflowParams,
                     "Sent instead of the oldest notifications a slow subscriber's full queue "
                     "dropped (always sent, whatever the subscription)",
                     examples=(Example({"clock": 42, "dropped": 120}),)),
    ]  # fmt: skip
