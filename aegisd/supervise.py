"""Keeping a workspace's background tasks alive: a task that dies is restarted, and the
workspace says it is degraded until a reconciliation after the failure succeeds.

Live updates must never stop silently: the change processor dying once meant every later edit
went unprocessed while `/health` still said ok.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from loguru import logger

from aegisd.workspace import Workspace

FAULT = "processor"  # the workspace's fault source for these failures
RESTART_DELAY_S = 0.1  # first restart; doubles per restart of the same task, up to the cap
RESTART_DELAY_CAP_S = 5.0
TaskFactory = Callable[[], Coroutine[Any, Any, None]]


class Supervisor:
    """Runs `ws`'s long-lived tasks; `reconcile(reason)` brings the workspace back in line."""

    def __init__(
        self,
        ws: Workspace,
        reconcile: Callable[[str], Awaitable[None]],
        retry_interval: Callable[[], float],
    ) -> None:
        self.ws = ws
        self._reconcile = reconcile
        self._retry_interval = retry_interval
        self.stopping = asyncio.Event()
        self.restarts: dict[str, int] = {}
        self._failures = 0  # a recovery clears the fault only if none came after it began
        self._cause: str | None = None  # the first failure since the workspace was last sound
        self._recovering: asyncio.Task[None] | None = None

    def spawn(self, name: str, factory: TaskFactory, *, restart: bool = True) -> asyncio.Task[None]:
        """Start `factory()` as a tracked task; when `restart`, one that ends by an exception
        (or at all, before `stop`) is started again."""
        task = asyncio.create_task(factory(), name=f"{name}-{self.ws.id}")
        self.ws.track(task)
        if restart:
            task.add_done_callback(lambda done: self._ended(name, factory, done))
        return task

    def stop(self) -> None:
        self.stopping.set()

    def _ended(self, name: str, factory: TaskFactory, task: asyncio.Task[None]) -> None:
        if self.stopping.is_set() or task.cancelled():
            return
        exc = task.exception()
        count = self.restarts[name] = self.restarts.get(name, 0) + 1
        why = f"{type(exc).__name__}: {exc}" if exc is not None else "it ended"
        logger.opt(exception=exc).error(
            "workspace {}: the {} task died ({}); restarting it", self.ws.id, name, why
        )
        self.failed(f"the {name} task died ({why}) and was restarted")
        delay = min(RESTART_DELAY_S * 2 ** (count - 1), RESTART_DELAY_CAP_S)
        asyncio.get_running_loop().call_later(delay, self._respawn, name, factory)

    def _respawn(self, name: str, factory: TaskFactory) -> None:
        if not self.stopping.is_set():
            self.spawn(name, factory)

    def failed(self, reason: str) -> None:
        """Something the workspace depends on failed: degraded until a reconciliation after
        this moment succeeds (retried every `retry_interval()` seconds)."""
        self._failures += 1
        # The first failure stays in view: a failing retry must not hide what went wrong.
        if self._cause is None:
            self._cause = reason
        shown = reason if reason == self._cause else f"{self._cause}; then {reason}"
        self.ws.fault(FAULT, f"{shown}; reconciling")
        if self._recovering is None or self._recovering.done():
            self._recovering = asyncio.create_task(self._recover(), name=f"recover-{self.ws.id}")
            self.ws.track(self._recovering)

    async def _recover(self) -> None:
        while not self.stopping.is_set():
            failures = self._failures
            try:
                await self._reconcile("recovery")
            except Exception as exc:
                logger.warning(
                    "workspace {}: reconciliation after a failure failed too ({}: {}); "
                    "retrying in {} s",
                    self.ws.id, type(exc).__name__, exc, self._retry_interval(),
                )  # fmt: skip
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), self._retry_interval())
                continue
            if failures == self._failures:
                self._cause = None
                self.ws.fault(FAULT, None)
                logger.info(
                    "workspace {}: reconciled after a failure; no longer degraded", self.ws.id
                )
                return
