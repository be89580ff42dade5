"""The table of analyzed files on a real SQLite database: rows round-trip, page and go."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import peewee
import pytest
from aegisd_similarity import store
from aegisd_similarity.fingerprint import analyze_file
from aegisd_similarity.store import Stored

from aegisd.store.migrations import run_migrations
from tests.plugins.similarity.helpers import FIXTURES


@pytest.fixture
def db(tmp_path: Path) -> Iterator[peewee.SqliteDatabase]:
    database = peewee.SqliteDatabase(str(tmp_path / "test.db"))
    database.connect()
    ran, failed = run_migrations(database, store.MIGRATIONS)
    assert (len(ran), failed) == (len(store.MIGRATIONS), {})
    yield database
    database.close()


def _analyzed(relative: str) -> Stored:
    tokens, prints = analyze_file(relative, (FIXTURES / relative).read_bytes())
    return Stored(relative, f"hash-of-{relative}", tokens, prints)


def test_rows_round_trip_page_by_page(db: peewee.SqliteDatabase) -> None:
    py, cpp = _analyzed("python/exact_a.py"), _analyzed("cpp/matrix_a.cpp")
    skipped = Stored("big.py", "hash-of-big", None, None)
    store.save(db, "ws1", [py, cpp, skipped], [])
    store.save(db, "ws2", [_analyzed("js/cart_a.js")], [])
    first = store.load_page(db, "ws1", "", 2)
    assert [s.path for s in first] == ["big.py", "cpp/matrix_a.cpp"]
    rest = store.load_page(db, "ws1", first[-1].path, 2)
    assert rest == [py]  # tokens and fingerprints equal field by field, arrays included
    assert first[0] == skipped and first[1] == cpp
    assert store.load_page(db, "ws1", rest[-1].path, 2) == []


def test_save_replaces_and_deletes(db: peewee.SqliteDatabase) -> None:
    store.save(db, "ws", [_analyzed("python/exact_a.py"), _analyzed("python/exact_b.py")], [])
    newer = Stored("python/exact_a.py", "newer", None, None)
    store.save(db, "ws", [newer], ["python/exact_b.py", "never/stored.py"])
    assert store.load_page(db, "ws", "", 10) == [newer]
