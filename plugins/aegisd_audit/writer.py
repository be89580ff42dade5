"""Group commit: concurrent writes share one transaction, each answered once it is committed.

Every write is a function of the database run on the DB thread. While one batch commits, the
writes arriving meanwhile queue up and go together in the next one, so the rate of commits
adapts to the load and an answer never comes before its data is on disk (WAL, committed).
Writes run in arrival order, so ids grow in the order the writes were made.

A write's own error (NotFound, Conflict, a constraint) undoes only that write. The database
failing (busy, full, corrupted...) fails the whole batch inside `Store.run`, whose policy
retries it when busy, bounded by its timeout and breaker, like every other store write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import peewee

from aegisd.rpc.errors import Unavailable
from aegisd.store.database import Store
from aegisd.store.faults import database_failed

T = TypeVar("T")
MAX_BATCH = 256


@dataclass(frozen=True)
class _Write:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    future: asyncio.Future[Any]


class GroupWriter:
    """Runs writes in batches, one transaction each, on the store's DB thread."""

    def __init__(self, store: Store, max_batch: int = MAX_BATCH) -> None:
        self.store = store
        self.max_batch = max_batch
        self.batches = 0
        self.writes = 0
        self._queue: asyncio.Queue[_Write | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="audit-writer")

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(db, *args)`'s result, once the transaction that ran it is committed. What `fn`
        raises is raised here, and undoes only `fn`'s own changes (a savepoint)."""
        if self._closing or self._task is None:
            raise Unavailable("the audit trail is stopping")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Write(fn, args, future))
        return await future

    async def close(self) -> None:
        """Commit what is queued, then stop."""
        self._closing = True
        if self._task is not None:
            self._queue.put_nowait(None)
            await self._task

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch and not self._queue.empty():
                more = self._queue.get_nowait()
                if more is None:
                    stopping = True
                    break
                batch.append(more)
            try:
                outcomes = await self.store.run(_apply, self.store.db, batch)
            except Exception as exc:  # the commit itself failed: nothing of the batch is stored
                outcomes = [(False, exc)] * len(batch)
            self.batches += 1
            self.writes += len(batch)
            for write, (ok, value) in zip(batch, outcomes, strict=True):
                if write.future.done():  # the caller went away; the write stands
                    continue
                if ok:
                    write.future.set_result(value)
                else:
                    write.future.set_exception(value)


def _apply(db: peewee.SqliteDatabase, batch: list[_Write]) -> list[tuple[bool, Any]]:
    if len(batch) == 1:  # alone, the transaction itself undoes a failing write
        try:
            with db.atomic():
                return [(True, batch[0].fn(db, *batch[0].args))]
        except Exception as exc:
            if database_failed(exc):
                raise
            return [(False, exc)]
    outcomes: list[tuple[bool, Any]] = []
    with db.atomic():
        for write in batch:
            try:
                with db.atomic():  # a savepoint: a failing write undoes only itself
                    outcomes.append((True, write.fn(db, *write.args)))
            except Exception as exc:
                if database_failed(exc):
                    raise  # the whole batch rolls back, and Store.run decides
                outcomes.append((False, exc))
    return outcomes
