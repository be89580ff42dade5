"""Pool workers die with the daemon and yield the CPU to it."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

from aegisd.workers import WORKER_NICENESS, background_worker

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
