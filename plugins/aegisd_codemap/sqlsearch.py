"""`index.search` answered from SQLite, ranked as `search.SymbolSearch` ranks (its tests hold
for both: `tests/plugins/codemap/test_sqlsearch.py` compares them).

For a query without a dot a symbol's tier depends on its name alone, so tiers are found among
the distinct names (`codemap_name`), in three stages each complete for the tiers it answers:
names starting with the query (exact and prefix: the index on `lname`); names whose initials,
marked words or lowercased text hold the query (word and substring tiers: the trigram index
when every needle has three characters, else a scan of the names); names holding the query's
characters in order (subsequence: a scan of the names). The names of a stage are ranked in
Python by a `SymbolSearch` over them, then each tier's symbols are read in rank order (in
tests, path length, kind, overload, name, path, id): a few are read whole and sorted, many
through the index in rank order up to the answer's limit. Later stages run only while the
answer is not full. Dotted queries read the symbols whose name holds the query's last part
and rank them with a `SymbolSearch` (module-qualified names need the candidates' paths).

`overlay` holds files applied to the index but not yet stored (`index.WorkspaceIndex`):
their stored rows are left out and their symbols ranked in memory and merged in.

Blocking I/O: run in a thread, with a connection of `readers.Readers`.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fnmatch import translate
from heapq import merge
from itertools import islice
from typing import Any

from aegisd.store.pathtext import from_db, to_db
from aegisd_codemap.blob import Blob
from aegisd_codemap.model import Symbol
from aegisd_codemap.ranking import Row, in_tests, is_stub, kind_rank
from aegisd_codemap.schema import NAME_FTS
from aegisd_codemap.search import Hit, SymbolSearch
from aegisd_codemap.searchquery import Query, words

#: a tier with at most this many symbols is read whole and sorted in Python; more are read
#: through the rank-order index, which stops at the limit
FEW_SYMBOLS = 2_000
#: a dotted query ranks at most this many candidates (names starting with its last part
#: first: every exact and prefix match is among them)
DOTTED_CANDIDATES = 20_000
_MAX = "\U0010ffff"
_ESCAPE = "\\"
#: tiers of a query without a dot, best first, and the last tier each name stage is complete for
_STEPS = [
    ("exact", 1.0),
    ("prefix", 0.8),
    ("word", 0.7),
    ("word", 0.65),
    ("word", 0.6),
    ("substring", 0.4),
    ("subsequence", 0.2),
]
_STEP = {step: i for i, step in enumerate(_STEPS)}
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


def _like(text: str) -> str:
    return "".join(_ESCAPE + c if c in "%_\\" else c for c in text)


def _phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _names(db: sqlite3.Connection, sql: str, args: Sequence[Any]) -> set[str]:
    return {row[0] for row in db.execute(sql, args)}


def _starting(db: sqlite3.Connection, text: str) -> set[str]:
    return _names(
        db, "SELECT name FROM codemap_name WHERE lname >= ? AND lname < ?", (text, text + _MAX)
    )


def _holding(db: sqlite3.Connection, query: str, text: str, fts: bool) -> set[str]:
    """Names whose initials or marked words hold the query's (word tiers) or whose text holds
    it (substring): a superset of those tiers."""
    marked, _ = words(query)
    compact = text.replace("_", "")
    needles = [("lname", text)]
    if len(compact) > 1:
        needles.append(("initials", compact))
    if len(marked) > 1:
        needles.append(("marked", marked))
    if fts and all(len(needle) >= 3 for _, needle in needles):
        match = " OR ".join(f"{column} : {_phrase(needle)}" for column, needle in needles)
        return _names(
            db,
            f"SELECT name FROM codemap_name WHERE id IN"
            f" (SELECT rowid FROM {NAME_FTS} WHERE {NAME_FTS} MATCH ?)",
            (match,),
        )
    where = " OR ".join(f"{column} LIKE ? ESCAPE '{_ESCAPE}'" for column, _ in needles)
    return _names(
        db,
        f"SELECT name FROM codemap_name WHERE {where}",
        ["%" + _like(needle) + "%" for _, needle in needles],
    )


class Names:
    """Every distinct name (`codemap_name`) as joined lines, to find the word, substring and
    subsequence stages' names in C (`blob.Blob`) instead of a scan in SQLite (~10 ms per
    column over the stdlib's names). Names are only ever added: `update` appends those with
    a higher id. Bounded by the distinct names, not by files or symbols (copies of a tree add
    none); kept in the budgeted `codemap.names` cache and read again when evicted."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.last_id = 0
        self._blobs: tuple[Blob, Blob, Blob] | None = None
        self._rows: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()  # searches run in several threads

    def update(self, db: sqlite3.Connection) -> None:
        with self._lock:
            self._update(db)

    def _update(self, db: sqlite3.Connection) -> None:
        added = db.execute(
            "SELECT id, name, lname, marked, initials FROM codemap_name WHERE id > ? ORDER BY id",
            (self.last_id,),
        ).fetchall()
        if added:
            self.last_id = added[-1][0]
            self.names += [row[1] for row in added]
            self._rows += [row[2:] for row in added]
            self._blobs = None

    @property
    def size(self) -> int:
        return 200 * len(self.names) + sum(len(n) for n in self.names) * 4

    def blobs(self) -> tuple[Blob, Blob, Blob]:
        """(lowercased, marked words, initials), line for line with `names`."""
        with self._lock:
            if self._blobs is None:
                columns = list(zip(*self._rows, strict=True)) or [(), (), ()]
                self._blobs = tuple(Blob(list(column)) for column in columns)  # type: ignore[assignment]
            assert self._blobs is not None
            return self._blobs

    def holding(self, query: str, text: str) -> set[str]:
        """`_holding`, in memory."""
        lname, marked_blob, initials = self.blobs()
        marked, _ = words(query)
        compact = text.replace("_", "")
        lines = set(lname.find_all(text))
        if len(compact) > 1:
            lines.update(initials.find_all(compact))
        if len(marked) > 1:
            lines.update(marked_blob.find_all(marked))
        return {self.names[i] for i in lines}

    def in_order(self, query: str) -> set[str]:
        """`_in_order`, in memory: the subsequence scan of `searchquery.Query`."""
        return {self.names[i] for i in Query(query).subsequence(self.blobs()[0])}


