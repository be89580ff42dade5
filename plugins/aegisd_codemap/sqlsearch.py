"""`index.search` answered from SQLite, ranked as `search.SymbolSearch` ranks (its tests hold
for both: `tests/plugins/codemap/test_sqlsearch.py` compares them).

For a query without a dot a symbol's tier depends on its name alone: `namesearch` finds the
names of each tier, in stages each complete for the tiers it answers, and each tier's symbols
are read in rank order (in tests, path length, kind, overload, name, path, id): a few are read
whole and sorted, many through the `codemap_symbol_rank` index, which stops at the answer's
limit. Later stages run only while the answer is not full. Dotted queries read the symbols
whose name holds the query's last part and rank them with a `SymbolSearch` (module-qualified
names need the candidates' paths).

`overlay` holds files applied to the index but not yet stored (`index.WorkspaceIndex`):
their stored rows are left out and their symbols ranked in memory and merged in.

Blocking I/O: run in a thread, with a connection of `readers.Readers`.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fnmatch import translate
from heapq import merge
from itertools import islice
from typing import Any

from aegisd.store.pathtext import from_db, to_db
from aegisd_codemap import namesearch
from aegisd_codemap.model import Symbol
from aegisd_codemap.ranking import Row, in_tests, is_stub, kind_rank
from aegisd_codemap.search import Hit, SymbolSearch

#: a tier with at most this many symbols is read whole and sorted in Python; more are read
#: through the rank-order index, which stops at the limit
FEW_SYMBOLS = 500
#: a dotted query ranks at most this many candidates (names starting with its last part
#: first: every exact and prefix match is among them)
DOTTED_CANDIDATES = 20_000
_ESCAPE = "\\"
_MAX = "\U0010ffff"
_SYMBOL = (
    "rowid, name, qualname, kind, path, stub, line, end_line, signature, tests, plen, krank, lname"
)
_RANK_ORDER = "tests, plen, krank, stub, lname, name, path, rowid"


@dataclass(frozen=True, slots=True)
class StoredHit:
    hit: Hit
    line: int
    end_line: int
    signature: str | None


@dataclass
class Overlay:
    """Symbols of files not yet stored, by path (stand-in ids: negative), and every path
    whose stored rows are out of date (those files, and removed ones)."""

    files: dict[str, list[Symbol]]
    skip: list[str]

    def rows(self) -> tuple[list[Row], dict[int, Symbol]]:
        rows: list[Row] = []
        symbols: dict[int, Symbol] = {}
        for path, found in self.files.items():
            for s in found:
                symbol_id = -1 - len(rows)
                rows.append((symbol_id, s.name, s.qualname, s.kind, path, is_stub(s.decorators)))
                symbols[symbol_id] = s
        return rows, symbols


class _Filter:
    """The WHERE clause of symbol reads: workspace, kind, path glob, files in the overlay."""

    def __init__(
        self,
        db: sqlite3.Connection,
        ws_id: str,
        kind: str | None,
        glob: str | None,
        skip: list[str],
    ) -> None:
        self.sql = "workspace_id = ?"
        self.args: list[Any] = [ws_id]
        if kind is not None:
            self.sql += " AND kind = ?"
            self.args.append(kind)
        if glob is not None:
            matches = re.compile(translate(glob)).match
            db.create_function(
                "codemap_glob", 1, lambda p: matches(from_db(p)) is not None, deterministic=True
            )
            self.sql += " AND codemap_glob(path)"
        if skip:
            self.sql += " AND path NOT IN (SELECT value FROM json_each(?))"
            self.args.append(json.dumps([to_db(p) for p in skip]))


def _rank_key(row: Sequence[Any]) -> tuple[Any, ...]:
    # (tests, plen, krank, stub, lname, name, path, rowid)
    return (row[9], row[10], row[11], row[5], row[12], row[1], row[4], row[0])


def _ranked(
    db: sqlite3.Connection, where: _Filter, cond: str, args: Sequence[Any], limit: int
) -> list[Any]:
    """The best `limit` symbols meeting `cond` (on `lname`, `name`), in rank order: a few
    found through the names' index and sorted here, many read in rank order through the
    `codemap_symbol_rank` index (it holds `lname`), which stops at the limit."""
    if limit <= 0:
        return []
    rows = db.execute(
        f"SELECT {_SYMBOL} FROM codemap_symbol INDEXED BY codemap_symbol_lname"
        f" WHERE {where.sql} AND {cond} LIMIT ?",
        [*where.args, *args, FEW_SYMBOLS + 1],
    ).fetchall()
    if len(rows) <= FEW_SYMBOLS:
        rows.sort(key=_rank_key)
        return rows[:limit]
    return _in_rank_order(db, where, cond, args, limit)


def _in_rank_order(
    db: sqlite3.Connection, where: _Filter, cond: str, args: Sequence[Any], limit: int
) -> list[Any]:
    return db.execute(
        f"SELECT {_SYMBOL} FROM codemap_symbol INDEXED BY codemap_symbol_rank"
        f" WHERE {where.sql} AND {cond} ORDER BY {_RANK_ORDER} LIMIT ?",
        [*where.args, *args, limit],
    ).fetchall()


_NAMED = "lname IN (SELECT value FROM json_each(?)) AND name IN (SELECT value FROM json_each(?))"


def _symbols(db: sqlite3.Connection, where: _Filter, names: list[str], limit: int) -> list[Any]:
    """The best `limit` symbols named one of `names`, in rank order (many names: read in
    rank order at once, they have more symbols than `_ranked` sorts)."""
    if not names or limit <= 0:
        return []
    args = (json.dumps(sorted({n.lower() for n in names})), json.dumps(names))
    if len(names) > FEW_SYMBOLS:
        return _in_rank_order(db, where, _NAMED, args, limit)
    return _ranked(db, where, _NAMED, args, limit)


Keyed = tuple[tuple[Any, ...], StoredHit]


def _stored_hit(row: Sequence[Any], step: int) -> Keyed:
    match, score = namesearch.STEPS[step]
    path = from_db(row[4])
    hit = Hit(row[0], score, match, row[1], row[2], row[3], path)
    return (step, *_rank_key(row)), StoredHit(hit, row[6], row[7], row[8])


def _overlay_hits(
    overlay: Overlay | None, query: str, kind: str | None, glob: str | None, limit: int
) -> list[Keyed]:
    if overlay is None or not overlay.files:
        return []
    rows, symbols = overlay.rows()
    found: list[Keyed] = []
    for hit in SymbolSearch(rows).query(query, kind, glob, limit):
        s = symbols[hit.symbol_id]
        stub = int(is_stub(s.decorators))
        key = (namesearch.STEP[hit.match, hit.score], int(in_tests(hit.path)), len(hit.path),
               kind_rank(hit.kind), stub, hit.name.lower(), hit.name, to_db(hit.path), hit.symbol_id)  # fmt: skip
        found.append((key, StoredHit(hit, s.line, s.end_line, s.signature)))
    return found


def _starting(
    db: sqlite3.Connection,
    where: _Filter,
    text: str,
    limit: int,
    take: Callable[[int, list[Any]], bool],
) -> bool:
    """The exact and prefix tiers, read by the symbols' lowercased names (no name needed)."""
    exact = _ranked(db, where, "lname = ?", (text,), limit)
    if take(namesearch.STEP["exact", 1.0], exact):
        return True
    prefix = _ranked(db, where, "lname > ? AND lname < ?", (text, text + _MAX), limit - len(exact))
    return take(namesearch.PREFIX, prefix)


