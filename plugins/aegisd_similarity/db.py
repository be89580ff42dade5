"""Where a clone index reads and writes: read-only connections of its own, one per thread, and
one writer that runs a function in a transaction.

In the daemon the writer is the store's DB thread (`StoreWriter`): the one writer SQLite has,
reached from the index's worker thread; reads never queue behind other plugins' writes (WAL).
`LocalWriter` is a connection of its own, for tests, benches and the pool's workers.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from aegisd_similarity.store import MIGRATIONS

if TYPE_CHECKING:
    from aegisd.store.database import Store

T = TypeVar("T")
#: SQLite's cache of a reader's temporary tables: a whole report's seeding postings fit in it
#: for a few thousand files; beyond, they spill to a temporary file (memory stays bounded).
#: Pages of the database itself are not worth caching per reader: in WAL mode a reader's
#: cache is dropped whenever a write commits. No mmap either: mapped pages would count in the
#: process's PSS, which the memory budget measures.
TEMP_CACHE_KIB = 16384
Job = Callable[[sqlite3.Connection], T]


class Writer(Protocol):
    def __call__(self, job: Job[T]) -> T: ...


def read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot write the database (`mode=ro`); it may make temporary tables
    (`seeds.SharedPostings`). Autocommit: writing those opens no transaction that would hold
    on to a snapshot of the database."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
    conn.execute(f"PRAGMA temp.cache_size = -{TEMP_CACHE_KIB}")
    return conn


class IndexDb:
    """The database file of a clone index: `read()` gives this thread's read-only connection,
    `write(job)` runs `job(conn)` in a transaction on the writer.

    Reads run inside `reading()` (the index's entry points): `close()` closes at once only
    the connections no thread is inside; the others close when their thread leaves. Closing a
    connection while another thread is in the middle of a query on it crashes the process.
    """

    def __init__(self, path: Path, writer: Writer) -> None:
        self.path, self._writer = path, writer
        self._conns: dict[int, sqlite3.Connection] = {}  # by thread
        self._depth: dict[int, int] = {}  # threads inside `reading()`, how deep
        self._lock = threading.Lock()
        self._closed = False

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, not closed under it until the block ends."""
        me = threading.get_ident()
        with self._lock:
            conn = self._connection(me)
            self._depth[me] = self._depth.get(me, 0) + 1
        try:
            yield conn
        finally:
            with self._lock:
                depth = self._depth.pop(me) - 1
                if depth:
                    self._depth[me] = depth
                elif self._closed:
                    self._conns.pop(me, None)
                    conn.close()

    def read(self) -> sqlite3.Connection:
        with self._lock:
            return self._connection(threading.get_ident())

    def _connection(self, thread: int) -> sqlite3.Connection:
        if self._closed:
            raise sqlite3.ProgrammingError("the clone index is closed")
        conn = self._conns.get(thread)
        if conn is None:
            conn = self._conns[thread] = read_only(self.path)
        return conn

    def write(self, job: Job[T]) -> T:
        return self._writer(job)

    def close(self) -> None:
        """Close every reader no thread is reading with; the rest as their reads end."""
        with self._lock:
            self._closed = True
            idle = [t for t in self._conns if t not in self._depth]
            closing = [self._conns.pop(t) for t in idle]
        for conn in closing:
            conn.close()


class StoreWriter:
    """Jobs run on the daemon's DB thread (retries, timeout and breaker of `Store.run`), from
    a worker thread: never call it on the event loop."""

    def __init__(self, store: Store, loop: asyncio.AbstractEventLoop) -> None:
        self.store, self.loop = store, loop

    def __call__(self, job: Job[T]) -> T:
        future = asyncio.run_coroutine_threadsafe(self.store.run(self._atomic, job), self.loop)
        return future.result()

    def _atomic(self, job: Job[T]) -> T:
        with self.store.db.atomic():
            return job(self.store.db.connection())


class LocalWriter:
    """A connection of its own (thread-safe through a lock), the tables made on first use."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode = wal")
        self._conn.execute("PRAGMA synchronous = normal")
        self._lock = threading.Lock()
        tables = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master")}
        if "similarity_doc" not in tables:
            for migration in MIGRATIONS:
                assert not callable(migration.apply)  # plain SQL, every one of them
                for sql in migration.apply:
                    self._conn.execute(sql)

    def __call__(self, job: Job[T]) -> T:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                out = job(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            return out

    def close(self) -> None:
        self._conn.close()  # closing twice is allowed


def local_db(path: Path) -> tuple[IndexDb, Callable[[], None]]:
    """An index database at `path` with a writer of its own, and what closes both."""
    writer = LocalWriter(path)
    db = IndexDb(path, writer)

    def close() -> None:
        db.close()
        writer.close()

    return db, close


def query(path: Path, fn: Callable[[sqlite3.Connection], T]) -> T:
    """`fn` on a short-lived read-only connection (a worker process's reads)."""
    with closing(read_only(path)) as conn:
        return fn(conn)


__all__ = ["IndexDb", "LocalWriter", "StoreWriter", "Writer", "local_db", "query", "read_only"]
