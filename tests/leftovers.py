"""Processes a test run leaves behind: nothing a test starts may outlive it.

A process belongs to this run when it descends from the pytest process or, once orphaned (a
daemon's forkserver after the daemon was killed), when its environment carries the run's mark,
which every process started since inherits. Read from /proc (Linux).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

MARK = "PYTEST_AEGISD_RUN"  # not AEGISD_*: those are settings, and isolated_env drops them
GRACE_S = 60.0  # how long a process on its way out may take: with coverage, a forkserver and
# its workers killed by their daemon save their data on SIGTERM, 6 s on a lightly loaded machine


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    cmdline: str

    def __str__(self) -> str:
        return f"pid {self.pid} (parent {self.ppid}): {self.cmdline[:300]}"


def mark_run() -> None:
    """Give this run its mark; processes started from now on carry it."""
    os.environ.setdefault(MARK, uuid.uuid4().hex)


def _table() -> dict[int, int]:
    """The parent of every live process (zombies left out: they run nothing) by pid."""
    table = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as fh:
                    state, ppid = fh.read().rpartition(b")")[2].split()[:2]
            except OSError:  # gone meanwhile
                continue
            if state != b"Z":
                table[int(name)] = int(ppid)
    return table


def _cmdline(pid: int) -> str:
    with contextlib.suppress(OSError):
        raw = (Path("/proc") / str(pid) / "cmdline").read_bytes()
        return raw.replace(b"\0", b" ").decode(errors="replace").strip()
    return "?"


def _marked(pid: int, mark: bytes) -> bool:
    with contextlib.suppress(OSError):
        return mark in (Path("/proc") / str(pid) / "environ").read_bytes().split(b"\0")
    return False


def ours() -> dict[int, Proc]:
    """This run's live processes, the pytest process aside."""
    me, parents = os.getpid(), _table()
    mark = f"{MARK}={os.environ[MARK]}".encode()
    found = {}
    for pid, ppid in parents.items():
        if pid == me:
            continue
        ancestor = ppid
        while ancestor not in (me, 0, 1) and ancestor in parents:
            ancestor = parents[ancestor]
        # Only an orphan (re-parented to init) needs its environment read.
        if ancestor == me or (ancestor in (0, 1) and _marked(pid, mark)):
            found[pid] = Proc(pid, ppid, _cmdline(pid))
    return found


def owned_elsewhere(proc: Proc, table: dict[int, Proc], before: set[int]) -> bool:
    """Whether `proc` descends from a process that was already running (a module-scoped
    daemon's forkserver belongs to that daemon, which ends with its fixture)."""
    ancestor = proc.ppid
    while ancestor in table:
        if ancestor in before:
            return True
        ancestor = table[ancestor].ppid
    return False


def survivors(before: set[int], grace_s: float = GRACE_S) -> list[Proc]:
    """This run's processes not running at `before` (pids) that are still running after
    `grace_s`."""
    deadline = time.monotonic() + grace_s
    while True:
        table = ours()
        left = [
            p
            for p in table.values()
            if p.pid not in before and not owned_elsewhere(p, table, before)
        ]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return left


def kill(procs: list[Proc]) -> None:
    """End processes that outlived their test, so that they fail no other test."""
    for proc in procs:
        with contextlib.suppress(OSError):
            os.kill(proc.pid, signal.SIGKILL)
