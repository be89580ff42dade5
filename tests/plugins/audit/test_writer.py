import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import peewee
import pytest
import pytest_asyncio
from aegisd_audit import store
from aegisd_audit.writer import GroupWriter

from aegisd.rpc.errors import Conflict, NotFound, Unavailable
from aegisd.store.database import Store, StorePolicy
from aegisd.store.migrations import run_migrations


@pytest_asyncio.fixture
async def writer(tmp_path: Path) -> AsyncIterator[GroupWriter]:
    db_store = Store(tmp_path / "a.db")
    await db_store.open()
    await db_store.run(run_migrations, db_store.db, store.MIGRATIONS)
    group = GroupWriter(db_store)
    group.start()
    yield group
    await group.close()
    await db_store.close()


def new_run() -> store.NewRun:
    return store.NewRun("r", "agent", None, None, None, None, True)


def note(title: str) -> store.NewEvent:
    return store.NewEvent("note", title, None, "agent", None, "ok", None, None, False)


def visible_elsewhere(path: Path, event_id: int) -> bool:
    """Whether another connection sees the event: the transaction that wrote it committed."""
    with closing(sqlite3.connect(path)) as other:
        row = other.execute("SELECT 1 FROM audit_event WHERE id = ?", (event_id,)).fetchone()
    return row is not None


async def test_concurrent_writes_share_transactions_in_order(
    writer: GroupWriter, tmp_path: Path
) -> None:
    run, _ = await writer.write(store.start_run, new_run())

    async def log(n: int) -> int:
        stored, _ = await writer.write(store.insert_event, run["id"], note(f"e{n}"))
        assert visible_elsewhere(tmp_path / "a.db", stored["id"])  # answered after the commit
        return int(stored["id"])

    ids = await asyncio.gather(*(log(n) for n in range(300)))
    assert ids == sorted(ids) and len(set(ids)) == 300  # ids follow the order of the writes
    assert writer.writes == 301
    assert writer.batches < 100  # grouped: far fewer commits than writes
    titles = await writer.store.run(store.list_events, writer.store.db, run["id"], None, None, 1000)
    assert [e["title"] for e in titles] == [f"e{n}" for n in range(300)]


async def test_a_failing_write_undoes_only_itself(writer: GroupWriter) -> None:
    run, _ = await writer.write(store.start_run, new_run())

    def half_then_fail(db: peewee.SqliteDatabase) -> None:
        store.insert_event(db, run["id"], note("half"))
        raise ValueError("boom")

    outcomes = await asyncio.gather(
        writer.write(store.insert_event, run["id"], note("before")),
        writer.write(half_then_fail),
        writer.write(store.insert_event, 999, note("unknown run")),
        writer.write(store.insert_event, run["id"], note("after")),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], ValueError) and isinstance(outcomes[2], NotFound)
    rows = await writer.store.run(store.list_events, writer.store.db, run["id"], None, None, 10)
    assert [e["title"] for e in rows] == ["before", "after"]
    assert (await writer.store.run(store.get_run, writer.store.db, run["id"]))["event_count"] == 2
    await writer.write(store.end_run, run["id"], "closed", None)
    with pytest.raises(Conflict):
        await writer.write(store.insert_event, run["id"], note("late"))


async def test_close_commits_what_is_queued_then_refuses(writer: GroupWriter) -> None:
    run, _ = await writer.write(store.start_run, new_run())
    pending = [
        asyncio.ensure_future(writer.write(store.insert_event, run["id"], note(str(n))))
        for n in range(20)
    ]
    await asyncio.sleep(0)  # the writes are queued
    await writer.close()
    assert len(await asyncio.gather(*pending)) == 20
    with pytest.raises(Unavailable):
        await writer.write(store.insert_event, run["id"], note("after close"))


async def test_a_busy_database_retries_the_whole_batch_through_the_store(
    writer: GroupWriter, tmp_path: Path
) -> None:
    """A foreign write lock used to fail each write of a batch at once (INTERNAL_ERROR); the
    batch now goes back to the store's policy, which waits and retries it."""
    run, _ = await writer.write(store.start_run, new_run())
    holder = sqlite3.connect(tmp_path / "a.db", isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(1.5, holder.execute, ("COMMIT",))
    release.start()
    try:
        stored = await asyncio.gather(
            *(writer.write(store.insert_event, run["id"], note(f"e{n}")) for n in range(20))
        )
    finally:
        release.join()
        holder.close()
    assert len(stored) == 20 and writer.store.retries > 0
    rows = await writer.store.run(store.list_events, writer.store.db, run["id"], None, None, 100)
    assert [e["title"] for e in rows] == [f"e{n}" for n in range(20)]


async def test_a_full_database_refuses_the_whole_batch_and_keeps_none_of_it(
    tmp_path: Path,
) -> None:
    db_store = Store(tmp_path / "full.db", policy=StorePolicy(breaker_cooldown_s=0))
    await db_store.open()
    await db_store.run(run_migrations, db_store.db, store.MIGRATIONS)
    writer = GroupWriter(db_store)
    writer.start()
    run, _ = await writer.write(store.start_run, new_run())
    db = db_store.db
    pages = await db_store.run(lambda: db.execute_sql("PRAGMA page_count").fetchone()[0])
    await db_store.run(db.execute_sql, f"PRAGMA max_page_count = {pages}")
    big = store.NewEvent("note", "big", "x" * 50_000, "agent", None, "ok", None, None, False)
    outcomes = await asyncio.gather(
        writer.write(store.insert_event, run["id"], note("small")),
        writer.write(store.insert_event, run["id"], big),
        return_exceptions=True,
    )
    assert all(isinstance(o, Unavailable) and "full" in str(o) for o in outcomes), outcomes
    rows = await db_store.run(store.list_events, db, run["id"], None, None, 100)
    assert rows == []  # refused means absent
    await writer.close()
    await db_store.close()