def search(
    db: sqlite3.Connection,
    ws_id: str,
    query: str,
    kind: str | None = None,
    path_glob: str | None = None,
    limit: int = 50,
    *,
    fts: bool = False,
    overlay: Overlay | None = None,
    names: namesearch.Names | None = None,
) -> list[StoredHit]:
    """The best `limit` symbols for `query`, ranked as `SymbolSearch.query` ranks them.
    `fts`: the names' trigram index exists (`readers.Readers.fts`); `names`: every name in
    memory, brought up to date here (else the stages scan `codemap_name`)."""
    query = query.strip()
    text = query.lower()
    if not text.strip(".") or limit <= 0:
        return []
    skip = overlay.skip if overlay is not None else []
    where = _Filter(db, ws_id, kind, path_glob, skip)
    if "." in text:
        return _dotted(db, where, query, kind, path_glob, limit, fts, overlay)
    stored: list[Keyed] = []

    def take(step: int, rows: list[Any]) -> bool:
        stored.extend(_stored_hit(row, step) for row in rows)
        return len(stored) >= limit

    if not _starting(db, where, text, limit, take):
        if names is not None:
            tiers = names.update(db).tiers(query, text)
        else:
            tiers = namesearch.stored_tiers(db, query, text, fts)
        for step, tiered in tiers:
            if take(step, _symbols(db, where, tiered, limit - len(stored))):
                break
    extra = _overlay_hits(overlay, query, kind, path_glob, limit)
    both = merge(stored, extra, key=lambda keyed: keyed[0])
    return [hit for _, hit in islice(both, limit)]


