"""The store: peewee + SQLite (WAL) with every query run on one dedicated DB thread.

SQLite has one writer, so one thread owns the connection; the event loop only awaits futures.
The database is initialised late (`SqliteDatabase(None)` then `init`) as the peewee docs advise,
and models contributed by plugins are bound to it when the store opens.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import peewee
from loguru import logger

from aegisd.breaker import CircuitBreaker
from aegisd.dirs import make_private_dirs
from aegisd.rpc.errors import Timeout as RpcTimeout
from aegisd.rpc.errors import Unavailable
from aegisd.store.faults import Fault, FileIdentity, StoreFault, classify, file_gone, is_busy

P = ParamSpec("P")
T = TypeVar("T")

PRAGMAS: dict[str, Any] = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    # SQLite's own wait for a lock; the store retries with backoff on top (StorePolicy).
    "busy_timeout": 1000,
    # NORMAL in WAL mode: a committed transaction survives a crash or kill -9 of the daemon.
    "synchronous": "normal",
    "cache_size": -4000,
}


@dataclass(frozen=True)
class StorePolicy:
    """Retries, timeout and breaker of store operations (config section [store])."""

    retries: int = 4
    backoff_ms: float = 50.0
    timeout_s: float = 15.0
    breaker_failures: int = 5
    breaker_cooldown_s: float = 5.0

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter, in seconds."""
        return float(random.uniform(0.5, 1.0) * self.backoff_ms * (2**attempt) / 1000)


class StoreOpenError(Exception):
    """The database file cannot be used; the daemon stops with this message, file untouched."""


