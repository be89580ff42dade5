"""What a handler gets besides its params: the daemon, the caller, the resolved workspace."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aegisd.rpc.errors import InternalError

if TYPE_CHECKING:
    from aegisd.daemon import Daemon
    from aegisd.events import Subscriber
    from aegisd.limits import Bucket
    from aegisd.workspace import Workspace

_tokens = itertools.count(1)


@dataclass(slots=True)
class Caller:
    """Who sent a request, over which transport; the rate limiter notes on it the bucket the
    request drew from (a batch: its most constrained one) and when a refused one may retry."""

    client: str
    transport: str  # "unix", "tcp" or "ws"
    request_id: str
    subscriber: Subscriber | None = None
    limit: Bucket | None = None
    retry_after_ms: int = 0


@dataclass(slots=True)
class RpcContext:
    daemon: Daemon
    method: str
    caller: Caller
    resolved_workspace: Workspace | None = None

    @property
    def request_id(self) -> str:
        return self.caller.request_id

    @property
    def workspace(self) -> Workspace:
        """The workspace of a workspace-scoped method (resolved by the dispatcher)."""
        if self.resolved_workspace is None:
            raise InternalError(f"{self.method} is not workspace-scoped")
        return self.resolved_workspace

    def progress(self, title: str, total: int | None = None) -> Progress:
        """A reporter sending `progress` notifications to the caller and to subscribers."""
        return Progress(self, f"{self.method}-{next(_tokens)}", title, total)


@dataclass
class Progress:
    ctx: RpcContext
    token: str
    title: str
    total: int | None
    done: int = 0

    def report(self, done: int, total: int | None = None) -> None:
        self.done = done
        if total is not None:
            self.total = total
        ws = self.ctx.resolved_workspace
        self.ctx.daemon.events.publish(
            "progress",
            {"token": self.token, "title": self.title, "done": done, "total": self.total},
            workspace=ws.id if ws is not None else None,
            only=self.ctx.caller.subscriber,
        )
