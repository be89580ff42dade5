"""The daemon's worker threads, in two lanes.

Bulk work (a recompute, a whole report, rows to store) goes through `asyncio.to_thread` to the
default executor, which `serve` caps at `BULK_THREADS`: every runnable Python thread competes
with the event loop for the GIL, and CPython does not hand it over fairly among several (with
six busy, a search on the loop once waited 0.6 s). Work someone is waiting for right now goes
through `interactive`, a pool of its own, so it never queues behind bulk work: a request's file
read or report, a file change being settled, a workspace reconciled (it is `pending` until
then), an edited file parsed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

BULK_THREADS = 2
INTERACTIVE_THREADS = 4

_interactive: ThreadPoolExecutor | None = None


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
