"""`aegisd serve`: bind the socket, start the daemon, serve until a signal, drain, clean up."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import IO

from aiohttp import web
from loguru import logger

from aegisd import systemd, workers
from aegisd.app import CONNECTIONS, create_app
from aegisd.config import DaemonConfig
from aegisd.connections import GuardedRunner
from aegisd.daemon import Daemon, StartupError
from aegisd.dirs import (
    LOCK_FILE,
    DirError,
    hold_lock,
    make_private_dirs,
    prepare_socket_dir,
    tighten_state_dir,
)
from aegisd.hardstop import HardStop
from aegisd.loopwatch import LoopWatch
from aegisd.memory import CollectorPolicy, limit_malloc_arenas
from aegisd.ownpaths import OwnPaths, own_paths
from aegisd.security import load_or_create_token
from aegisd.store.database import StoreOpenError
from aegisd.threads import limit_bulk_threads
from aegisd.workspace import _checked_root

GIL_SWITCH_INTERVAL_S = 0.001  # Python's default is 0.005
#: files and directories the daemon makes are its user's alone (state, socket, logs, caches)
UMASK = 0o077
#: the share of shutdown_timeout_s in-flight requests get to finish
DRAIN_SHARE = 0.6
#: the end of shutdown_timeout_s left for stopping pools and closing the store
STOP_RESERVE_S = 1.0


class ServeError(Exception):
    """Startup refused (another daemon, unusable socket dir, bad root); exit code attached."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


#: Connections the kernel queues before the daemon accepts them. A burst of clients (agent hooks,
#: an editor's workers) past 128 made asyncio clients on the Unix socket believe a connect that
#: the kernel had refused with EAGAIN had succeeded, and fail later with EINVAL.
LISTEN_BACKLOG = 1024


