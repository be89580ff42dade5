"""`index.search` answered from SQLite, ranked as `search.SymbolSearch` ranks (its tests hold
for both: `tests/plugins/codemap/test_sqlsearch.py` compares them).

For a query without a dot a symbol's tier depends on its name alone. The exact and prefix
tiers are read by the symbols' lowercased names (an index range); the later tiers' names come
from `namesearch`, tier by tier, only while the answer is not full. A tier's symbols are read
in rank order (in tests, path length, kind, overload, name, path, id): counted first in the
names' index, a few are read whole and sorted, many read through the `codemap_symbol_rank`
index, which stops at the answer's limit. Dotted queries read the symbols whose name holds
the query's last part and those whose qualified name holds the query (a scan), and rank them
with a `SymbolSearch` (module-qualified names need the candidates' paths).

`overlay` holds files applied to the index but not yet stored (`index.WorkspaceIndex`):
their stored rows are left out and their symbols ranked in memory and merged in.

Blocking I/O: run in a thread, with a connection of `readers.Readers`.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from fnmatch import translate
from heapq import merge
from itertools import islice
from math import isqrt
from typing import Any, NamedTuple

from aegisd.store.pathtext import from_db, in_list, to_db
from aegisd_codemap import namesearch
from aegisd_codemap.model import Symbol
from aegisd_codemap.ranking import Row, in_tests, kind_rank, symbol_is_stub
from aegisd_codemap.search import Hit, SymbolSearch

#: a tier with at most this many symbols is read whole and sorted in Python; more are read
#: through the rank-order index, which stops at the limit (`few_symbols`: more in a large
#: workspace, where that walk passes over more rows for each one it keeps)
FEW_SYMBOLS = 500
#: reading a symbol by name and sorting it here costs about 6 steps of the rank-order walk;
#: biased to reading (3), whose cost does not depend on where the matches fall in rank order
#: (all copies of a name at one path length are met late)
READ_PER_STEP = 3
FEW_SYMBOLS_MAX = 20_000
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


#: overlay ids count up from minus this (never a stored rowid)
_OVERLAY_IDS = 1 << 62


@dataclass
class Overlay:
    """Symbols of files not yet stored, by path (stand-in ids: negative, increasing in a
    file's order as stored rowids do, so that ties rank the same before and after the file is
    stored), and every path whose stored rows are out of date (those files, and removed
    ones)."""

    files: dict[str, list[Symbol]]
    skip: list[str]

    def rows(self) -> tuple[list[Row], dict[int, Symbol]]:
        rows: list[Row] = []
        symbols: dict[int, Symbol] = {}
        for path, found in self.files.items():
            for s in found:
                symbol_id = len(rows) - _OVERLAY_IDS
                rows.append((symbol_id, s.name, s.qualname, s.kind, path, symbol_is_stub(s)))
                symbols[symbol_id] = s
        return rows, symbols


def few_symbols(total: int, limit: int) -> int:
    """How many symbols of a tier are still "few": reading n of them costs ~n reads, while the
    rank-order walk for `limit` passes ~total * limit / n index entries; the two meet at
    sqrt(total * limit / READ_PER_STEP) (~6,100 for 2.2 M symbols and a limit of 50)."""
    return min(FEW_SYMBOLS_MAX, max(FEW_SYMBOLS, isqrt(int(total * limit / READ_PER_STEP))))


class _Filter:
    """The WHERE clause of symbol reads: workspace, kind, path glob, files in the overlay;
    `few`: the `few_symbols` of the search."""

    def __init__(
        self,
        db: sqlite3.Connection,
        ws_id: str,
        kind: str | None,
        glob: str | None,
        skip: list[str],
        few: int = FEW_SYMBOLS,
    ) -> None:
        self.few = few
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
            listed, args = in_list("path", [to_db(p) for p in skip])
            self.sql += f" AND NOT {listed}"
            self.args += args


def _rank_key(row: Sequence[Any]) -> tuple[Any, ...]:
    # (tests, plen, krank, stub, lname, name, path, rowid)
    return (row[9], row[10], row[11], row[5], row[12], row[1], row[4], row[0])


class Cond(NamedTuple):
    """A condition on symbols: on their lowercased names (which the names' index holds), and
    optionally on their names as well; `tests`: within one segment of the rank order."""

    on_lname: str
    lname_args: tuple[Any, ...]
    on_name: str = ""
    name_args: tuple[Any, ...] = ()
    tests: int | None = None

    def within(self, tests: int) -> Cond:
        """The condition within the symbols in tests (1) or not (0)."""
        on_lname, lname_args = f"tests = ? AND {self.on_lname}", (tests, *self.lname_args)
        return Cond(on_lname, lname_args, self.on_name, self.name_args, tests)

    @property
    def names_index(self) -> str:
        """The names' index for it: by segment, then name, for a condition within one."""
        return "codemap_symbol_lname" if self.tests is None else "codemap_symbol_tests_lname"

    @property
    def sql(self) -> str:
        return f"{self.on_lname} AND {self.on_name}" if self.on_name else self.on_lname

    @property
    def args(self) -> tuple[Any, ...]:
        return (*self.lname_args, *self.name_args)


Tiered = list[tuple[int, Any]]
"""Symbol rows with their tiers (an index into `namesearch.STEPS`), in tier then rank order."""


def _tiered(
    db: sqlite3.Connection,
    where: _Filter,
    cond: Cond | None,
    step_of: Callable[[Any], int],
    per_step: Callable[[], list[tuple[int, Cond]]],
    limit: int,
    many: bool = False,
) -> Tiered:
    """The best `limit` symbols meeting `cond`, by tier (`step_of` a row), then rank: a few
    read at once and sorted here; many (or `cond` None) read tier by tier (`per_step`;
    `many`: each tier known to have many)."""
    if limit <= 0:
        return []
    if cond is not None:
        rows = _few(db, where, cond)
        if rows is not None:
            keyed = [(step_of(row), row) for row in rows]
            keyed.sort(key=lambda item: (item[0], _rank_key(item[1])))
            return keyed[:limit]
    found: Tiered = []
    for step, step_cond in per_step():
        rows = _ranked(db, where, step_cond, limit - len(found), many)
        found += [(step, row) for row in rows]
        if len(found) >= limit:
            break
    return found


def _few(db: sqlite3.Connection, where: _Filter, cond: Cond) -> list[Any] | None:
    """The symbols meeting `cond` when they are few (read through the names' index), else
    None. Counted first on the lowercased names alone, in the index (no row is read): a
    few hundred rows read only to be passed over cost more than the rank-order walk."""
    counted = db.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM codemap_symbol INDEXED BY {cond.names_index}"
        f" WHERE workspace_id = ? AND {cond.on_lname} LIMIT ?)",
        [where.args[0], *cond.lname_args, where.few + 1],
    ).fetchone()[0]
    if counted > where.few:
        return None
    return db.execute(
        f"SELECT {_SYMBOL} FROM codemap_symbol INDEXED BY {cond.names_index}"
        f" WHERE {where.sql} AND {cond.sql}",
        [*where.args, *cond.args],
    ).fetchall()


