"""Search answered from the store while a workspace's index loads after a restart.

Loading every symbol into memory takes a while on a large workspace; until it is in, a search
reads its candidates straight from SQLite (a read-only connection of its own, in a thread, so
the DB thread's load is not in the way) and ranks them with the same `SymbolSearch`, so the
answer is the one the loaded index will give. Every ranked match of a query has the query's
letters and digits in order in its name (or, for a dotted query, its last part's characters in
its qualified name), so one `LIKE` with a wildcard between them selects a superset. SQLite's
`LIKE` folds ASCII case only: a name whose match needs non-ASCII case folding turns up once the
index is loaded.

Blocking I/O: callers run `search_stored` in a thread.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aegisd.store.pathtext import from_db
from aegisd_codemap.ranking import is_stub
from aegisd_codemap.search import Hit, SymbolSearch

#: past this many candidates, rank only the exact and prefix ones when they alone fill the
#: answer (lower tiers cannot outrank them; a path glob could drop them, so not then); a
#: one-letter query matches most of a workspace
MANY_CANDIDATES = 5_000
_ESCAPE = "\\"


@dataclass(frozen=True, slots=True)
class StoredHit:
    hit: Hit
    line: int
    end_line: int
    signature: str | None


def _like_escaped(char: str) -> str:
    return _ESCAPE + char if char in "%_\\" else char


def _subsequence_pattern(text: str) -> str:
    return "%" + "%".join(_like_escaped(c) for c in text) + "%"


_COLUMNS = "rowid, name, qualname, kind, path, decorators, line, end_line, signature"


def _prefix_rows(db: sqlite3.Connection, ws_id: str, text: str, kind: str | None) -> list[Any]:
    """Symbols whose lowercased name starts with `text` (ASCII), by a range on the index."""
    sql = (
        f"SELECT {_COLUMNS} FROM codemap_symbol"
        " WHERE workspace_id = ? AND lower(name) >= ? AND lower(name) < ?"
    )
    # Every string starting with `text` sorts below `text` + the highest code point.
    args: list[str] = [ws_id, text, text + "\U0010ffff"]
    if kind is not None:
        sql += " AND kind = ?"
        args.append(kind)
    return db.execute(sql, args).fetchall()


def search_stored(
    db_path: Path,
    ws_id: str,
    query: str,
    kind: str | None = None,
    path_glob: str | None = None,
    limit: int = 50,
) -> list[StoredHit]:
    """The best `limit` symbols for `query`, ranked as `SymbolSearch.query` ranks them."""
    text = query.strip().lower()
    if not text.strip(".") or limit <= 0:
        return []
    dotted = "." in text
    column = "qualname" if dotted else "name"
    # A word match reads only the query's letters and digits (``file_sum`` and ``100%`` find
    # ``FileSummary`` and ``apply_100_percent``); other tiers need every character, in order.
    # A dotted query's matches all hold its last part in their qualified name (a module part
    # before it may be in the path instead).
    last = text.rstrip(".").rsplit(".", 1)[-1]
    letters = last if dotted else "".join(c for c in text if c.isalnum()) or text
    sql = (
        f"SELECT {_COLUMNS}"
        f" FROM codemap_symbol WHERE workspace_id = ? AND {column} LIKE ? ESCAPE '{_ESCAPE}'"
    )
    args: list[str] = [ws_id, _subsequence_pattern(letters)]
    if kind is not None:
        sql += " AND kind = ?"
        args.append(kind)
    with closing(sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True)) as db:
        rows = None
        if not dotted and path_glob is None and text.isascii():
            # Exact and prefix matches outrank every other tier: when they alone fill the
            # answer, the index on lower(name) gives them without reading every symbol.
            head = _prefix_rows(db, ws_id, text, kind)
            if len(head) >= limit:
                rows = head
        if rows is None:
            rows = db.execute(sql, args).fetchall()
            if len(rows) > MANY_CANDIDATES and not dotted and path_glob is None:
                head = [r for r in rows if r[1].lower().startswith(text)]
                if len(head) >= limit:
                    rows = head
    details = {row[0]: (row[6], row[7], row[8]) for row in rows}
    ranked = SymbolSearch(
        (row[0], row[1], row[2], row[3], from_db(row[4]), is_stub(json.loads(row[5])))
        for row in rows
    )
    return [
        StoredHit(hit, *details[hit.symbol_id])
        for hit in ranked.query(query, kind, path_glob, limit)
    ]
