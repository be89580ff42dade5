"""Upkeep of the names table (`schema`: `codemap_name` and its trigram index).

A name is added with the first symbol that carries it and deleted with the last one (in the
transaction that removes it; names are shared by the database's workspaces). The trigram
index trails the table: it holds the names up to a mark (`codemap_state`), and is caught up
in bulk (`index_names`) after a large batch, or a few names at a time with an edit, so a
first index does not pay for inserting names into it one batch at a time (that cost more
than the rest of the writes). Readers search the names past the mark without it
(`namesearch.holding`).

Runs on the DB thread, inside the caller's transaction unless it says otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import peewee

from aegisd.store.pathtext import in_list
from aegisd_codemap.schema import NAME_FTS, add_names

__all__ = ["add_names", "drop_unused", "fts_mark", "index_names", "names_of", "sweep"]

FTS_MARK = "fts_mark"
#: names an edit's write adds to the trigram index at most (the rest wait for a bulk catch-up)
EDIT_CATCH_UP = 200
#: names per transaction of a bulk catch-up
BULK_CATCH_UP = 5_000


def has_fts(cursor: Any) -> bool:
    found = cursor.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (NAME_FTS,))
    return found.fetchone() is not None


def fts_mark(cursor: Any) -> int:
    """The highest name id in the trigram index (names are added in id order)."""
    found = cursor.execute("SELECT value FROM codemap_state WHERE key = ?", (FTS_MARK,))
    row = found.fetchone()
    return 0 if row is None else int(row[0])


def index_names(cursor: Any, limit: int) -> int:
    """Add up to `limit` names past the mark to the trigram index; how many were added."""
    if not has_fts(cursor):
        return 0
    mark = fts_mark(cursor)
    cursor.execute(
        f"INSERT INTO {NAME_FTS} (rowid, lname, marked, initials)"
        " SELECT id, lname, marked, initials FROM codemap_name WHERE id > ? ORDER BY id LIMIT ?",
        (mark, limit),
    )
    added = cursor.execute(
        "SELECT count(*), max(id) FROM"
        " (SELECT id FROM codemap_name WHERE id > ? ORDER BY id LIMIT ?)",
        (mark, limit),
    ).fetchone()
    if added[0]:
        cursor.execute(
            "INSERT OR REPLACE INTO codemap_state (key, value) VALUES (?, ?)", (FTS_MARK, added[1])
        )
    return int(added[0])


def catch_up(db: peewee.SqliteDatabase) -> int:
    """One bulk step of `index_names` in a transaction of its own (call until it returns
    less than `BULK_CATCH_UP`)."""
    with db.atomic():
        return index_names(db.cursor(), BULK_CATCH_UP)


def names_of(cursor: Any, ws_id: str, paths: list[str]) -> set[str]:
    """The names of the symbols stored for these paths (stored form)."""
    if not paths:
        return set()
    listed, args = in_list("path", paths)
    found = cursor.execute(
        f"SELECT DISTINCT name FROM codemap_symbol WHERE workspace_id = ? AND {listed}",
        (ws_id, *args),
    )
    return {row[0] for row in found}


def _workspaces(cursor: Any) -> list[str]:
    """Every workspace with symbols, one index seek each (not a scan of the symbols)."""
    found = cursor.execute(
        "WITH RECURSIVE ws(id) AS (SELECT min(workspace_id) FROM codemap_symbol UNION ALL"
        " SELECT (SELECT min(workspace_id) FROM codemap_symbol WHERE workspace_id > ws.id)"
        " FROM ws WHERE ws.id IS NOT NULL) SELECT id FROM ws WHERE id IS NOT NULL"
    )
    return [row[0] for row in found]


_UNUSED = (
    "SELECT n.id, n.lname, n.marked, n.initials FROM codemap_name n WHERE {where} AND NOT EXISTS"
    " (SELECT 1 FROM codemap_symbol s INDEXED BY codemap_symbol_lname"
    " WHERE s.workspace_id IN (SELECT value FROM json_each(?)) AND s.lname = n.lname"
    " AND s.name = n.name)"
)


def drop_unused(cursor: Any, names: Iterable[str]) -> int:
    """Delete those of `names` no symbol carries any more; how many were deleted."""
    candidates = sorted(set(names))
    if not candidates:
        return 0
    workspaces = json.dumps(_workspaces(cursor))
    sql = _UNUSED.format(where="n.name IN (SELECT value FROM json_each(?))")
    return _delete(cursor, cursor.execute(sql, (json.dumps(candidates), workspaces)).fetchall())


def sweep(cursor: Any) -> int:
    """Delete every name no symbol carries (after a workspace's rows are cleared)."""
    workspaces = json.dumps(_workspaces(cursor))
    return _delete(cursor, cursor.execute(_UNUSED.format(where="1"), (workspaces,)).fetchall())


def _delete(cursor: Any, unused: list[tuple[int, str, str, str]]) -> int:
    if not unused:
        return 0
    if has_fts(cursor):
        # An external-content index is told what it held for a row it is to forget.
        mark = fts_mark(cursor)
        cursor.executemany(
            f"INSERT INTO {NAME_FTS} ({NAME_FTS}, rowid, lname, marked, initials)"
            " VALUES ('delete', ?, ?, ?, ?)",
            [row for row in unused if row[0] <= mark],
        )
    cursor.executemany("DELETE FROM codemap_name WHERE id = ?", [(row[0],) for row in unused])
    return len(unused)