def _ranked(
    db: sqlite3.Connection, where: _Filter, cond: Cond, limit: int, many: bool = False
) -> list[Any]:
    """The best `limit` symbols meeting `cond` in rank order: a few sorted here, many (or
    `many`, known beforehand) read in rank order through the `codemap_symbol_rank` index (it
    holds `lname`), which stops at the limit (but walks far for a rare condition: hence the
    few first)."""
    if limit <= 0:
        return []
    rows = None if many else _few(db, where, cond)
    if rows is not None:
        rows.sort(key=_rank_key)
        return rows[:limit]
    if many:
        return _walk(db, where, cond, limit)
    # Rank order puts the symbols outside tests first: when those are few (a test_ prefix),
    # the walk would pass over all of them before the first hit. Each segment is counted in
    # its own names' index and read by name when few, walked when many.
    found: list[Any] = []
    for tests in (0, 1):
        part = cond.within(tests)
        rows = _few(db, where, part)
        if rows is None:
            rows = _walk(db, where, part, limit - len(found))
        else:
            rows.sort(key=_rank_key)
        found += rows[: limit - len(found)]
        if len(found) >= limit:
            break
    return found


def _walk(db: sqlite3.Connection, where: _Filter, cond: Cond, limit: int) -> list[Any]:
    """The first `limit` symbols meeting `cond` along the rank-order index."""
    return db.execute(
        f"SELECT {_SYMBOL} FROM codemap_symbol INDEXED BY codemap_symbol_rank"
        f" WHERE {where.sql} AND {cond.sql} ORDER BY {_RANK_ORDER} LIMIT ?",
        [*where.args, *cond.args, limit],
    ).fetchall()


