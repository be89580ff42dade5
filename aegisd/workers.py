"""The daemon's background worker processes (the plugins' parsing pools) and the priority of
its background subprocesses.

Workers exit when the daemon dies, even by SIGKILL, and run at a lower CPU priority: on a small
machine a cold index keeps every core busy, and the daemon's own thread, which answers editors
and agents, must win (bench/index.py measures `daemon.health` during a cold index).

Pools fork their workers from multiprocessing's forkserver, which a resource tracker process
accompanies; both are started on first use and would live as long as the process that started
them (for an in-process daemon in the tests: the whole session). Pools are started and stopped
here (`start_pool`, `stop_pool`) so that `stop_servers`, at the daemon's stop, knows when no
pool needs them any more.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import forkserver, resource_tracker

PR_SET_PDEATHSIG = 1
#: added to a worker's nice value: background indexing yields to request handling
WORKER_NICENESS = 10
#: the pid of the process that starts the pools, for their forkserver (not AEGISD_*: settings)
POOL_OWNER = "_AEGISD_POOL_OWNER"
#: the pid of that forkserver, for the workers it forks
FORKSERVER = "_AEGISD_FORKSERVER"


def die_with_parent() -> None:
    """Exit when the parent dies, even by SIGKILL (Linux PR_SET_PDEATHSIG)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: workers still exit when their task pipe closes


def die_with_daemon() -> None:
    """In a pool's forkserver (imported first there, by the plugins' `poolinit`): exit when
    the daemon dies. A daemon killed before the forkserver asked for that signal never sends
    it, and the workers the forkserver forked meanwhile hold it open (and wait on pipes they
    hold open themselves) forever: the forkserver exits at once then."""
    die_with_parent()
    owner = os.environ.get(POOL_OWNER)
    if owner is not None and owner != str(os.getppid()):
        os._exit(0)
    os.environ[FORKSERVER] = str(os.getpid())  # workers check their parent the same way


def _orphaned_worker() -> bool:
    """A worker whose forkserver died before the worker asked to die with it: waiting on pipes
    it holds open itself, it would never end."""
    forkserver = os.environ.get(FORKSERVER)
    return forkserver is not None and forkserver != str(os.getppid())


def background_worker() -> None:
    """Process-pool initializer: die with the parent, at a lower CPU priority."""
    die_with_parent()
    if _orphaned_worker():
        os._exit(0)
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


class _Pools:
    """The pools of this process that are running, and the manager threads of those stopped
    without waiting (their workers are still on their way out)."""

    lock = threading.Lock()
    running: set[ProcessPoolExecutor] = set()
    retiring: list[threading.Thread] = []
    #: the plugin that started each running pool, for the memory budget's shares
    owners: dict[ProcessPoolExecutor, str] = {}
    #: subprocesses plugins started, by pid, with the plugin (`own_child`)
    children: dict[int, str] = {}


def start_pool(
    workers: int, preload: Sequence[str], owner: str | None = None
) -> ProcessPoolExecutor:
    """A pool of `workers` background workers forked from this process's forkserver, which
    imports `preload` first. One forkserver serves every pool of the process: whichever pool
    starts it decides what it preloads, and the others' modules load once per worker. Stop the
    pool with `stop_pool`. `owner` (by default the plugin of the first preloaded module, e.g.
    "similarity" for `aegisd_similarity.poolinit`) is who the workers' memory is counted for."""
    if os.environ.get(POOL_OWNER) != str(os.getpid()):
        os.environ[POOL_OWNER] = str(os.getpid())  # inherited by the forkserver it may start
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(preload))
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=background_worker)
    with _Pools.lock:
        _Pools.running.add(pool)
        _Pools.owners[pool] = owner or _plugin_of(preload)
    return pool


def _plugin_of(preload: Sequence[str]) -> str:
    package = preload[0].split(".", 1)[0] if preload else ""
    return package.removeprefix("aegisd_") or "other"


def own_child(pid: int, owner: str) -> None:
    """Count the running subprocess `pid` for plugin `owner` in the memory budget's shares
    (a lint tool, not "other"), until `disown_child`."""
    with _Pools.lock:
        _Pools.children[pid] = owner


def disown_child(pid: int) -> None:
    with _Pools.lock:
        _Pools.children.pop(pid, None)


def worker_owners() -> dict[int, str]:
    """The pids of running pools' workers and of subprocesses plugins own (`own_child`), each
    with the plugin it belongs to."""
    with _Pools.lock:
        pools = list(_Pools.owners.items())
        owners: dict[int, str] = dict(_Pools.children)
    for pool, owner in pools:
        # Private, but the only list of a pool's workers (3.11 to 3.13 have it).
        processes = getattr(pool, "_processes", None) or {}
        for pid in list(processes):
            owners[pid] = owner
    return owners


def stop_pool(pool: ProcessPoolExecutor, wait: bool = True) -> None:
    """Shut a pool from `start_pool` down (also a broken one), cancelling its queued tasks;
    without `wait` its workers exit in the background, and `stop_servers` waits for them."""
    manager = getattr(pool, "_executor_manager_thread", None)  # shutdown forgets it
    pool.shutdown(wait=wait, cancel_futures=True)
    with _Pools.lock:
        _Pools.running.discard(pool)
        _Pools.owners.pop(pool, None)
        # Finished ones go: each holds its pool's queues, and a daemon retires a pool a batch.
        _Pools.retiring = [m for m in _Pools.retiring if m.is_alive()]
        if not wait and isinstance(manager, threading.Thread):
            _Pools.retiring.append(manager)


def stop_servers(timeout_s: float = 10.0) -> bool:
    """Stop this process's forkserver and resource tracker once no pool from `start_pool` is
    running; False, leaving them, while one is (another in-process daemon's: stopping the
    forkserver would kill its workers) or while workers of a pool stopped without waiting are
    still there after `timeout_s` (each holds both servers open). Blocks: call it from a
    thread."""
    with _Pools.lock:
        if _Pools.running:
            return False
    if not _retired(timeout_s):
        return False
    with _Pools.lock:  # no pool starts meanwhile
        if _Pools.running:
            return False
        # Private, but the one way to stop them (CPython's own tests use it; 3.11 to 3.13
        # have it). The forkserver first: the tracker ends when every process holding it
        # open has ended.
        for server in (forkserver._forkserver, resource_tracker._resource_tracker):
            stop = getattr(server, "_stop", None)
            if stop is not None:
                with contextlib.suppress(ChildProcessError):  # reaped already
                    stop()
    return True


def _retired(timeout_s: float) -> bool:
    """Wait for the pools stopped without waiting to finish; let go of their manager threads,
    and with them the pools' semaphores, which unregister from the resource tracker as they
    go (stopped first, the tracker would unlink them under their feet)."""
    with _Pools.lock:
        retiring, _Pools.retiring = _Pools.retiring, []
    deadline = time.monotonic() + timeout_s
    for manager in retiring:
        manager.join(max(0.0, deadline - time.monotonic()))
    if any(manager.is_alive() for manager in retiring):
        with _Pools.lock:
            _Pools.retiring += retiring
        return False
    return True
