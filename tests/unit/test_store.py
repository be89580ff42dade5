"""Store: migrations upgrade an older database in place; corrupt files are refused untouched."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import peewee
import pytest

from aegisd.daemon import Daemon
from aegisd.store.database import Store, StoreOpenError
from aegisd.store.migrations import Migration, run_migrations
from tests.conftest import REPO, make_config

V1_DB = REPO / "tests" / "fixtures" / "core" / "aegisd-v1.db"


async def test_database_from_schema_v1_upgrades_in_place(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    config.data_path.mkdir(parents=True)
    shutil.copy(V1_DB, config.db_path)
    daemon = Daemon(config)
    await daemon.start()
    try:
        settings = await daemon.settings.get("0123456789ab")
        assert settings.include_docstrings is True
        assert settings.exclude_dirs == ["build"]
    finally:
        await daemon.stop()
    with closing(sqlite3.connect(config.db_path)) as con:
        applied = con.execute(
            "SELECT plugin, number FROM aegisd_migrations ORDER BY number"
        ).fetchall()
        assert ("aegisd", 1) in applied and ("aegisd", 2) in applied
        row = con.execute("SELECT root, clock FROM workspace WHERE id = '0123456789ab'").fetchone()
        assert row == ("/srv/old-project", 0)
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_failing_plugin_migration_rolls_back_alone(tmp_path: Path) -> None:
    store = Store(tmp_path / "x.db")
    await store.open()
    good = Migration("good", 1, "table", ["CREATE TABLE good_t (x INTEGER)"])
    bad = [
        Migration("bad", 1, "ok step", ["CREATE TABLE bad_t (x INTEGER)"]),
        Migration("bad", 2, "broken", ["CREATE TABLE bad_u (x INTEGER)", "THIS IS NOT SQL"]),
        Migration("bad", 3, "never", ["CREATE TABLE bad_v (x INTEGER)"]),
    ]
    ran, failed = await store.run(run_migrations, store.db, [good, *bad])
    assert {(m.plugin, m.number) for m in ran} == {("good", 1), ("bad", 1)}
    assert set(failed) == {"bad"} and "bad#2" in str(failed["bad"])
    tables = {
        r[0]
        for r in await store.run(
            lambda: store.db.execute_sql("SELECT name FROM sqlite_master").fetchall()
        )
    }
    assert {"good_t", "bad_t"} <= tables and not {"bad_u", "bad_v"} & tables
    # Running again applies nothing new and fails the same way, without duplicates.
    ran, failed = await store.run(run_migrations, store.db, [good, *bad])
    assert ran == [] and set(failed) == {"bad"}
    await store.close()


async def test_plugin_with_failing_migration_is_blocked(tmp_path: Path) -> None:
    class Plugin:
        @staticmethod
        def aegisd_migrations() -> list[Migration]:
            return [Migration("brokenmig", 1, "x", ["NOT SQL"])]

    from aegisd import hookimpl

    Plugin.aegisd_migrations = hookimpl(Plugin.aegisd_migrations)  # type: ignore[method-assign]
    daemon = Daemon(make_config(tmp_path))
    daemon.host.register(Plugin(), "brokenmig")
    await daemon.start()
    try:
        assert daemon.host.records["brokenmig"].status == "blocked"
        assert daemon.health()["status"] == "degraded"
    finally:
        await daemon.stop()


@pytest.mark.parametrize("content", [b"garbage" * 1000, b"SQLite format 3\x00" + b"\xff" * 4000])
async def test_corrupt_file_is_refused_and_untouched(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "aegisd.db"
    path.write_bytes(content)
    store = Store(path)
    with pytest.raises(StoreOpenError) as info:
        await store.open()
    assert str(path) in str(info.value)
    assert path.read_bytes() == content
    await store.close()


async def test_directory_in_place_of_the_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "aegisd.db").mkdir()
    store = Store(tmp_path / "aegisd.db")
    with pytest.raises(StoreOpenError, match="not a regular file"):
        await store.open()
    await store.close()


async def test_queries_run_on_the_db_thread(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.db")
    await store.open()
    assert not store.on_db_thread()
    assert await store.run(store.on_db_thread)
    await store.atomic(store.db.execute_sql, "CREATE TABLE t (x)")
    with pytest.raises(peewee.OperationalError):
        await store.atomic(store.db.execute_sql, "INSERT INTO missing VALUES (1)")
    await store.close()
    _ = json


async def test_urgent_work_runs_before_queued_work_not_before_the_running_one(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "t.db")
    await store.open()
    gate = threading.Event()
    order: list[str] = []

    def record(name: str) -> None:
        order.append(name)

    def blocked() -> None:
        gate.wait(10)
        order.append("running")

    running = asyncio.ensure_future(store.run(blocked))
    await asyncio.sleep(0.05)  # the DB thread is now inside `blocked`
    queued = [asyncio.ensure_future(store.run(record, f"bulk {i}")) for i in range(3)]
    await asyncio.sleep(0)
    urgent = asyncio.ensure_future(store.urgent(record, "urgent"))
    await asyncio.sleep(0)
    gate.set()
    await asyncio.gather(running, *queued, urgent)
    assert order == ["running", "urgent", "bulk 0", "bulk 1", "bulk 2"]
    # failures reach the caller from either lane
    with pytest.raises(peewee.OperationalError):
        await store.urgent(store.db.execute_sql, "SELECT * FROM missing")
    await store.close()
