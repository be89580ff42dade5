"""The hard deadline of a shutdown: once asked to stop, the process is gone within
`shutdown_timeout_s`, whatever a plugin is doing.

A graceful stop cannot outwait a plugin thread that spins forever (Python joins pool threads
at exit) nor a task that swallows its cancellation (`asyncio.run` waits for it). So a watcher
thread, started with the daemon, is armed by the first SIGTERM/SIGINT (from the signal handler:
even a loop that never yields gets the signal) or by `daemon.shutdown`. If the process still
runs shortly before the limit, it logs what each thread is doing, kills every process the
daemon started, and exits with `EXIT_FORCED` without waiting for anything. A second signal
does the same at once.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable

from loguru import logger

from aegisd.workers import kill_descendants

EXIT_FORCED = 1
LOG_WAIT_S = 0.2  # the last log line gets this long: a logger stuck behind a lock must not hold us


class HardStop:
    """Arm it when a stop is asked; it exits the process at the deadline unless the process
    has ended by itself. `cleanup` runs first (best effort, e.g. removing the socket file)."""

    def __init__(self, limit_s: float, cleanup: Callable[[], None] = lambda: None) -> None:
        self.limit_s = limit_s
        self.cleanup = cleanup
        self._armed = threading.Event()
        self._now = threading.Event()
        self._armed_at = 0.0
        # Fire a little before the limit: killing and exiting take a moment too.
        self._margin = min(0.5, limit_s / 10)
        self._thread = threading.Thread(target=self._watch, name="aegisd-hard-stop", daemon=True)
        self._thread.start()

    @property
    def armed(self) -> bool:
        return self._armed.is_set()

    def arm(self) -> None:
        """Start the countdown (again: no effect). Safe from a signal handler."""
        if not self._armed.is_set():
            self._armed_at = time.monotonic()
            self._armed.set()

    @property
    def deadline(self) -> float:
        """When (`time.monotonic()`) the process is forced out, once armed."""
        return self._armed_at + self.limit_s - self._margin

    def now(self) -> None:
        """Exit without waiting for the deadline (a second signal)."""
        self.arm()
        self._now.set()

    def _watch(self) -> None:
        self._armed.wait()
        left = self.deadline - time.monotonic()
        forced_early = self._now.wait(max(0.0, left))
        why = "asked to stop again" if forced_early else f"still running after {self.limit_s} s"
        self._exit(why)

    def _exit(self, why: str) -> None:
        try:
            report = threading.Thread(target=_report, args=(why,), daemon=True)
            report.start()
            report.join(LOG_WAIT_S)
            self.cleanup()
            kill_descendants()
        finally:
            os._exit(EXIT_FORCED)


def _report(why: str) -> None:
    frames = sys._current_frames()
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    busy = []
    for ident, frame in frames.items():
        if ident == threading.get_ident() or names.get(ident, "").startswith("aegisd-hard-stop"):
            continue
        code = frame.f_code
        busy.append(
            f"{names.get(ident, ident)} in {code.co_name} ({code.co_filename}:{frame.f_lineno})"
        )
    logger.error(
        "shutdown forced: {}; exiting now, killing the processes it started. Threads: {}",
        why,
        "; ".join(busy) or "none",
    )
    sys.stderr.flush()
