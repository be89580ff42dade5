"""Start-up of the daemon's background worker processes (the plugins' parsing pools) and the
priority of its background subprocesses.

Workers exit when the daemon dies, even by SIGKILL, and run at a lower CPU priority: on a small
machine a cold index keeps every core busy, and the daemon's own thread, which answers editors
and agents, must win (bench/index.py measures `daemon.health` during a cold index).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal

PR_SET_PDEATHSIG = 1
#: added to a worker's nice value: background indexing yields to request handling
WORKER_NICENESS = 10


def die_with_parent() -> None:
    """Exit when the parent dies, even by SIGKILL (Linux PR_SET_PDEATHSIG)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: workers still exit when their task pipe closes


def background_worker() -> None:
    """Process-pool initializer: die with the parent, at a lower CPU priority."""
    die_with_parent()
    with contextlib.suppress(OSError):  # not permitted here: run at the daemon's priority
        os.nice(WORKER_NICENESS)


def lower_priority(pgid: int) -> None:
    """Run a started process group (a whole-workspace linter pass) at the workers' priority."""
    with contextlib.suppress(OSError):  # gone already, or not permitted: leave it as it is
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        os.setpriority(os.PRIO_PGRP, pgid, min(19, mine + WORKER_NICENESS))


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (children, theirs, ...), from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        children.setdefault(int(fields[1]), []).append(int(entry))
    found: list[int] = []
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), ()):
            found.append(child)
            stack.append(child)
    return found


def kill_descendants() -> int:
    """SIGKILL every process below this one (tool runs, pools, their forkserver); returns
    how many were signalled. For a forced exit: nothing the daemon started may outlive it."""
    killed = 0
    for pid in descendants(os.getpid()):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
            killed += 1
    return killed
