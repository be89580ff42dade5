"""Pool workers die with the daemon and yield the CPU to it, as background tool runs do."""

from __future__ import annotations

import asyncio
import ctypes
import os
import subprocess
import sys
import time
from multiprocessing import forkserver, resource_tracker
from pathlib import Path

import pytest
from aegisd_codemap import parsing, service

from aegisd import workers
from aegisd.daemon import Daemon
from aegisd.workers import (
    FORKSERVER,
    POOL_OWNER,
    WORKER_NICENESS,
    lower_priority,
    start_pool,
    stop_pool,
    stop_servers,
)
from tests.conftest import isolated_env, make_config

PR_GET_PDEATHSIG = 2


def _worker_state() -> tuple[int, int]:
    libc = ctypes.CDLL(None, use_errno=True)
    signal = ctypes.c_int(0)
    libc.prctl(PR_GET_PDEATHSIG, ctypes.byref(signal), 0, 0, 0)
    return os.nice(0), signal.value


@pytest.mark.usefixtures("pool_servers")
def test_background_workers_are_niced_and_die_with_the_parent() -> None:
    pool = start_pool(1, [])
    try:
        niceness, death_signal = pool.submit(_worker_state).result(timeout=60)
    finally:
        stop_pool(pool)
    assert niceness == min(19, os.nice(0) + WORKER_NICENESS)
    assert death_signal == 15  # SIGTERM


def _servers() -> set[int]:
    """The pids of this process's forkserver and resource tracker, where running."""
    servers = [
        (forkserver._forkserver, "_forkserver_pid"),
        (resource_tracker._resource_tracker, "_pid"),
    ]
    return {pid for server, name in servers if (pid := getattr(server, name)) is not None}


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def test_servers_stop_once_no_pool_runs() -> None:
    first, second = start_pool(1, []), start_pool(1, [])
    try:
        assert first.submit(os.getpid).result(timeout=60) != os.getpid()
        servers = _servers()
        assert len(servers) == 2 and all(map(_running, servers))
        stop_pool(first, wait=False)
        assert not stop_servers()  # the second pool still needs them
        assert second.submit(os.getpid).result(timeout=60) != os.getpid()
    finally:
        stop_pool(first, wait=False)
        stop_pool(second, wait=False)  # its workers are still exiting: stop_servers waits
    assert stop_servers()
    assert _servers() == set() and not any(map(_running, servers))
    assert stop_servers()  # nothing left to stop


@pytest.mark.usefixtures("pool_servers")
def test_retired_pools_are_let_go_once_finished() -> None:
    """A daemon retires its pool after each large batch: what it keeps of one (the manager
    thread, holding the pool's queues) goes once that pool is done."""
    first = start_pool(1, [])
    assert first.submit(abs, -1).result(timeout=60) == 1
    stop_pool(first, wait=False)
    (manager,) = workers._Pools.retiring
    manager.join(60)
    second = start_pool(1, [])
    assert second.submit(abs, -2).result(timeout=60) == 2
    stop_pool(second, wait=False)
    assert len(workers._Pools.retiring) == 1 and manager not in workers._Pools.retiring


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


async def test_a_daemon_stop_ends_the_forkserver_and_tracker(tmp_path: Path) -> None:
    """A cold index parses in the pool; the daemon's stop leaves none of its processes behind
    (an in-process daemon's forkserver and tracker used to live for the whole test session)."""
    project = tmp_path / "p"
    project.mkdir()
    for n in range(parsing.INLINE_MAX_FILES * 4):
        (project / f"m{n}.py").write_text(f"def f{n}():\n    return {n}\n")
    daemon = Daemon(make_config(tmp_path))
    await daemon.start()
    try:
        ws, _ = await daemon.workspaces.open(str(project))
        async with asyncio.timeout(60):
            while not service.is_ready(daemon, ws.id):
                await asyncio.sleep(0.02)
        servers = _servers()
        assert len(servers) == 2 and all(map(_running, servers))
    finally:
        await daemon.stop()
    assert _servers() == set() and not any(map(_running, servers))


def test_a_forkserver_whose_daemon_is_gone_exits_at_once(tmp_path: Path) -> None:
    """A daemon killed before its forkserver asked to die with it: the forkserver sees it has
    another parent than the pools' owner and exits, rather than serve the workers it forked
    (which hold it open) forever."""
    serve = [sys.executable, "-c", "import aegisd_codemap.poolinit; print('serving')"]
    env = isolated_env(tmp_path, **{POOL_OWNER: str(os.getpid())})
    assert subprocess.run(serve, env=env, capture_output=True, text=True).stdout == "serving\n"
    gone = subprocess.Popen(["true"])
    gone.wait()
    env[POOL_OWNER] = str(gone.pid)  # the daemon that started it, dead meanwhile
    orphan = subprocess.run(serve, env=env, capture_output=True, text=True)
    assert (orphan.returncode, orphan.stdout) == (0, "")


def test_a_worker_whose_forkserver_is_gone_exits_at_once(tmp_path: Path) -> None:
    """The same for a worker: its forkserver died before it asked to die with it."""
    work = [sys.executable, "-c", "from aegisd.workers import *; background_worker(); print('up')"]
    env = isolated_env(tmp_path, **{FORKSERVER: str(os.getpid())})
    assert subprocess.run(work, env=env, capture_output=True, text=True).stdout == "up\n"
    gone = subprocess.Popen(["true"])
    gone.wait()
    env[FORKSERVER] = str(gone.pid)
    orphan = subprocess.run(work, env=env, capture_output=True, text=True)
    assert (orphan.returncode, orphan.stdout) == (0, "")
