"""The daemon's worker threads, in two lanes.

Bulk work (a recompute, a whole report, rows to store) goes through `asyncio.to_thread` to the
default executor, which `serve` caps at `BULK_THREADS`: every runnable Python thread competes
with the event loop for the GIL, and CPython does not hand it over fairly among several (with
six busy, a search on the loop once waited 0.6 s). Work someone is waiting for right now goes
through `interactive`, a pool of its own, so it never queues behind bulk work: a request's file
read or report, a file change being settled, a workspace reconciled (it is `pending` until
then), an edited file parsed.

A runnable bulk thread still takes the GIL from the loop for up to a switch interval at a time,
and often several times per request (CPython does not hand it back to the thread that waited
longest). So bulk work steps aside while someone is being answered: `note_interactive` marks the
moment a request or a file change arrives; work nobody waits for goes through `background`, and
its long loops call `step_aside` between items, which sleeps briefly while someone is waiting.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

BULK_THREADS = 2
INTERACTIVE_THREADS = 4
#: how long after a request or a change background work keeps out of the way: long enough to
#: cover a client's next request in a burst (an editor asking again after a save)
QUIET_AFTER_S = 0.25
#: one step aside (a sleep, so the GIL is free for the loop)
STEP_S = 0.002

_interactive: ThreadPoolExecutor | None = None
_last_interactive = -QUIET_AFTER_S  # perf_counter() of the latest request or change
_clock = time.perf_counter
_sleep = time.sleep
_lane = threading.local()  # .yielding: the thread runs a `background` job


def note_interactive(now: float | None = None) -> None:
    """Someone is waiting for an answer now (the dispatcher and the watcher call this)."""
    global _last_interactive
    _last_interactive = _clock() if now is None else now


def busy() -> bool:
    """True while an answer may still be in the making (see `QUIET_AFTER_S`)."""
    return _clock() - _last_interactive < QUIET_AFTER_S


def step_aside() -> None:
    """For loops of bulk work, between items: in a `background` job, sleep briefly (releasing
    the GIL) while busy. Anywhere else (the loop, the interactive lane) it does nothing."""
    if getattr(_lane, "yielding", False) and busy():
        _sleep(STEP_S)


async def background(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(*args, **kwargs)` in the bulk lane as work nobody is waiting for: its `step_aside`
    calls yield to requests (each item is slowed down, never stopped)."""
    return await asyncio.get_running_loop().run_in_executor(
        None, yielding(partial(fn, *args, **kwargs))
    )


def yielding(job: Callable[[], T]) -> Callable[[], T]:
    """`job` as background work for an executor of its own: its `step_aside` calls yield."""
    return partial(_yielding, job)


def _yielding(job: Callable[[], T]) -> T:
    _lane.yielding = True
    try:
        return job()
    finally:
        _lane.yielding = False


def limit_bulk_threads(loop: asyncio.AbstractEventLoop) -> None:
    """Make `loop`'s default executor (what `asyncio.to_thread` uses) the bulk lane. Its
    threads keep the daemon's CPU priority: a niced thread holding the GIL on a busy machine
    would hold up the loop behind it (measured: worse tails, not better)."""
    loop.set_default_executor(ThreadPoolExecutor(BULK_THREADS, thread_name_prefix="aegisd-bulk"))


async def interactive(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(*args, **kwargs)` in the interactive lane; for short work someone waits on."""
    global _interactive
    if _interactive is None:
        _interactive = ThreadPoolExecutor(
            INTERACTIVE_THREADS, thread_name_prefix="aegisd-interactive"
        )
    return await asyncio.get_running_loop().run_in_executor(
        _interactive, partial(fn, *args, **kwargs)
    )
