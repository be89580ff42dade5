"""Pool workers die with the daemon and yield the CPU to it, as background tool runs do."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import subprocess
import time
from concurrent.futures import ProcessPoolExecutor

from aegisd.workers import WORKER_NICENESS, background_worker, lower_priority

PR_GET_PDEATHSIG = 2


def _worker_state() -> tuple[int, int]:
    libc = ctypes.CDLL(None, use_errno=True)
    signal = ctypes.c_int(0)
    libc.prctl(PR_GET_PDEATHSIG, ctypes.byref(signal), 0, 0, 0)
    return os.nice(0), signal.value


def test_background_workers_are_niced_and_die_with_the_parent() -> None:
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(1, mp_context=context, initializer=background_worker) as pool:
        niceness, death_signal = pool.submit(_worker_state).result(timeout=60)
    assert niceness == min(19, os.nice(0) + WORKER_NICENESS)
    assert death_signal == 15  # SIGTERM


def test_lower_priority_renices_the_whole_process_group() -> None:
    child = subprocess.Popen(
        ["sh", "-c", "sleep 5 & wait"], process_group=0, stdout=subprocess.DEVNULL
    )
    try:
        time.sleep(0.1)  # the group's second process (sleep) exists before the call
        lower_priority(child.pid)
        members = _group_niceness(child.pid)
        assert len(members) == 2
        assert set(members) == {min(19, os.nice(0) + WORKER_NICENESS)}
    finally:
        os.killpg(child.pid, 9)
        child.wait()
    lower_priority(child.pid)  # a group that is gone is left alone, quietly


def _group_niceness(pgid: int) -> list[int]:
    """The nice value of each process in group `pgid`, from /proc/<pid>/stat."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after the command: state, ppid, pgrp (field 5 of proc(5)) ... nice (field 19)
        if int(fields[2]) == pgid:
            found.append(int(fields[16]))
    return found
