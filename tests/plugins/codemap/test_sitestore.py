"""Reference sites stored with integer keys (`sitestore`): a file's rows replaced and deleted
by its id, names shared by workspaces, paths that are not UTF-8, and rows of the old
text-keyed table (migration 5) carried over by migration 7."""

from __future__ import annotations

import os
import sqlite3
import zlib
from pathlib import Path

import peewee
from aegisd_codemap import sitestore, store
from aegisd_codemap.model import FileExtract
from aegisd_codemap.sites import Ref, pack, unpack

from aegisd.store.migrations import run_migrations
from aegisd.store.pathtext import to_db

ODD = os.fsdecode(b"odd\xff.py")  # a name that is not UTF-8


def _file(path: str, *names: str, calls: int = 1) -> FileExtract:
    extract = FileExtract(path=path, language="python")
    extract.refs = pack(
        Ref(line, 1, name, "call", "", f"g:{name}")
        for name in names
        for line in range(1, calls + 1)
    )
    return extract


def _save(db: peewee.SqliteDatabase, ws: str, *files: FileExtract, removed: tuple[str, ...] = (), stale: bool = False) -> None:  # fmt: skip
    store.save(db, ws, [(f, "h", stale) for f in files], removed)


def _named(db: peewee.SqliteDatabase, ws: str, name: str) -> dict[str, list[int]]:
    """The lines of ``name``'s sites by file."""
    rows = sitestore.by_name(db.execute_sql, ws, name, 1000)
    return {path: [ref.line for ref in unpack(name, sites)] for path, sites in rows}


def _in_file(db: peewee.SqliteDatabase, ws: str, path: str) -> set[str]:
    return {name for name, _ in sitestore.by_file(db.execute_sql, ws, to_db(path))}


def _file_ids(db: peewee.SqliteDatabase) -> dict[str, int]:
    rows = db.execute_sql("SELECT path, id FROM codemap_site_file").fetchall()
    return {path: file_id for path, file_id in rows}


def _names(db: peewee.SqliteDatabase) -> set[str]:
    return {row[0] for row in db.execute_sql("SELECT name FROM codemap_site_name")}


def test_a_files_rows_are_replaced_under_the_same_id(db: peewee.SqliteDatabase) -> None:
    _save(db, "ws", _file("a.py", "foo", "bar"), _file("b.py", "foo"))
    ids = _file_ids(db)
    _save(db, "ws", _file("a.py", "foo", "baz", calls=3))
    assert _named(db, "ws", "foo") == {"a.py": [1, 2, 3], "b.py": [1]}
    assert _named(db, "ws", "bar") == {}
    assert _named(db, "ws", "baz") == {"a.py": [1, 2, 3]}
    assert _in_file(db, "ws", "a.py") == {"foo", "baz"}
    assert _file_ids(db) == ids  # a file parsed again keeps its id


def test_a_removed_file_goes_with_its_rows_and_its_id(db: peewee.SqliteDatabase) -> None:
    _save(db, "ws", _file("a.py", "foo"), _file("b.py", "foo"))
    _save(db, "ws", removed=("a.py",))
    assert _named(db, "ws", "foo") == {"b.py": [1]}
    assert _in_file(db, "ws", "a.py") == set()
    assert set(_file_ids(db)) == {"b.py"}
    count = db.execute_sql("SELECT count(*) FROM codemap_site").fetchone()[0]
    assert count == 1


def test_a_stale_file_keeps_the_sites_of_its_last_good_parse(db: peewee.SqliteDatabase) -> None:
    _save(db, "ws", _file("a.py", "foo"))
    _save(db, "ws", _file("a.py", "other"), stale=True)
    assert _named(db, "ws", "foo") == {"a.py": [1]}


def test_a_path_that_is_not_utf8_is_stored_read_and_removed(db: peewee.SqliteDatabase) -> None:
    _save(db, "ws", _file(ODD, "foo"))
    assert _named(db, "ws", "foo") == {ODD: [1]}
    assert _in_file(db, "ws", ODD) == {"foo"}
    _save(db, "ws", removed=(ODD,))
    assert _named(db, "ws", "foo") == {}
    assert _file_ids(db) == {}


