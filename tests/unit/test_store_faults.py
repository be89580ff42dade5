"""The store's one policy for database failures: classified, answered UNAVAILABLE, counted,
the breaker opened; sticky when the database will not heal (corrupted, its file gone)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import peewee
import pytest

from aegisd.breaker import CircuitBreaker
from aegisd.daemon import Daemon
from aegisd.rpc.errors import Conflict, NotFound, Unavailable
from aegisd.store.database import Store, StorePolicy
from aegisd.store.faults import classify, database_failed, is_busy
from tests.conftest import make_config


def insert(store: Store, text: str) -> None:
    store.db.execute_sql("INSERT INTO t VALUES (?)", (text,))


async def new_store(path: Path, **policy: float) -> Store:
    store = Store(path, policy=StorePolicy(**policy))  # type: ignore[arg-type]
    await store.open()
    await store.run(store.db.execute_sql, "CREATE TABLE t (x TEXT)")
    return store


def full_error() -> peewee.OperationalError:
    """What peewee raises when SQLite answers SQLITE_FULL, as a real database produces it."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (x)")
    db.execute("PRAGMA max_page_count = 2")
    try:
        db.execute("INSERT INTO t VALUES (?)", ("x" * 100_000,))
    except sqlite3.OperationalError as exc:
        wrapped = peewee.OperationalError(exc, *exc.args)
        wrapped.__context__ = exc
        return wrapped
    finally:
        db.close()
    raise AssertionError("the insert fitted")


def test_errors_are_classified_by_sqlite_code_through_peewee_and_rollbacks(tmp_path: Path) -> None:
    full = full_error()
    fault = classify(full, tmp_path / "a.db")
    assert fault is not None and fault.kind == "disk_full" and not fault.sticky
    assert database_failed(full) and not is_busy(full)
    # SQLite rolled back by itself; peewee's own ROLLBACK then fails and hides the cause.
    try:
        try:
            raise full
        except peewee.OperationalError:
            raise peewee.OperationalError("cannot rollback - no transaction is active") from None
    except peewee.OperationalError as hidden:
        assert classify(hidden, tmp_path / "a.db") is None  # `from None`: not its cause
    try:
        try:
            raise full
        except peewee.OperationalError:
            raise peewee.OperationalError("cannot rollback - no transaction is active")  # noqa: B904
    except peewee.OperationalError as chained:
        fault = classify(chained, tmp_path / "a.db")
        assert fault is not None and fault.kind == "disk_full"
    statement = sqlite3.connect(":memory:")
    try:
        statement.execute("SELECT * FROM missing")
    except sqlite3.OperationalError as exc:
        assert classify(exc, tmp_path) is None and not database_failed(exc)
    finally:
        statement.close()
    assert not database_failed(NotFound("no run 9")) and not database_failed(ValueError("x"))
    assert not is_busy(Conflict("run 3 is busy: it takes no more events"))  # a status label


def test_a_tripped_breaker_opens_at_once() -> None:
    now = [0.0]
    breaker = CircuitBreaker("x", failure_threshold=5, cooldown_s=2, clock=lambda: now[0])
    breaker.trip()
    assert breaker.state == "open"
    with pytest.raises(Unavailable) as info:
        breaker.before_call()
    assert info.value.details["retry_after_ms"] == 2000
    now[0] = 2.5
    assert breaker.state == "half_open"
    breaker.before_call()
    breaker.record_success()
    assert breaker.state == "closed"


async def test_a_full_database_is_unavailable_counted_and_heals(tmp_path: Path) -> None:
    store = await new_store(tmp_path / "a.db", breaker_cooldown_s=0)
    kinds: list[str] = []
    store.on_fault = kinds.append
    pages = await store.run(lambda: store.db.execute_sql("PRAGMA page_count").fetchone()[0])
    await store.run(store.db.execute_sql, f"PRAGMA max_page_count = {pages}")
    with pytest.raises(Unavailable, match="is full") as info:
        for _ in range(100):
            await store.atomic(insert, store, "x" * 10_000)
    assert info.value.details["fault"] == "disk_full" and kinds == ["disk_full"]
    assert store.degraded and "is full" in store.degraded_reasons()[0]
    count = await store.run(lambda: store.db.execute_sql("SELECT count(*) FROM t").fetchone()[0])
    assert store.fault is not None  # a read proves nothing about space
    await store.run(store.db.execute_sql, "PRAGMA max_page_count = 100000")
    await store.atomic(insert, store, "again")  # space is back: a write clears the fault
    assert store.fault is None and not store.degraded
    after = await store.run(lambda: store.db.execute_sql("SELECT count(*) FROM t").fetchone()[0])
    assert after == count + 1
    await store.close()


async def test_a_deleted_database_file_refuses_every_later_operation(tmp_path: Path) -> None:
    store = await new_store(tmp_path / "a.db")
    await store.atomic(insert, store, "before")
    assert await store.run(lambda: 1) == 1  # reads do not look at the file
    (tmp_path / "a.db").unlink()
    with pytest.raises(Unavailable, match="deleted or replaced") as info:
        await store.atomic(insert, store, "lost")
    assert info.value.details["fault"] == "file_gone"
    with pytest.raises(Unavailable, match="deleted or replaced"):
        await store.run(lambda: 1)  # sticky: until a restart
    assert store.breaker_open and store.degraded
    await store.close()


async def test_a_replaced_database_file_is_noticed_too(tmp_path: Path) -> None:
    store = await new_store(tmp_path / "a.db")
    (tmp_path / "a.db").rename(tmp_path / "moved.db")
    (tmp_path / "a.db").write_bytes(b"")
    with pytest.raises(Unavailable, match="deleted or replaced"):
        await store.atomic(insert, store, "lost")
    await store.close()


async def test_the_daemon_counts_faults_and_reports_them_in_health(tmp_path: Path) -> None:
    daemon = Daemon(make_config(tmp_path))
    await daemon.start()
    try:
        project = tmp_path / "project"
        project.mkdir()
        ws, _ = await daemon.workspaces.open(project)
        daemon.store.path.unlink()
        with pytest.raises(Unavailable):
            await daemon.settings.update(ws.id, {"include_docstrings": False})
        health = daemon.health()
        assert health["status"] == "degraded"
        assert any("deleted or replaced" in r for r in health["reasons"])
        exposition = daemon.metrics.exposition().decode()
        # at least this write; a plugin's background write refused meanwhile counts as well
        [counted] = [
            float(line.rsplit(" ", 1)[1])
            for line in exposition.splitlines()
            if line.startswith('aegisd_store_faults_total{kind="file_gone"}')
        ]
        assert counted >= 1
    finally:
        await daemon.stop()


async def test_a_foreign_lock_held_briefly_is_waited_out_by_a_read_then_write(
    tmp_path: Path,
) -> None:
    """A transaction that reads then writes used to upgrade its lock and get SQLITE_BUSY at
    once; transactions now take the write lock as they begin, waiting like any write."""
    store = await new_store(tmp_path / "a.db")

    def read_then_write() -> None:
        with store.db.atomic():
            store.db.execute_sql("SELECT count(*) FROM t").fetchone()
            insert(store, "after the lock")

    holder = sqlite3.connect(tmp_path / "a.db", isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(1.5, holder.execute, ("COMMIT",))
    release.start()
    try:
        await store.run(read_then_write)
    finally:
        release.join()
        holder.close()
    rows = await store.run(lambda: store.db.execute_sql("SELECT x FROM t").fetchall())
    assert rows == [("after the lock",)]
    await store.close()
