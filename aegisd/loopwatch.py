"""The event loop's stalls, seen from a thread: how late the loop runs a callback posted to it,
and what it was running when it was too late.

Every answer waits for the loop, so a stall (a plugin's synchronous work on the loop, a large
dump) is what health's worst answer measures. A thread posts a no-op every PERIOD_S; each
wait goes to the `aegisd_loop_lag_seconds` histogram, and one past STALL_S is logged with the
loop thread's stack taken while it stalled (a stack at most every LOG_EVERY_S): the place to
fix.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import traceback

from loguru import logger
from prometheus_client import CollectorRegistry, Histogram

PERIOD_S = 0.05
STALL_S = 0.25
LOG_EVERY_S = 10.0
STACK_LINES = 12  # the innermost frames, which name the culprit
LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class LoopWatch:
    """Measures the loop's lag from a daemon thread until `stop`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.lag = Histogram(
            "aegisd_loop_lag_seconds",
            "How late the event loop ran a callback posted to it",
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.worst_s = 0.0
        self.stalls = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._logged_at = -LOG_EVERY_S

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        loop_thread = threading.get_ident()  # called on the loop
        self._thread = threading.Thread(
            target=self._run, args=(loop, loop_thread), name="loop-watch", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self, loop: asyncio.AbstractEventLoop, loop_thread: int) -> None:
        while not self._stop.wait(PERIOD_S):
            ran = threading.Event()
            posted = time.monotonic()
            try:
                loop.call_soon_threadsafe(ran.set)
            except RuntimeError:
                return  # the loop is closed
            stack = None
            if not ran.wait(STALL_S):
                stack = _stack_of(loop_thread)
                while not ran.wait(PERIOD_S):
                    if self._stop.is_set() or loop.is_closed():
                        return
            self._observe(time.monotonic() - posted, stack)

    def _observe(self, lag: float, stack: str | None) -> None:
        self.lag.observe(lag)
        self.worst_s = max(self.worst_s, lag)
        if stack is None:
            return
        self.stalls += 1
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY_S:
            self._logged_at = now
            logger.warning("the event loop stalled for {:.0f} ms in:\n{}", lag * 1000, stack)
        else:  # each stall is said; its stack at most every LOG_EVERY_S
            logger.warning("the event loop stalled for {:.0f} ms", lag * 1000)


def _stack_of(thread_id: int) -> str:
    frame = sys._current_frames().get(thread_id)
    if frame is None:
        return "(unknown)"
    # The import machinery's frames hide the caller of an import done on the loop.
    frames = [f for f in traceback.extract_stack(frame) if not f.filename.startswith("<frozen")]
    return "".join(traceback.format_list(frames[-STACK_LINES:])).rstrip()
