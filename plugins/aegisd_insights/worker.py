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
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar, cast

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
        #: a submission going on in a thread (the pool forks its worker there)
        self._submitting: asyncio.Future[Future[Any]] | None = None

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
        submitting = self._submitting = asyncio.ensure_future(interactive(pool.submit, fn, *args))
        try:
            future = await asyncio.shield(submitting)
            return cast(T, await asyncio.wrap_future(future))
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
        """End the worker now, whatever it is doing (its pool's manager notices and exits);
        during a submission, as soon as the submission is in (the worker it forks, and the
        pool's manager, would be left out otherwise)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        submitting = self._submitting
        if submitting is not None and not submitting.done():
            submitting.add_done_callback(lambda _: _kill(pool))
        else:
            _kill(pool)

    async def stop(self) -> None:
        """`kill`, returning once the worker is killed (a submission going on first ends)."""
        submitting = self._submitting
        self.kill()
        if submitting is not None and not submitting.done():
            await asyncio.wait([submitting])

    def _forget(self, pool: ProcessPoolExecutor) -> None:
        if self._pool is pool:
            self._pool = None
        stop_pool(pool, wait=False)


def _kill(pool: ProcessPoolExecutor) -> None:
    # Private, but the only list of a pool's workers (as `aegisd.workers` reads it).
    for pid in list(getattr(pool, "_processes", None) or {}):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    stop_pool(pool, wait=False)