class Store:
    """The database and the single thread that runs every query on it."""

    def __init__(
        self, path: Path, pragmas: dict[str, Any] | None = None, policy: StorePolicy | None = None
    ) -> None:
        self.path = path
        # Transactions take the write lock as they begin: one that read first and then wrote
        # would have to upgrade its lock, and SQLite answers that at once with SQLITE_BUSY
        # instead of waiting `busy_timeout` when another process writes.
        self.db = peewee.SqliteDatabase(None, lock_type="IMMEDIATE")
        self._pragmas = {**PRAGMAS, **(pragmas or {})}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aegisd-db")
        self._urgent: deque[tuple[Callable[[], Any], Future[Any]]] = deque()
        self._normal: deque[tuple[Callable[[], Any], Future[Any]]] = deque()
        self._thread_ident: int | None = None
        self._raw: sqlite3.Connection | None = None
        self.policy = policy or StorePolicy()
        self.breaker = CircuitBreaker(
            "the store", self.policy.breaker_failures, self.policy.breaker_cooldown_s
        )
        self.queries = 0
        self.retries = 0
        self.failures = 0
        #: the last database failure (disk full, corrupted, file gone...) until a write
        #: succeeds again; a sticky one stands until the daemon restarts
        self.fault: Fault | None = None
        self._identity: FileIdentity | None = None
        self.on_retry: Callable[[], None] | None = None
        self.on_failure: Callable[[], None] | None = None
        self.on_fault: Callable[[str], None] | None = None
        self.on_latency: Callable[[float], None] | None = None

    async def open(self, models: Iterable[type[peewee.Model]] = ()) -> None:
        """Open (creating if needed) the database file and bind `models` to it."""
        await self.run(self._open_sync, list(models))

    async def bind(self, models: Iterable[type[peewee.Model]]) -> None:
        """Bind the models of plugins loaded after `open`."""
        models = list(models)
        if models:
            await self.run(self.db.bind, models)

    def _open_sync(self, models: list[type[peewee.Model]]) -> None:
        self._thread_ident = threading.get_ident()
        _check_usable(self.path)
        _create_private(self.path)
        self.db.init(str(self.path), pragmas=self._pragmas, check_same_thread=False)
        try:
            self.db.connect()
            # Reading the schema is what fails on a file that is not an SQLite database.
            self.db.execute_sql("SELECT count(*) FROM sqlite_master").fetchone()
            self._raw = self.db.connection()
            self._identity = FileIdentity.of(self.path)
        except (peewee.DatabaseError, sqlite3.DatabaseError) as exc:
            self._close_quietly()
            raise StoreOpenError(
                f"cannot open the database {self.path}: {exc} "
                "(the file was left untouched; move it away to start with a fresh one)"
            ) from None
        if models:
            self.db.bind(models)
        logger.debug("store open at {}", self.path)

    def _close_quietly(self) -> None:
        try:
            if not self.db.is_closed():
                self.db.close()
        except peewee.PeeweeException:
            pass

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `fn(*args, **kwargs)` on the DB thread and await its result.

        A busy database is retried with exponential backoff and jitter (bounded); an operation
        over `timeout_s` is interrupted and reported as TIMEOUT; sustained failures open the
        breaker, which answers UNAVAILABLE with `retry_after_ms` until a probe succeeds. A
        failure always reaches the caller: nothing is dropped silently.
        """
        return await self._run(partial(fn, *args, **kwargs), urgent=False)

    async def urgent(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Like `run`, but ahead of every queued `run`: for small writes someone waits on
        (a file change's clock, one edited file's symbols), not for bulk work. It still waits
        for the operation already running, so bulk writers keep each call short."""
        return await self._run(partial(fn, *args, **kwargs), urgent=True)

    async def _run(self, call: Callable[[], T], urgent: bool) -> T:
        if self.fault is not None and self.fault.sticky:
            raise _refusal(self.fault)
        self.breaker.before_call()
        for attempt in range(self.policy.retries + 1):
            self.queries += 1
            started = time.perf_counter()
            try:
                result = await self._attempt(call, urgent)
            except TimeoutError:
                self._failed()
                raise RpcTimeout(
                    f"a store operation took longer than {self.policy.timeout_s} s"
                ) from None
            except Exception as exc:
                if is_busy(exc):
                    if attempt < self.policy.retries:
                        self.retries += 1
                        if self.on_retry is not None:
                            self.on_retry()
                        await asyncio.sleep(self.policy.backoff(attempt))
                        continue
                    self._failed()
                    raise Unavailable(
                        "the database is busy (locked by another writer); try again",
                        retry_after_ms=int(self.policy.backoff(attempt) * 1000) + 1,
                    ) from exc
                fault = classify(exc, self.path)
                if fault is not None:
                    raise self._faulted(fault) from None
                if isinstance(exc, peewee.OperationalError | sqlite3.OperationalError):
                    self._failed()
                else:  # the caller's own error (NotFound, a constraint...): no verdict
                    self.breaker.release()
                raise
            except BaseException:
                self.breaker.release()
                raise
            finally:
                if self.on_latency is not None:
                    self.on_latency(time.perf_counter() - started)
            self.breaker.record_success()
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def _failed(self) -> None:
        self.breaker.record_failure()
        self.failures += 1
        if self.on_failure is not None:
            self.on_failure()

    def _faulted(self, fault: Fault) -> Unavailable:
        """Record a database failure: counted, logged once, the breaker opened at once."""
        if self.fault != fault and not (self.fault is not None and self.fault.sticky):
            logger.error("store: {}", fault.message)
            self.fault = fault
        self.failures += 1
        if self.on_failure is not None:
            self.on_failure()
        if self.on_fault is not None:
            self.on_fault(fault.kind)
        self.breaker.trip()
        return _refusal(self.fault or fault, self.breaker.cooldown_s)

    async def _attempt(self, call: Callable[[], T], urgent: bool) -> T:
        queued: Future[T] = Future()
        (self._urgent if urgent else self._normal).append((call, queued))
        # One token per queued call: the DB thread takes the oldest urgent call first.
        self._executor.submit(self._run_next)
        future = asyncio.wrap_future(queued)
        try:
            # asyncio.timeout, not wait_for: Python 3.11's wait_for swallows a cancellation
            # that arrives as the operation completes, and the cancelled task then runs on.
            async with asyncio.timeout(self.policy.timeout_s):
                return await asyncio.shield(future)
        except TimeoutError:
            if queued.cancel():
                raise  # still waiting its turn: dropped, and nobody else's statement aborted
            # Abort the statement running on the DB thread, then let it unwind.
            if self._raw is not None:
                self._raw.interrupt()
            with contextlib.suppress(Exception):
                await future
            raise

    def _run_next(self) -> None:
        # Only this thread pops, and each token has its call: a lane is never empty here.
        call, future = self._urgent.popleft() if self._urgent else self._normal.popleft()
        if not future.set_running_or_notify_cancel():
            return
        try:
            if self.fault is not None and self.fault.sticky:
                raise StoreFault(self.fault)  # queued before the fault: refused as well
            result = self._call_checked(call)
        except BaseException as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)

    def _call_checked(self, call: Callable[[], T]) -> T:
        """Run `call`; when it wrote, make sure the file it wrote to is still the database
        file (a write into a deleted file is acknowledged by SQLite, then lost for good)."""
        raw = self._raw
        if raw is None:
            return call()
        changes = raw.total_changes
        result = call()
        if raw.total_changes != changes:
            if self._identity is not None and not self._identity.still_there():
                raise StoreFault(file_gone(self.path))
            if self.fault is not None:  # a write went through: the transient fault is over
                self.fault = None
        return result

    @property
    def breaker_open(self) -> bool:
        return self.breaker.state != "closed" or (self.fault is not None and self.fault.sticky)

    @property
    def degraded(self) -> bool:
        return self.fault is not None or self.breaker_open

    def degraded_reasons(self) -> list[str]:
        """Why the store is degraded, for `daemon.health` (empty when it is not)."""
        if self.fault is not None:
            return [f"store: {self.fault.message}"]
        if self.breaker_open:
            return [f"store circuit breaker open after {self.breaker.failures} failures"]
        return []

    async def atomic(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `fn` on the DB thread inside one transaction."""
        return await self.run(self._in_transaction, partial(fn, *args, **kwargs))

    def _in_transaction(self, fn: Callable[[], T]) -> T:
        with self.db.atomic():
            return fn()

    def on_db_thread(self) -> bool:
        return threading.get_ident() == self._thread_ident

    async def close(self) -> None:
        """Close the connection and stop the DB thread (after queued work finishes)."""
        # Not through run(): closing must work even while the breaker is open.
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close_quietly)
        self._executor.shutdown(wait=True)


def _refusal(fault: Fault, retry_after_s: float | None = None) -> Unavailable:
    if fault.sticky or retry_after_s is None:
        return Unavailable(fault.message, fault=fault.kind)
    return Unavailable(fault.message, fault=fault.kind, retry_after_ms=int(retry_after_s * 1000))


def _create_private(path: Path) -> None:
    """Create the directory (0700) and an empty database file (0600) when missing, whatever
    the umask: SQLite would create the file 0644, and its -wal and -shm take the file's mode."""
    make_private_dirs(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _check_usable(path: Path) -> None:
    if path.exists():
        if not path.is_file():
            raise StoreOpenError(f"cannot open the database {path}: not a regular file")
        try:
            with path.open("rb") as fh:
                fh.read(16)
        except OSError as exc:
            raise StoreOpenError(f"cannot read the database {path}: {exc.strerror}") from None
