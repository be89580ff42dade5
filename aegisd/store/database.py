"""The store: peewee + SQLite (WAL) with every query run on one dedicated DB thread.

SQLite has one writer, so one thread owns the connection; the event loop only awaits futures.
The database is initialised late (`SqliteDatabase(None)` then `init`) as the peewee docs advise,
and models contributed by plugins are bound to it when the store opens.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import peewee
from loguru import logger

P = ParamSpec("P")
T = TypeVar("T")

PRAGMAS: dict[str, Any] = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 5000,
    # NORMAL in WAL mode: a committed transaction survives a crash or kill -9 of the daemon.
    "synchronous": "normal",
    "cache_size": -16000,
}


class StoreOpenError(Exception):
    """The database file cannot be used; the daemon stops with this message, file untouched."""


class Store:
    """The database and the single thread that runs every query on it."""

    def __init__(self, path: Path, pragmas: dict[str, Any] | None = None) -> None:
        self.path = path
        self.db = peewee.SqliteDatabase(None)
        self._pragmas = {**PRAGMAS, **(pragmas or {})}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aegisd-db")
        self._thread_ident: int | None = None
        self.queries = 0

    async def open(self, models: Iterable[type[peewee.Model]] = ()) -> None:
        """Open (creating if needed) the database file and bind `models` to it."""
        await self.run(self._open_sync, list(models))

    def _open_sync(self, models: list[type[peewee.Model]]) -> None:
        self._thread_ident = threading.get_ident()
        _check_usable(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db.init(str(self.path), pragmas=self._pragmas, check_same_thread=False)
        try:
            self.db.connect()
            # Reading the schema is what fails on a file that is not an SQLite database.
            self.db.execute_sql("SELECT count(*) FROM sqlite_master").fetchone()
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
        """Run `fn(*args, **kwargs)` on the DB thread and await its result."""
        loop = asyncio.get_running_loop()
        self.queries += 1
        return await loop.run_in_executor(self._executor, partial(fn, *args, **kwargs))

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
        if self._executor is None:
            return
        await self.run(self._close_quietly)
        self._executor.shutdown(wait=True)


def _check_usable(path: Path) -> None:
    if path.exists():
        if not path.is_file():
            raise StoreOpenError(f"cannot open the database {path}: not a regular file")
        try:
            with path.open("rb") as fh:
                fh.read(16)
        except OSError as exc:
            raise StoreOpenError(f"cannot read the database {path}: {exc.strerror}") from None