def _in_order(db: sqlite3.Connection, text: str) -> set[str]:
    pattern = "%" + "%".join(_like(c) for c in text) + "%"
    return _names(
        db, f"SELECT name FROM codemap_name WHERE lname LIKE ? ESCAPE '{_ESCAPE}'", (pattern,)
    )


def _tiers(query: str, names: Iterable[str]) -> dict[int, list[str]]:
    """The names by their best tier (an index into `_STEPS`); names matching none left out."""
    listed = list(names)
    ranked = SymbolSearch((i, n, n, "function", "", False) for i, n in enumerate(listed))
    by_step: dict[int, list[str]] = {}
    for hit in ranked.query(query, limit=len(listed)):
        by_step.setdefault(_STEP[hit.match, hit.score], []).append(hit.name)
    return by_step


def _rank_key(row: Sequence[Any]) -> tuple[Any, ...]:
    # (tests, plen, krank, stub, lname, name, path, rowid)
    return (row[9], row[10], row[11], row[5], row[12], row[1], row[4], row[0])


def _symbols(db: sqlite3.Connection, where: _Filter, names: list[str], limit: int) -> list[Any]:
    """The best `limit` symbols named one of `names`, in rank order."""
    lnames = json.dumps(sorted({n.lower() for n in names}))
    named = json.dumps(names)
    rows = db.execute(
        f"SELECT {_SYMBOL} FROM codemap_symbol INDEXED BY codemap_symbol_lname"
        f" WHERE {where.sql} AND lname IN (SELECT value FROM json_each(?))"
        " AND name IN (SELECT value FROM json_each(?)) LIMIT ?",
        [*where.args, lnames, named, FEW_SYMBOLS + 1],
    ).fetchall()
    if len(rows) <= FEW_SYMBOLS:
        rows.sort(key=_rank_key)
        return rows[:limit]
    return db.execute(
        f"SELECT {_SYMBOL} FROM codemap_symbol INDEXED BY codemap_symbol_rank"
        f" WHERE {where.sql} AND name IN (SELECT value FROM json_each(?))"
        f" ORDER BY {_RANK_ORDER} LIMIT ?",
        [*where.args, named, limit],
    ).fetchall()


Keyed = tuple[tuple[Any, ...], StoredHit]


def _stored_hit(row: Sequence[Any], step: int) -> Keyed:
    match, score = _STEPS[step]
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
        key = (_STEP[hit.match, hit.score], int(in_tests(hit.path)), len(hit.path),
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
    names: Names | None = None,
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
    if names is not None:
        names.update(db)
        holding = lambda: names.holding(query, text)  # noqa: E731
        in_order = lambda: names.in_order(query)  # noqa: E731
    else:
        holding = lambda: _holding(db, query, text, fts)  # noqa: E731
        in_order = lambda: _in_order(db, text)  # noqa: E731
    stages: list[tuple[Callable[[], set[str]], int]] = [
        (lambda: _starting(db, text), _STEP["prefix", 0.8]),
        (holding, _STEP["substring", 0.4]),
        (in_order, _STEP["subsequence", 0.2]),
    ]
    ranked: set[str] = set()
    carried: dict[int, list[str]] = {}
    full = False
    for candidates, last_step in stages:
        fresh = candidates() - ranked
        ranked |= fresh
        for step, tiered in _tiers(query, fresh).items():
            carried.setdefault(step, []).extend(tiered)
        for step in sorted(s for s in carried if s <= last_step):
            rows = _symbols(db, where, carried.pop(step), limit - len(stored))
            stored.extend(_stored_hit(row, step) for row in rows)
            if len(stored) >= limit:
                full = True
                break
        if full:
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
            [*where.args, "%" + _like(text) + "%", DOTTED_CANDIDATES],
        ).fetchall()
    else:
        names = _starting(db, last)
        rows = _symbols_named(db, where, names, DOTTED_CANDIDATES)
        if len(rows) < DOTTED_CANDIDATES:
            others = _holding(db, last, last, fts) - names
            rows += _symbols_named(db, where, others, DOTTED_CANDIDATES - len(rows))
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
