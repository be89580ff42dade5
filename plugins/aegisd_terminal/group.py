"""Ending everything a session started: every process in its session (bash puts each job in
a process group of its own, all in the shell's session), SIGHUP first, SIGKILL after a grace.
Read from /proc (Linux); elsewhere the leader's process group only."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time


def session_members(sid: int) -> list[int]:
    """Pids of the live processes of session `sid` (reads /proc: call from a thread)."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return _group_alive(sid)
    members = []
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                fields = fh.read().rpartition(b")")[2].split()
        except OSError:
            continue
        # after the name: state, ppid, pgrp, session
        if len(fields) > 3 and int(fields[3]) == sid and fields[0] != b"Z":
            members.append(int(name))
    return members


def _group_alive(pgid: int) -> list[int]:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return []
    return [pgid]


def signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
            if sig == signal.SIGHUP:  # a stopped job acts on SIGHUP only once continued
                os.kill(pid, signal.SIGCONT)


async def hang_up(sid: int, grace_s: float) -> int:
    """SIGHUP every process of session `sid`, SIGKILL those left after `grace_s`; returns how
    many had to be killed."""
    members = await asyncio.to_thread(session_members, sid)
    if not members:
        return 0
    signal_all(members, signal.SIGHUP)
    deadline = time.monotonic() + grace_s
    while members and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        members = await asyncio.to_thread(session_members, sid)
    signal_all(members, signal.SIGKILL)
    return len(members)
