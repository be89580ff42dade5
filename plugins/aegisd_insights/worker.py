"""A workspace's insights worker: one background process (`aegisd.workers`: it dies with the
daemon, at a lower priority) that runs the evaluations and keeps what makes the next one
incremental (`evaluation`), so the daemon's heap never grows with the tree.

A worker that has been idle for a while, or that has just evaluated most of a large
workspace (its heap grown by that evaluation's temporaries), saves its memo and exits
(`service`); the next one starts from that memo.

Cancelling a call kills the worker (an evaluation of a large workspace is minutes of CPU
nobody would wait for, and its state would no longer match what the daemon stored); so does
`kill`, at a workspace's close and the daemon's shutdown. A worker lost either way, or
crashed, is replaced at the next call, which then evaluates from scratch.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from aegisd.threads import interactive
from aegisd.workers import start_pool, stop_pool

T = TypeVar("T")

PRELOAD = ["aegisd_insights.poolinit"]


class WorkerLost(OSError):
    """The worker died during a call (killed, or out of memory): the call's result is lost,
    nothing stored is; the next call starts another worker."""


class Evaluator:
    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        #: calls made by the current worker (0: a new one, with no state of its own)
        self.calls = 0

    @property
    def running(self) -> bool:
        return self._pool is not None

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in the worker. The submission goes from a thread: the first one may
        wait for the forkserver to start."""
        if self._pool is None:
            self._pool, self.calls = start_pool(1, PRELOAD, owner="insights"), 0
        pool = self._pool
        self.calls += 1
        try:
            future = await interactive(pool.submit, fn, *args)
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            self.kill()
            raise
        except BrokenProcessPool as exc:
            self._forget(pool)
            raise WorkerLost(f"the insights worker died: {exc}") from None

    def pids(self) -> list[int]:
        # Private, but the only list of a pool's workers (as `aegisd.workers` reads it).
        processes = getattr(self._pool, "_processes", None) or {}
        return list(processes)

    def retire(self) -> None:
        """Let the worker go once it is idle (it is, between calls): its state is on disk."""
        pool, self._pool = self._pool, None
        if pool is not None:
            stop_pool(pool, wait=False)

    def kill(self) -> None:
        """End the worker now, whatever it is doing (its pool's manager notices and exits)."""
        pool = self._pool
        if pool is None:
            return
        for pid in self.pids():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        self._forget(pool)

    def _forget(self, pool: ProcessPoolExecutor) -> None:
        if self._pool is pool:
            self._pool = None
        stop_pool(pool, wait=False)