def test_workspaces_share_names_but_not_rows(db: peewee.SqliteDatabase) -> None:
    _save(db, "one", _file("a.py", "shared", "mine"))
    _save(db, "two", _file("a.py", "shared", "theirs", calls=2))
    assert _named(db, "one", "shared") == {"a.py": [1]}
    assert _named(db, "two", "shared") == {"a.py": [1, 2]}
    assert _named(db, "one", "theirs") == {}
    assert _in_file(db, "one", "a.py") == {"shared", "mine"}
    names = db.execute_sql("SELECT count(*) FROM codemap_site_name WHERE name = 'shared'")
    assert names.fetchone()[0] == 1  # a name is said once, whichever workspace uses it
    store.clear(db, "one")
    assert _named(db, "one", "shared") == {}
    assert _named(db, "two", "shared") == {"a.py": [1, 2]}
    assert _names(db) == {"shared", "theirs"}  # "mine" went with the last site using it
    _save(db, "one", _file("a.py", "mine"))  # a workspace opened again: ids given afresh
    assert _named(db, "one", "mine") == {"a.py": [1]}


def test_a_name_no_site_uses_is_harmless(db: peewee.SqliteDatabase) -> None:
    _save(db, "ws", _file("a.py", "gone"))
    _save(db, "ws", _file("a.py", "kept"))
    assert "gone" in _names(db)  # left until a workspace is cleared; reused if it comes back
    assert _named(db, "ws", "gone") == {}
    _save(db, "ws", _file("b.py", "gone"))
    assert _named(db, "ws", "gone") == {"b.py": [1]}


_OLD_ROWS = [
    ("one", "a.py", "foo", "3\t1\tcall\t\tg:foo\n9\t5\tread\tmain\tg:foo"),
    ("one", "a.py", "bar", pack([Ref(n, 1, "bar", "call", "f", "g:bar") for n in range(1, 60)])),
    ("one", to_db(ODD), "foo", "2\t1\tcall\t\tg:foo"),
    ("two", "a.py", "foo", "7\t1\tcall\t\tg:foo"),
]


def test_migration_7_carries_the_old_rows_over(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    database = peewee.SqliteDatabase(str(path))
    database.connect()
    run_migrations(database, [m for m in store.MIGRATIONS if m.number <= 6])
    rows = [(*row[:3], row[3] if isinstance(row[3], str) else row[3][0][1]) for row in _OLD_ROWS]
    database.cursor().executemany("INSERT INTO codemap_ref VALUES (?, ?, ?, ?)", rows)
    ran, failed = run_migrations(database, store.MIGRATIONS)
    assert [m.number for m in ran] == [7] and not failed
    assert _named(database, "one", "foo") == {"a.py": [3, 9], ODD: [2]}
    assert _named(database, "two", "foo") == {"a.py": [7]}
    assert _named(database, "one", "bar") == {"a.py": list(range(1, 60))}
    assert _in_file(database, "one", "a.py") == {"foo", "bar"}
    # The old table is a view of the new ones now: what it held reads back the same.
    view = database.execute_sql("SELECT workspace_id, path, name, sites FROM codemap_ref")
    assert sorted(view.fetchall(), key=repr) == sorted(rows, key=repr)
    kind = database.execute_sql("SELECT type FROM sqlite_master WHERE name = 'codemap_ref'")
    assert kind.fetchone() == ("view",)
    # and the files' rows are replaced by id as any others
    _save(database, "one", _file("a.py", "baz"))
    assert _named(database, "one", "foo") == {ODD: [2]}
    database.close()
    with sqlite3.connect(path) as plain:  # the integrity of what the migration built
        assert plain.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    plain.close()


def test_a_group_says_what_repeats_once() -> None:
    refs = [
        Ref(10, 5, "run", "call", "Job.start", "d:Job>run"),  # the binding ends with the name
        Ref(12, 5, "run", "call", "Job.start", "d:Job>run"),  # as the site before
        Ref(3, 1, "run", "import", "", "+run"),  # lines out of order; a binding with a +
        Ref(4, 1, "run", "def", "", "\\run"),  # a backslash; a kind of JS/TS binders
        Ref(5, 1, "run", "odd", "", "run"),  # a kind without a letter; the bare name
    ]
    ((name, stored),) = pack(refs)
    assert unpack(name, stored) == refs
    text = zlib.decompress(stored).decode() if isinstance(stored, bytes) else stored
    assert text.count("Job.start") == 1 and "d:Job>run" not in text


def test_groups_compressed_before_the_marker_are_still_read() -> None:
    old = "12\t5\tcall\tmain\tg:run\n" * 20 + "30\t1\tread\t\ti:0:os:path"
    assert unpack("run", zlib.compress(old.encode(), 1))[-1] == Ref(
        30, 1, "run", "read", "", "i:0:os:path"
    )
