"""Which distinct names (`codemap_name`) match a query without a dot, and in which tier.

A symbol's tier depends on its name alone (`searchquery`: exact, prefix, three word tiers,
substring, subsequence), so `sqlsearch` finds names first, in stages each complete for the
tiers it answers: names starting with the query (an index range), names whose initials,
marked words or text hold the query's (word and substring tiers), names holding its
characters in order (subsequence). The last two run over every name in memory (`Names`) or,
without it, in SQLite (the trigram index when every needle has three characters, else a
scan). `tier` decides a name's tier exactly as `searchquery.Query` does over a view.

Blocking I/O: run in a thread.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from aegisd_codemap.blob import Blob
from aegisd_codemap.schema import NAME_FTS
from aegisd_codemap.searchquery import Query, words

#: tiers of a query without a dot, best first (match, score)
STEPS = [
    ("exact", 1.0),
    ("prefix", 0.8),
    ("word", 0.7),
    ("word", 0.65),
    ("word", 0.6),
    ("substring", 0.4),
    ("subsequence", 0.2),
]
STEP = {step: i for i, step in enumerate(STEPS)}
PREFIX, SUBSTRING, SUBSEQUENCE = STEP["prefix", 0.8], STEP["substring", 0.4], len(STEPS) - 1
_MAX = "\U0010ffff"
_ESCAPE = "\\"

Found = dict[str, tuple[str, str, str]]
"""name → (lowercased, marked words, initials): a stage's names."""
_COLUMNS = "name, lname, marked, initials"


def like(text: str) -> str:
    return "".join(_ESCAPE + c if c in "%_\\" else c for c in text)


def _phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _found(db: sqlite3.Connection, sql: str, args: Sequence[Any]) -> Found:
    return {row[0]: row[1:] for row in db.execute(sql, args)}


def starting(db: sqlite3.Connection, text: str) -> Found:
    """Names whose lowercased text starts with `text` (exact and prefix tiers)."""
    return _found(
        db,
        f"SELECT {_COLUMNS} FROM codemap_name WHERE lname >= ? AND lname < ?",
        (text, text + _MAX),
    )


def _needles(query: str, text: str) -> list[tuple[str, str]]:
    marked, _ = words(query)
    compact = text.replace("_", "")
    needles = [("lname", text)]
    if len(compact) > 1:
        needles.append(("initials", compact))
    if len(marked) > 1:
        needles.append(("marked", marked))
    return needles


def holding(db: sqlite3.Connection, query: str, text: str, fts: bool) -> Found:
    """Names whose initials or marked words hold the query's (word tiers) or whose text holds
    it (substring): a superset of those tiers."""
    needles = _needles(query, text)
    if fts and all(len(needle) >= 3 for _, needle in needles):
        match = " OR ".join(f"{column} : {_phrase(needle)}" for column, needle in needles)
        return _found(
            db,
            f"SELECT {_COLUMNS} FROM codemap_name WHERE id IN"
            f" (SELECT rowid FROM {NAME_FTS} WHERE {NAME_FTS} MATCH ?)",
            (match,),
        )
    where = " OR ".join(f"{column} LIKE ? ESCAPE '{_ESCAPE}'" for column, _ in needles)
    return _found(
        db,
        f"SELECT {_COLUMNS} FROM codemap_name WHERE {where}",
        ["%" + like(needle) + "%" for _, needle in needles],
    )


def in_order(db: sqlite3.Connection, text: str) -> Found:
    """Names holding the query's characters in order (a superset of every tier)."""
    pattern = "%" + "%".join(like(c) for c in text) + "%"
    return _found(
        db, f"SELECT {_COLUMNS} FROM codemap_name WHERE lname LIKE ? ESCAPE '{_ESCAPE}'", (pattern,)
    )


class Names:
    """Every distinct name as joined lines, to find the word, substring and subsequence
    stages' names in C (`blob.Blob`) instead of a scan in SQLite (~10 ms a column over the
    stdlib's names). Names are only ever added: `update` appends those with a higher id.
    Bounded by the distinct names, not by files or symbols (copies of a tree add none); kept
    in the budgeted `codemap.names` cache and read again when evicted."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.rows: list[tuple[str, str, str]] = []
        self.last_id = 0
        self._blobs: tuple[Blob, ...] | None = None
        self._lock = threading.Lock()  # searches run in several threads

    def update(self, db: sqlite3.Connection) -> None:
        with self._lock:
            added = db.execute(
                f"SELECT id, {_COLUMNS} FROM codemap_name WHERE id > ? ORDER BY id",
                (self.last_id,),
            ).fetchall()
            if added:
                self.last_id = added[-1][0]
                self.names += [row[1] for row in added]
                self.rows += [row[2:] for row in added]
                self._blobs = None

    @property
    def size(self) -> int:
        return 4 * sum(60 + len(name) for name in self.names)

    def _columns(self) -> tuple[Blob, ...]:
        """(lowercased, marked words, initials), line for line with `names`."""
        with self._lock:
            if self._blobs is None:
                columns = list(zip(*self.rows, strict=True)) or [(), (), ()]
                self._blobs = tuple(Blob(list(column)) for column in columns)
            return self._blobs

    def _at(self, lines: set[int] | Sequence[int]) -> Found:
        names, rows = self.names, self.rows
        return {names[i]: rows[i] for i in lines}

    def holding(self, query: str, text: str) -> Found:
        """`holding`, in memory."""
        blobs = dict(zip(("lname", "marked", "initials"), self._columns(), strict=True))
        lines: set[int] = set()
        for column, needle in _needles(query, text):
            lines.update(blobs[column].find_all(needle))
        return self._at(lines)

    def in_order(self, query: str) -> Found:
        """`in_order`, in memory: the subsequence scan of `searchquery.Query`."""
        return self._at(set(Query(query).subsequence(self._columns()[0])))


class Tiers:
    """One query's tier for a name, as `searchquery.Query` decides it over a view."""

    def __init__(self, query: str) -> None:
        self.text = text = query.lower()
        self.marked = words(query)[0]
        self.compact = text.replace("_", "")
        escaped = [re.escape(c) for c in text]
        gaps = "".join(f"[^{c}\\n]*+{c}" for c in escaped[1:])
        self._in_order = re.compile(escaped[0] + gaps).search

    def tier(self, lname: str, marked: str, initials: str) -> int | None:
        text, compact, query_marked = self.text, self.compact, self.marked
        if lname.startswith(text):
            return 0 if lname == text else 1
        by_initials = len(compact) > 1
        by_words = len(query_marked) > 1
        if by_initials and initials == compact:
            return 2
        if (by_initials and initials.startswith(compact)) or (
            by_words and marked.startswith(query_marked)
        ):
            return 3
        if (by_initials and compact in initials) or (by_words and query_marked in marked):
            return 4
        if text in lname:
            return 5
        return 6 if self._in_order(lname) else None


def by_tier(query: str, found: Mapping[str, tuple[str, str, str]]) -> dict[int, list[str]]:
    """The names by their tier (an index into `STEPS`); names matching none left out."""
    tiers = Tiers(query)
    grouped: dict[int, list[str]] = {}
    for name, (lname, marked, initials) in found.items():
        step = tiers.tier(lname, marked, initials)
        if step is not None:
            grouped.setdefault(step, []).append(name)
    return grouped