def _dotted(
    db: sqlite3.Connection,
    where: _Filter,
    query: str,
    kind: str | None,
    path_glob: str | None,
    limit: int,
    fts: bool,
    overlay: Overlay | None,
) -> list[StoredHit]:
    text = query.lower()
    last = text.rstrip(".").rpartition(".")[2]
    if text.endswith("."):  # ``Reports.``: every member of what it names
        rows = db.execute(
            f"SELECT {_SYMBOL} FROM codemap_symbol WHERE {where.sql}"
            f" AND lower(qualname) LIKE ? ESCAPE '{_ESCAPE}' LIMIT ?",
            [*where.args, "%" + namesearch.like(text) + "%", DOTTED_CANDIDATES],
        ).fetchall()
    else:
        starting = set(namesearch.starting(db, last))
        rows = _symbols_named(db, where, starting, DOTTED_CANDIDATES)
        if len(rows) < DOTTED_CANDIDATES:
            others = set(namesearch.holding(db, last, last, fts)) - starting
            rows += _symbols_named(db, where, others, DOTTED_CANDIDATES - len(rows))
        seen = {row[0] for row in rows}
        rows += [
            row
            for row in _qualified_holding(db, where, text, DOTTED_CANDIDATES - len(rows))
            if row[0] not in seen
        ]
    details = {row[0]: (row[6], row[7], row[8]) for row in rows}
    candidates: list[Row] = [
        (row[0], row[1], row[2], row[3], from_db(row[4]), bool(row[5])) for row in rows
    ]
    extra: dict[int, Symbol] = {}
    if overlay is not None and overlay.files:
        overlay_rows, extra = overlay.rows()
        candidates += overlay_rows
    found = []
    for hit in SymbolSearch(candidates).query(query, kind, path_glob, limit):
        if hit.symbol_id in extra:
            s = extra[hit.symbol_id]
            found.append(StoredHit(hit, s.line, s.end_line, s.signature))
        else:
            found.append(StoredHit(hit, *details[hit.symbol_id]))
    return found


def _qualified_holding(db: sqlite3.Connection, where: _Filter, text: str, limit: int) -> list[Any]:
    """Symbols whose qualified name holds the query (``foo.bar`` in ``foo.bar.qux``) or
    starts with its part after a module part (``mod.Cl`` finds ``Class.method``), whatever
    their own names: a scan (LIKE folds ASCII case only; `SymbolSearch` decides the tiers)."""
    if limit <= 0:
        return []
    dots = [part for part in text.split(".") if part]
    patterns = ["%" + namesearch.like(text) + "%"]
    patterns += [namesearch.like(".".join(dots[k:])) + "%" for k in range(1, len(dots))]
    held = " OR ".join(f"qualname LIKE ? ESCAPE '{_ESCAPE}'" for _ in patterns)
    return db.execute(
        f"SELECT {_SYMBOL} FROM codemap_symbol WHERE {where.sql} AND ({held}) LIMIT ?",
        [*where.args, *patterns, limit],
    ).fetchall()


def _symbols_named(
    db: sqlite3.Connection, where: _Filter, names: set[str], limit: int
) -> list[Any]:
    if not names or limit <= 0:
        return []
    return db.execute(
        f"SELECT {_SYMBOL} FROM codemap_symbol INDEXED BY codemap_symbol_lname"
        f" WHERE {where.sql} AND lname IN (SELECT value FROM json_each(?))"
        " AND name IN (SELECT value FROM json_each(?)) LIMIT ?",
        [
            *where.args,
            json.dumps(sorted({n.lower() for n in names})),
            json.dumps(sorted(names)),
            limit,
        ],
    ).fetchall()
