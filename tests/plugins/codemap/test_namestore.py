"""The names table follows the symbols: a name goes with its last symbol (in any workspace),
and its trigram index, caught up in bulk after large batches, answers like a scan."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import peewee
import pytest
from aegisd_codemap import namesearch, namestore, sqlsearch, store
from aegisd_codemap.model import FileExtract, Symbol


def _file(path: str, *names: str) -> FileExtract:
    extract = FileExtract(path=path, language="python")
    extract.symbols = [
        Symbol(n, n, "function", i + 1, i + 1, 0, None, None, (), None, 1, 1)
        for i, n in enumerate(names)
    ]
    return extract


def _names(db: peewee.SqliteDatabase) -> set[str]:
    return {row[0] for row in db.execute_sql("SELECT name FROM codemap_name")}


def _save(db: peewee.SqliteDatabase, ws: str, *files: FileExtract, removed: tuple[str, ...] = (), bulk: bool = False) -> None:  # fmt: skip
    prepared = store.rows(ws, [(f, "h", False) for f in files], removed, index_names=not bulk)
    store.write(db, prepared)


def test_a_name_goes_with_its_last_symbol_in_any_workspace(db: peewee.SqliteDatabase) -> None:
    _save(db, "ws", _file("a.py", "foo", "shared"), _file("b.py", "shared"))
    _save(db, "other", _file("c.py", "kept_elsewhere"))
    _save(db, "ws", _file("d.py", "kept_elsewhere"))
    assert _names(db) == {"foo", "shared", "kept_elsewhere"}
    _save(db, "ws", _file("a.py", "bar"))  # foo renamed to bar; b.py still has shared
    assert _names(db) == {"bar", "shared", "kept_elsewhere"}
    _save(db, "ws", removed=("b.py", "d.py"))  # the other workspace still has kept_elsewhere
    assert _names(db) == {"bar", "kept_elsewhere"}
    store.clear(db, "other")
    assert _names(db) == {"bar"}


def test_the_trigram_index_trails_the_names_and_answers_like_a_scan(
    db: peewee.SqliteDatabase, tmp_path: Path
) -> None:
    cursor = db.cursor()
    if not namestore.has_fts(cursor):
        pytest.skip("this SQLite has no trigram tokenizer")
    _save(db, "ws", _file("a.py", "indexed_gfs_name", "gone_gfs_name"))
    assert namestore.fts_mark(cursor) > 0
    _save(db, "ws", _file("b.py", "bulk_gfs_name", "other_bulk"), bulk=True)  # a large batch
    with closing(sqlite3.connect(db.database)) as reader:

        def found(fts: bool) -> list[str]:
            return sorted(namesearch.holding(reader, "gfs", "gfs", fts))

        # Past the mark: found by a scan of the names the index has not caught up with.
        assert found(True) == found(False) == ["bulk_gfs_name", "gone_gfs_name", "indexed_gfs_name"]
        assert namestore.catch_up(db) == 2
        assert namestore.catch_up(db) == 0
        db.execute_sql("INSERT INTO codemap_name_fts (codemap_name_fts) VALUES ('integrity-check')")
        # A name deleted from the index with its last symbol: the index stays consistent.
        _save(db, "ws", _file("a.py", "indexed_gfs_name"))
        db.execute_sql("INSERT INTO codemap_name_fts (codemap_name_fts) VALUES ('integrity-check')")
        assert found(True) == found(False) == ["bulk_gfs_name", "indexed_gfs_name"]
        hits = sqlsearch.search(reader, "ws", "gfs", fts=True)
        assert [f.hit.name for f in hits] == ["bulk_gfs_name", "indexed_gfs_name"]


def test_names_in_memory_are_read_again_when_most_are_gone(db: peewee.SqliteDatabase, tmp_path: Path) -> None:  # fmt: skip
    with closing(sqlite3.connect(db.database)) as reader:
        names = namesearch.Names()
        for round_ in range(6):
            # Every round renames all 100 names: the old ones are deleted from the store.
            _save(db, "ws", _file("a.py", *[f"n{round_}_{i}" for i in range(100)]))
            names.stale = True  # what `index.stored` says after a write
            names.update(reader)
            assert len(names) <= 2 * 100 + 100
            query = f"{round_}_1"
            hits = sqlsearch.search(reader, "ws", query, limit=100, names=names)
            assert hits == sqlsearch.search(reader, "ws", query, limit=100)  # a scan
            assert f"n{round_}_1" in {f.hit.name for f in hits}
