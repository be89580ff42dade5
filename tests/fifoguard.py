"""A guard for tests about FIFOs: code that wrongly blocks opening one fails the test instead
of hanging the run."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

#: how long a FIFO may be left waiting for a writer before the guard gives it one; nothing
#: correct waits at all, so this only bounds how long a failing test takes
RELEASE_AFTER_S = 30.0


def release(fifo: Path) -> None:
    """Free a reader blocked opening `fifo` (its open returns, then reads end of file)."""
    with contextlib.suppress(OSError):  # nobody is waiting: nothing was blocked
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


@contextlib.contextmanager
def released_if_blocked(*fifos: Path) -> Iterator[Callable[[], bool]]:
    """Within the block, a reader left waiting on one of `fifos` is freed after a while; the
    yielded function says whether that had to happen (assert that it did not)."""
    stop = threading.Event()
    blocked = threading.Event()

    def watch() -> None:
        while not stop.wait(RELEASE_AFTER_S):
            blocked.set()
            for fifo in fifos:
                release(fifo)

    watcher = threading.Thread(target=watch, name="fifo-guard", daemon=True)
    watcher.start()
    try:
        yield blocked.is_set
    finally:
        stop.set()
        watcher.join()
        for fifo in fifos:
            release(fifo)
