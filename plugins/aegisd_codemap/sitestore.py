"""Where reference sites are stored: integer keys, one row per name and file (`sites.pack`).

Tables (migration 7, `migrate`):
- `codemap_space`: a small integer per workspace (its text id is said once, not per row);
- `codemap_site_file`: an id per (workspace, path), kept while the file is indexed (a file
  parsed again keeps its id; a removed file's goes with its rows);
- `codemap_site_name`: an id per name used at a site, shared by every workspace; a name no
  site uses any more stays (a few dozen bytes, reused if it comes back) until `clear`;
- `codemap_site`: (space, name id, file id, sites), in write order (a file's rows together),
  with an index by (space, name id): a name's sites in one seek, never a scan of every file;
  and one by file id: a file's rows replaced, or read for a position or a function's calls.
All ids are INTEGER PRIMARY KEYs: a VACUUM keeps them.

Measured before choosing (the same rows written a hundred files per transaction): against
migration 5's table keyed by text (`codemap_ref`: workspace id and path in every row and in
its two indexes) this layout takes 17.8 MiB instead of 26.4 on the stdlib and 85 instead of
147 on a 10,000-file tree, written in 0.6x the time. A clustered `WITHOUT ROWID` table keyed
by (space, name, file) read a name's rows 2x faster (0.05 against 0.15 ms, both far below
what resolving them costs) but took 88 MiB and 2x the write time (blobs inserted into the
middle of a b-tree); a table whose row ids encode the file id (no by-file index) took 79 MiB
but wrote slower than this one.

Writes run on the DB thread inside the caller's transaction; reads take an `Execute`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import peewee

from aegisd.store.pathtext import from_db

Execute = Callable[[str, tuple[Any, ...]], Iterable[Any]]

_TABLES = [
    "CREATE TABLE codemap_space (id INTEGER PRIMARY KEY, workspace_id TEXT NOT NULL UNIQUE)",
    "CREATE TABLE codemap_site_file (id INTEGER PRIMARY KEY, space INTEGER NOT NULL,"
    " path TEXT NOT NULL, UNIQUE (space, path))",
    "CREATE TABLE codemap_site_name (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
    "CREATE TABLE codemap_site (space INTEGER NOT NULL, name_id INTEGER NOT NULL,"
    " file_id INTEGER NOT NULL, sites NOT NULL)",
]
_INDEXES = [
    "CREATE INDEX codemap_site_by_name ON codemap_site (space, name_id)",
    "CREATE INDEX codemap_site_by_file ON codemap_site (file_id)",
]
#: the rows as migration 5 stored them, for a look with the sqlite3 shell (and older tools)
_VIEW = (
    "CREATE VIEW codemap_ref (workspace_id, path, name, sites) AS"
    " SELECT sp.workspace_id, f.path, n.name, s.sites FROM codemap_site s"
    " JOIN codemap_space sp ON sp.id = s.space JOIN codemap_site_file f ON f.id = s.file_id"
    " JOIN codemap_site_name n ON n.id = s.name_id"
)
_COPY = [
    "INSERT OR IGNORE INTO codemap_space (workspace_id)"
    " SELECT DISTINCT workspace_id FROM codemap_ref",
    "INSERT OR IGNORE INTO codemap_site_file (space, path) SELECT DISTINCT sp.id, r.path"
    " FROM codemap_ref r JOIN codemap_space sp ON sp.workspace_id = r.workspace_id",
    "INSERT OR IGNORE INTO codemap_site_name (name) SELECT DISTINCT name FROM codemap_ref",
    # In the old table's order, which is the order its rows were written in: a file's rows
    # together, as new writes put them (sorting them cost more than the rest).
    "INSERT INTO codemap_site (space, name_id, file_id, sites)"
    " SELECT sp.id, n.id, f.id, r.sites FROM codemap_ref r"
    " JOIN codemap_space sp ON sp.workspace_id = r.workspace_id"
    " JOIN codemap_site_file f ON f.space = sp.id AND f.path = r.path"
    " JOIN codemap_site_name n ON n.name = r.name ORDER BY r.rowid",
]


def migrate(db: peewee.SqliteDatabase) -> None:
    """Migration 7: the integer-keyed tables, filled from `codemap_ref` (the sites are kept
    as they were packed: nothing is parsed again), which then becomes a view of them."""
    for statement in (*_TABLES, *_COPY, "DROP TABLE codemap_ref", *_INDEXES, _VIEW):
        db.execute_sql(statement)


def _space(cursor: Any, ws_id: str) -> int:
    cursor.execute("INSERT OR IGNORE INTO codemap_space (workspace_id) VALUES (?)", (ws_id,))
    found = cursor.execute("SELECT id FROM codemap_space WHERE workspace_id = ?", (ws_id,))
    return int(found.fetchone()[0])


def _file_ids(cursor: Any, space: int, paths: Iterable[str]) -> dict[str, int]:
    """The ids of these stored paths that have one."""
    found: dict[str, int] = {}
    for path in paths:
        row = cursor.execute(
            "SELECT id FROM codemap_site_file WHERE space = ? AND path = ?", (space, path)
        ).fetchone()
        if row is not None:
            found[path] = row[0]
    return found


def replace(
    cursor: Any,
    ws_id: str,
    replaced: Iterable[str],
    gone: Iterable[str],
    rows: Iterable[tuple[str, str, str | bytes]],
) -> None:
    """Replace the sites of the ``replaced`` paths (stored form) with ``rows`` (path, name,
    packed sites), and forget the ``gone`` paths with their sites."""
    rows = list(rows)
    space = _space(cursor, ws_id)
    gone = set(gone)
    old = _file_ids(cursor, space, {*replaced, *gone})
    cursor.executemany("DELETE FROM codemap_site WHERE file_id = ?", [(i,) for i in old.values()])
    writing = {path for path, _, _ in rows}
    cursor.executemany(
        "DELETE FROM codemap_site_file WHERE id = ?",
        [(i,) for path, i in old.items() if path in gone and path not in writing],
    )
    cursor.executemany(
        "INSERT OR IGNORE INTO codemap_site_file (space, path) VALUES (?, ?)",
        [(space, path) for path in sorted(writing - set(old))],
    )
    ids = {**old, **_file_ids(cursor, space, writing - set(old))}
    cursor.executemany(
        "INSERT OR IGNORE INTO codemap_site_name (name) VALUES (?)",
        [(name,) for name in sorted({name for _, name, _ in rows})],
    )
    cursor.executemany(
        "INSERT INTO codemap_site (space, name_id, file_id, sites)"
        " VALUES (?, (SELECT id FROM codemap_site_name WHERE name = ?), ?, ?)",
        [(space, name, ids[path], sites) for path, name, sites in rows],
    )


def clear(cursor: Any, ws_id: str) -> None:
    """Forget a workspace's sites and file ids, and every name no site uses any more."""
    found = cursor.execute("SELECT id FROM codemap_space WHERE workspace_id = ?", (ws_id,))
    row = found.fetchone()
    if row is None:
        return
    cursor.execute("DELETE FROM codemap_site WHERE space = ?", (row[0],))
    cursor.execute("DELETE FROM codemap_site_file WHERE space = ?", (row[0],))
    cursor.execute("DELETE FROM codemap_space WHERE id = ?", (row[0],))
    cursor.execute(
        "DELETE FROM codemap_site_name WHERE NOT EXISTS (SELECT 1 FROM codemap_site s"
        " INDEXED BY codemap_site_by_name WHERE s.space IN (SELECT id FROM codemap_space)"
        " AND s.name_id = codemap_site_name.id)"
    )