def _named(names: Collection[str]) -> Cond:
    return Cond(
        "lname IN (SELECT value FROM json_each(?))",
        (json.dumps(sorted({n.lower() for n in names})),),
        "name IN (SELECT value FROM json_each(?))",
        (json.dumps(list(names)),),
    )


def _symbols(
    db: sqlite3.Connection, where: _Filter, tiers: dict[int, list[str]], limit: int
) -> Tiered:
    """The best `limit` symbols named one of the names of `tiers`, by tier then rank."""
    step = {name: step for step, names in tiers.items() for name in names}
    if not step:
        return []
    many = len(step) > where.few  # names: at least as many symbols
    return _tiered(
        db,
        where,
        None if many else _named(step),
        lambda row: step[row[1]],
        lambda: [(s, _named(names)) for s, names in sorted(tiers.items()) if names],
        limit,
        many,
    )


def _starting(db: sqlite3.Connection, where: _Filter, text: str, limit: int) -> Tiered:
    """The exact and prefix tiers, read by the symbols' lowercased names (no name needed)."""
    exact, prefix = namesearch.STEP["exact", 1.0], namesearch.PREFIX
    return _tiered(
        db,
        where,
        Cond("lname >= ? AND lname < ?", (text, text + _MAX)),
        lambda row: exact if row[12] == text else prefix,
        lambda: [
            (exact, Cond("lname = ?", (text,))),
            (prefix, Cond("lname > ? AND lname < ?", (text, text + _MAX))),
        ],
        limit,
    )


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
        stub = int(symbol_is_stub(s))
        key = (namesearch.STEP[hit.match, hit.score], int(in_tests(hit.path)), len(hit.path),
               kind_rank(hit.kind), stub, hit.name.lower(), hit.name, to_db(hit.path), hit.symbol_id)  # fmt: skip
        found.append((key, StoredHit(hit, s.line, s.end_line, s.signature)))
    return found


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
    symbols: int = 0,
) -> list[StoredHit]:
    """The best `limit` symbols for `query`, ranked as `SymbolSearch.query` ranks them.
    `fts`: the names' trigram index exists (`readers.Readers.fts`); `names`: every name in
    memory, brought up to date here (else the stages scan `codemap_name`); `symbols`: how
    many the workspace has (how reads are planned: `few_symbols`)."""
    query = query.strip()
    text = query.lower()
    if not text.strip(".") or limit <= 0:
        return []
    skip = overlay.skip if overlay is not None else []
    where = _Filter(db, ws_id, kind, path_glob, skip, few_symbols(symbols, limit))
    if "." in text:
        return _dotted(db, where, query, kind, path_glob, limit, fts, overlay)
    # First: the names' query (when any) starts the read snapshot (see `Names.update`).
    lines = names.update(db) if names is not None else None
    found = _starting(db, where, text, limit)
    if len(found) < limit:
        if lines is not None:
            tiers = lines.tiers(query, text)
        else:
            tiers = namesearch.stored_tiers(db, query, text, fts)
        for step, tiered in tiers:  # each tier's names found only when it is needed
            found += _symbols(db, where, {step: tiered}, limit - len(found))
            if len(found) >= limit:
                break
    stored = [_stored_hit(row, step) for step, row in found]
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
        rows = db.execute(
            f"SELECT {_SYMBOL} FROM codemap_symbol INDEXED BY codemap_symbol_lname"
            f" WHERE {where.sql} AND lname >= ? AND lname < ? LIMIT ?",
            [*where.args, last, last + _MAX, DOTTED_CANDIDATES],
        ).fetchall()
        if len(rows) < DOTTED_CANDIDATES:
            others = {
                n for n in namesearch.holding(db, last, last, fts) if not n.lower().startswith(last)
            }
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
