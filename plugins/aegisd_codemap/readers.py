"""Read-only connections to the daemon's database, for reads off the DB thread.

Searches and per-file reads run in request threads while the DB thread writes (WAL: readers
see the last committed state and never wait for the writer). A connection is borrowed for one
read (one snapshot: a read transaction) and given back; at most `MAX_IDLE` are kept open, and `close` ends them all.

Blocking I/O: use from a thread.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aegisd_codemap.schema import NAME_FTS

MAX_IDLE = 4


class Readers:
    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        self._fts: bool | None = None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(f"{self.db_path.as_uri()}?mode=ro", uri=True, check_same_thread=False)
        if self._fts is None:
            found = db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (NAME_FTS,)).fetchone()
            self._fts = found is not None
        return db

    @property
    def fts(self) -> bool:
        """Whether the names' trigram index exists (checked on the first connection)."""
        if self._fts is None:
            with self.borrow():
                pass
        return bool(self._fts)

    @contextmanager
    def borrow(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = self._idle.pop() if self._idle else None
        if db is None:
            db = self._connect()
        try:
            db.execute("BEGIN")  # every read of one borrowing sees one snapshot
            try:
                yield db
            finally:
                db.execute("COMMIT")
        finally:
            with self._lock:
                keep = not self._closed and len(self._idle) < MAX_IDLE
                if keep:
                    self._idle.append(db)
            if not keep:
                db.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for db in idle:
            db.close()