def _socket_is_live(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def bind_unix_socket(path: Path) -> socket.socket:
    """Bind a fresh listening socket 0600, replacing a stale file nobody listens on."""
    if path.exists() or path.is_symlink():
        if _socket_is_live(path):
            raise ServeError(f"another process is listening on {path}")
        logger.info("replacing stale socket {}", path)
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        sock.bind(str(path))
    finally:
        os.umask(old_umask)
    os.chmod(path, 0o600)
    sock.listen(LISTEN_BACKLOG)
    sock.setblocking(False)
    return sock


async def serve(config: DaemonConfig) -> int:
    """Run the daemon until SIGTERM/SIGINT or `daemon.shutdown`; returns the exit code."""
    own = own_paths(config)
    roots = [_checked_root_or_fail(root, own) for root in config.roots]
    # The event loop takes the GIL back at every wake-up; with plugins' threads busy (a first
    # lint pass, clone matching) each take waited up to the default 5 ms, several per request.
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    limit_malloc_arenas()  # before plugins start their threads
    limit_bulk_threads(asyncio.get_running_loop())
    os.umask(UMASK)
    socket_path = config.socket_path
    activated = systemd.listen_sockets()
    locks = _claim_dirs(config, socket_path, activated=bool(activated))
    daemon = Daemon(config)
    stop = asyncio.Event()
    daemon.shutdown_requested = stop
    loop = asyncio.get_running_loop()
    owned_socket = False
    hard_stop = HardStop(
        config.shutdown_timeout_s,
        cleanup=lambda: _remove_socket(socket_path) if owned_socket else None,
    )

    def on_signal(signum: int, frame: object) -> None:
        # A plain handler, not loop.add_signal_handler: it runs even while a plugin keeps the
        # loop busy, and it arms the deadline before anything else can go wrong.
        if hard_stop.armed:
            hard_stop.now()
            return
        hard_stop.arm()
        with contextlib.suppress(RuntimeError):  # the loop is closed: serve is done anyway
            loop.call_soon_threadsafe(stop.set)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    runner: GuardedRunner | None = None
    collector = CollectorPolicy(lambda: (daemon.dispatcher.started, daemon.dispatcher.in_flight))
    loop_watch = LoopWatch(daemon.metrics.registry)
    loop_watch.start(loop)
    sweeps: asyncio.Task[None] | None = None
    budget: asyncio.Task[None] | None = None
    deferred: asyncio.Task[None] | None = None
    try:
        try:
            await daemon.start(defer=True)
        except (StoreOpenError, StartupError) as exc:
            raise ServeError(str(exc)) from None
        token = load_or_create_token(config.data_path) if config.tcp else None
        app = create_app(daemon, token)
        guard = app[CONNECTIONS]
        guard.fit_descriptor_limit()
        runner = GuardedRunner(
            app,
            guard,
            handle_signals=False,
            # The rest of shutdown_timeout_s closes workspaces, plugins and the store.
            shutdown_timeout=config.shutdown_timeout_s * DRAIN_SHARE,
            access_log=None,
            keepalive_timeout=config.transport.keepalive_timeout_s,
        )
        await runner.setup()
        collector.install()
        sweeps = asyncio.create_task(collector.run(), name="gc-idle-sweep")
        budget = asyncio.create_task(daemon.memory.run(workers.worker_owners), name="memory")
        # Listening first: the roots' plugins start loading as they open, and the socket is
        # up sooner without them in the way. Requests wait until the roots are open, so no
        # client sees one missing; their indexing reports `pending` until done.
        if roots:
            daemon.dispatcher.hold()
        sockets = activated or [bind_unix_socket(socket_path)]
        owned_socket = not activated
        for sock in sockets:
            await web.SockSite(runner, sock, backlog=LISTEN_BACKLOG).start()
        if config.tcp:
            host, _, port = config.tcp.rpartition(":")
            await web.TCPSite(runner, host.strip("[]"), int(port), backlog=LISTEN_BACKLOG).start()
            logger.info(
                "also listening on tcp {} (bearer token in {})",
                config.tcp,
                config.data_path / "token",
            )
        try:
            for root in roots:
                # the user named it: a root given to serve is trusted (and remembered so)
                await daemon.workspaces.open(root, trust=True)
        finally:
            daemon.dispatcher.release()
        # The roots answer from here on; the other plugins load behind them.
        deferred = asyncio.create_task(_load_deferred(daemon), name="deferred-plugins")
        logger.info("aegisd {} listening on {} (pid {})", daemon.version, socket_path, os.getpid())
        systemd.notify("READY=1\nSTATUS=serving")
        watchdog = systemd.watchdog_interval()
        if watchdog is not None:
            # Pinged from the event loop itself: a hung loop stops the pings and systemd restarts us.
            ping = asyncio.create_task(_watchdog(watchdog / 2))
        await stop.wait()
        hard_stop.arm()  # also when daemon.shutdown asked
        if watchdog is not None:
            ping.cancel()
        logger.info("shutting down: draining in-flight requests")
        systemd.notify("STOPPING=1")
    finally:
        # Once a stop is asked, every stage waits within what is left of shutdown_timeout_s,
        # less a reserve for closing the store: each one's own limit summed past it (the
        # drain, then each plugin's close hooks), and the hard stop forced the exit.
        ends = hard_stop.deadline - min(STOP_RESERVE_S, config.shutdown_timeout_s / 10)
        if not hard_stop.armed:  # serving failed: no stop was asked, nothing to hurry
            ends = time.monotonic() + config.shutdown_timeout_s
        if deferred is not None:
            # Finished, not cancelled: requests in flight may be waiting for these plugins.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(deferred, max(0.0, ends - time.monotonic()))
        for task in (sweeps, budget):
            if task is not None:
                task.cancel()
        loop_watch.stop()
        collector.uninstall()
        if runner is not None:
            await runner.cleanup()
        with contextlib.suppress(Exception):
            await daemon.stop(deadline=ends)
        if owned_socket:
            _remove_socket(socket_path)
        for lock in locks:
            lock.close()
    return 0


def _claim_dirs(config: DaemonConfig, socket_path: Path, activated: bool) -> list[IO[str]]:
    """Prepare the socket dir (unless systemd passed the socket) and the state dir, and lock
    both for this daemon: one daemon per socket, and one per state dir whatever its socket."""
    locks: list[IO[str]] = []
    try:
        if not activated:
            prepare_socket_dir(socket_path)
            lock_path = socket_path.with_name(socket_path.name + ".lock")
            locks.append(hold_lock(lock_path, f"on {socket_path}"))
        created = make_private_dirs(config.data_path)
        state_lock = config.data_path / LOCK_FILE
        locks.append(hold_lock(state_lock, f"with the state directory {config.data_path}"))
        if config.data_path not in created:  # only once it is ours: another daemon's stay
            tighten_state_dir(config.data_path)
    except (DirError, OSError) as exc:
        for lock in locks:
            lock.close()
        raise ServeError(str(exc)) from None
    return locks


def _remove_socket(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


async def _load_deferred(daemon: Daemon) -> None:
    try:
        await daemon.load_deferred()
    except Exception as exc:  # the early plugins keep serving; the log says what is missing
        logger.opt(exception=exc).error("loading the deferred plugins failed")


async def _watchdog(every_s: float) -> None:
    while True:
        systemd.notify("WATCHDOG=1")
        await asyncio.sleep(every_s)


def _checked_root_or_fail(root: Path, own: OwnPaths) -> Path:
    from aegisd.rpc.errors import InvalidPath

    try:
        real = _checked_root(root)
    except InvalidPath as exc:
        raise ServeError(f"--root {root}: {exc.message}", exit_code=2) from None
    refusal = own.refusal(real)
    if refusal is not None:
        raise ServeError(f"--root {root}: cannot be a workspace: {refusal}", exit_code=2)
    return real
