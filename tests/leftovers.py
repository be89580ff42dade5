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
GRACE_S = 30.0  # how long a process on its way out may take to go (a loaded CI machine)


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


def _table() -> dict[int, Proc]:
    """Every live process (zombies left out: they run nothing) by pid."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:  # gone meanwhile
            continue
        state, ppid = stat.rpartition(")")[2].split()[:2]
        if state != "Z":
            table[int(entry.name)] = Proc(int(entry.name), int(ppid), _text(cmdline))
    return table


def _text(cmdline: bytes) -> str:
    return cmdline.replace(b"\0", b" ").decode(errors="replace").strip()


def _marked(pid: int, mark: bytes) -> bool:
    with contextlib.suppress(OSError):
        return mark in (Path("/proc") / str(pid) / "environ").read_bytes().split(b"\0")
    return False


def ours() -> dict[int, Proc]:
    """This run's live processes, the pytest process aside."""
    me, table = os.getpid(), _table()
    mark = f"{MARK}={os.environ[MARK]}".encode()
    found = {}
    for pid, proc in table.items():
        if pid == me:
            continue
        ancestor = proc.ppid
        while ancestor not in (me, 0, 1) and ancestor in table:
            ancestor = table[ancestor].ppid
        if ancestor == me or _marked(pid, mark):
            found[pid] = proc
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
