"""Work that was told to stop and did not: bounded waits, and a record of what was abandoned.

A plugin's hook or task may never give control back (a loop that swallows cancellation, a
thread that spins). Closing a workspace and shutting down must not wait for it: they cancel,
wait a bounded time, then go on without it. What is still running is listed by
`daemon.health` (degraded) until it ends, if it ever does. Work stuck in a thread cannot be
cancelled at all: the task awaiting it ends, the thread runs on until the process exits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import Any

from loguru import logger

#: after a timeout a task is cancelled, then gets this long to finish its cleanup
CANCEL_GRACE_S = 0.5


class Runaways:
    """What was abandoned and still runs (tasks; descriptions for people)."""

    def __init__(self) -> None:
        self._running: dict[asyncio.Task[Any], str] = {}

    def add(self, task: asyncio.Task[Any], what: str) -> str:
        """Record `task` (described as `what`) until it ends; returns `what`."""
        if task.done():
            return what
        logger.error("{} did not stop when told to; abandoned while it still runs", what)
        self._running[task] = what
        task.add_done_callback(self._ended)
        return what

    def _ended(self, task: asyncio.Task[Any]) -> None:
        what = self._running.pop(task, None)
        if what is not None:
            logger.info("{} ended after all", what)

    def __bool__(self) -> bool:
        return bool(self._running)

    def reasons(self) -> list[str]:
        return [f"{what} did not stop and still runs" for what in self._running.values()]


async def cancel_within(
    tasks: Iterable[asyncio.Task[Any]], grace: float
) -> list[asyncio.Task[Any]]:
    """Cancel `tasks` and wait up to `grace` seconds for them; returns those still running."""
    running = [task for task in tasks if not task.done()]
    for task in running:
        task.cancel()
    if not running:
        return []
    _, pending = await asyncio.wait(running, timeout=grace)
    return list(pending)


async def finish_within(
    awaitable: Awaitable[Any], within_s: float, name: str
) -> tuple[asyncio.Task[Any], bool]:
    """Run `awaitable` as a task for up to `within_s` seconds, then cancel it (with a short
    grace; `asyncio.timeout` would wait forever for a task that ignores cancellation).
    Returns the task and whether it is still running; one that finished is the
    caller's to read (`task.result()`). If the caller is cancelled, so is the task."""
    task = asyncio.ensure_future(awaitable)
    task.set_name(name)
    try:
        await asyncio.wait([task], timeout=within_s)
        if task.done():
            return task, False
        logger.warning("{} did not finish within {} s; cancelling it", name, within_s)
        return task, bool(await cancel_within([task], CANCEL_GRACE_S))
    except BaseException:
        task.cancel()
        raise
