"""Short garbage-collector pauses for a daemon that holds large indexes in memory.

CPython's full collection scans every object the collector tracks, with the GIL held. With a
workspace's code map, lint results and clone index loaded that is hundreds of thousands of
objects and a 50-100 ms stall of every request in flight, several times a minute while plugins
are busy (measured on the standard library). Almost all of those objects live until their file
changes and then die by reference counting, never in a cycle.

So the survivors of each full collection are frozen (`gc.freeze`): later collections scan only
what was allocated since. Even so one took 40 ms on a busy 2-core machine, started wherever an
allocation tipped it over, often inside an edit's own handling. So automatic full collections
are ten times rarer (a backstop), and the policy runs one itself in a quiet moment (nothing in
flight, no answer in the making: `aegisd.threads.busy`) once CPython would have wanted one.

Frozen objects that become cyclic garbage are found by the idle sweep: at most
every `sweep_every_s`, once no request has come for `idle_s`, everything is unfrozen and
collected once (the frozen survivors of that collection are frozen again). A daemon that is
never idle that long (a dashboard polling it) is swept anyway after `sweep_anyway_s`.

`limit_malloc_arenas` is the other half: glibc gives threads that allocate at the same time
arenas of their own (up to eight per core) and keeps freed memory in each. The daemon's threads
take turns on the GIL anyway; two arenas cost it nothing and its RSS some 3 MiB less with the
stdlib indexed (measured with `MALLOC_ARENA_MAX=2`, which this sets from inside).
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import os
import time
from collections.abc import Callable
from typing import Any

from loguru import logger

from aegisd.threads import busy

MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # glibc's mallopt parameter
SWEEP_EVERY_S = 600.0
SWEEP_ANYWAY_S = 3600.0
IDLE_S = 5.0
_CHECK_EVERY_S = 0.1
#: automatic full collections wait this many times longer than CPython's default
DEFER_FULL_FACTOR = 10
_OLDEST = len(gc.get_threshold()) - 1  # the generation a full collection is named by


class CollectorPolicy:
    """Installs the freezing of long-lived objects and runs the idle sweep (`run`).

    `activity` returns a number that changes whenever a request starts and the number of
    requests in flight: the sweep waits until the first is still and the second zero.
    """

    def __init__(
        self,
        activity: Callable[[], tuple[int, int]],
        *,
        sweep_every_s: float = SWEEP_EVERY_S,
        sweep_anyway_s: float = SWEEP_ANYWAY_S,
        idle_s: float = IDLE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.activity = activity
        self.sweep_every_s = sweep_every_s
        self.sweep_anyway_s = sweep_anyway_s
        self.idle_s = idle_s
        self.clock = clock
        self.sweeps = 0
        self._installed = False
        self._last_sweep = clock()
        self._last_busy = clock()
        self._last_seen: int | None = None
        self._thresholds = gc.get_threshold()
        self.quiet_collections = 0

    def install(self) -> None:
        """Freeze what exists now (modules, classes, the loaded configuration: they never
        die) and freeze the survivors of every later full collection."""
        if self._installed:
            return
        gc.freeze()
        gc.callbacks.append(self._after_collection)
        self._thresholds = gc.get_threshold()
        young, middle, full = self._thresholds
        gc.set_threshold(young, middle, full * DEFER_FULL_FACTOR)
        self._installed = True

    def uninstall(self) -> None:
        """Back to CPython's defaults: nothing frozen, no callback."""
        if not self._installed:
            return
        gc.callbacks.remove(self._after_collection)
        gc.set_threshold(*self._thresholds)
        gc.unfreeze()
        self._installed = False

    def _after_collection(self, phase: str, info: dict[str, Any]) -> None:
        # At the end of a full collection every younger generation has been merged into the
        # oldest: what is tracked now is exactly the survivors.
        if phase == "stop" and info["generation"] == _OLDEST:
            gc.freeze()

    def idle(self) -> bool:
        """Record activity; True once nothing has happened for `idle_s`."""
        started, in_flight = self.activity()
        now = self.clock()
        if in_flight or started != self._last_seen:
            self._last_seen = started
            self._last_busy = now
            return False
        return now - self._last_busy >= self.idle_s

    def sweep_due(self) -> bool:
        idle = self.idle()  # called every time: it records activity
        since = self.clock() - self._last_sweep
        return since >= self.sweep_anyway_s or (idle and since >= self.sweep_every_s)

    def full_due(self) -> bool:
        """True when CPython would have run a full collection by now and nobody waits."""
        if gc.get_count()[_OLDEST] < self._thresholds[_OLDEST]:
            return False
        _, in_flight = self.activity()
        return not in_flight and not busy()

    def sweep(self) -> int:
        """Collect everything once, frozen objects included; returns what was collected."""
        started = time.perf_counter()
        gc.unfreeze()
        collected = gc.collect()  # its callback freezes the survivors again
        if not self._installed:
            gc.unfreeze()
        self._last_sweep = self.clock()
        self.sweeps += 1
        logger.debug(
            "idle collection: {} objects freed in {:.0f} ms",
            collected,
            (time.perf_counter() - started) * 1000,
        )
        return collected

    async def run(self) -> None:
        """Check often for a quiet moment, for a full collection, or an idle one, for the
        sweep, and run what is due (a task)."""
        while True:
            await asyncio.sleep(_CHECK_EVERY_S)
            if self.sweep_due():
                self.sweep()
            elif self.full_due():
                gc.collect(_OLDEST)  # its callback freezes the survivors
                self.quiet_collections += 1


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas; False where there is no glibc `mallopt` or the user set
    `MALLOC_ARENA_MAX` (their choice stands)."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(_M_ARENA_MAX, arenas))