_BY_NAME = (
    "SELECT f.path, s.sites FROM codemap_site s INDEXED BY codemap_site_by_name"
    " JOIN codemap_site_file f ON f.id = s.file_id"
    " WHERE s.space = (SELECT id FROM codemap_space WHERE workspace_id = ?)"
    " AND s.name_id = (SELECT id FROM codemap_site_name WHERE name = ?) LIMIT ?"
)
_BY_FILE = (
    "SELECT n.name, s.sites FROM codemap_site s INDEXED BY codemap_site_by_file"
    " JOIN codemap_site_name n ON n.id = s.name_id"
    " WHERE s.file_id = (SELECT f.id FROM codemap_site_file f"
    " WHERE f.space = (SELECT id FROM codemap_space WHERE workspace_id = ?) AND f.path = ?)"
)


def by_name(execute: Execute, ws_id: str, name: str, limit: int) -> list[tuple[str, str | bytes]]:
    """(path, packed sites) of the files using ``name`` (at most ``limit`` files)."""
    return [(from_db(path), sites) for path, sites in execute(_BY_NAME, (ws_id, name, limit))]


def by_file(execute: Execute, ws_id: str, stored_path: str) -> list[tuple[str, str | bytes]]:
    """(name, packed sites) of one file (its path as stored)."""
    return [(name, sites) for name, sites in execute(_BY_FILE, (ws_id, stored_path))]
