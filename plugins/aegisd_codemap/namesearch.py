"""Which distinct names (`codemap_name`) match a query without a dot, and in which tier.

A symbol's tier depends on its name alone (`searchquery`: exact, prefix, three word tiers,
substring, subsequence). `sqlsearch` reads the exact and prefix tiers by the symbols' own
lowercased names; the later tiers' names are found here, tier by tier as far as the answer
needs: line by line over every name in memory (`Names`, `NameLines.tiers`, as
`searchquery.Query` finds them in a view) or, without it, in SQLite (`stored_tiers`: the
trigram index when every needle has three characters, else a scan; `tier` decides a name's
tier exactly as `searchquery.Query` does).

Blocking I/O: run in a thread.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aegisd_codemap.blob import Blob
from aegisd_codemap.namestore import fts_mark
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
    it (substring): a superset of those tiers. Through the trigram index where it can (every
    needle three characters or more), for the names it has caught up with; else a scan."""
    needles = _needles(query, text)
    where = " OR ".join(f"{column} LIKE ? ESCAPE '{_ESCAPE}'" for column, _ in needles)
    likes = ["%" + like(needle) + "%" for _, needle in needles]
    if not (fts and all(len(needle) >= 3 for _, needle in needles)):
        return _found(db, f"SELECT {_COLUMNS} FROM codemap_name WHERE {where}", likes)
    match = " OR ".join(f"{column} : {_phrase(needle)}" for column, needle in needles)
    return _found(
        db,
        f"SELECT {_COLUMNS} FROM codemap_name WHERE id IN"
        f" (SELECT rowid FROM {NAME_FTS} WHERE {NAME_FTS} MATCH ?)"
        f" OR (id > ? AND ({where}))",
        [match, fts_mark(db), *likes],
    )


def in_order(db: sqlite3.Connection, text: str) -> Found:
    """Names holding the query's characters in order (a superset of every tier)."""
    pattern = "%" + "%".join(like(c) for c in text) + "%"
    return _found(
        db, f"SELECT {_COLUMNS} FROM codemap_name WHERE lname LIKE ? ESCAPE '{_ESCAPE}'", (pattern,)
    )


TierNames = Iterator[tuple[int, list[str]]]
"""The names of each tier after prefix (an index into `STEPS`), in tier order."""


def stored_tiers(db: sqlite3.Connection, query: str, text: str, fts: bool) -> TierNames:
    """`NameLines.tiers` without the names in memory: the names found in SQLite."""
    held = holding(db, query, text, fts)
    tiers = by_tier(query, held)
    for step in range(PREFIX + 1, SUBSEQUENCE):
        yield step, tiers.get(step, [])
    # Every name of an earlier tier holds the query's text, initials or words (`held`).
    yield SUBSEQUENCE, [name for name in in_order(db, text) if name not in held]


@dataclass(frozen=True)
class NameLines:
    """The names at one moment, line for line with their joined columns (lowercased, marked
    words, initials). Lines are only appended to the lists: a line number stays valid."""

    names: list[str]
    blobs: tuple[Blob, Blob, Blob]

    def tiers(self, query: str, text: str) -> TierNames:
        """The names of the word tiers (initials of the whole name, of its first words,
        from any word start), the substring and the subsequence tier, in that order, each
        without the names of earlier tiers (nor those starting with `text`: exact and
        prefix). Found line by line as `searchquery.Query` finds them in a view, and only as
        far as the caller reads."""
        lname, marked, initials = self.blobs
        compact, query_marked = text.replace("_", ""), words(query)[0]
        # One letter is the initial (or the word) of too many names: no word tier then.
        by_initials, by_words = len(compact) > 1, len(query_marked) > 1
        # Each column is scanned once for its needle; a hit's tier is decided from its line.
        word_tiers: list[set[int]] = [set(), set(), set()]  # whole initials, first, any
        if by_initials:
            for i in initials.find_all(compact):
                line = initials.line(i)
                word_tiers[0 if line == compact else 1 if line.startswith(compact) else 2].add(i)
        if by_words:
            for i in marked.find_all(query_marked):
                word_tiers[1 if marked.line(i).startswith(query_marked) else 2].add(i)
        held = lname.text.find(text) >= 0  # else no name holds it, nor starts with it
        seen = set(lname.find_all("\n" + text)) if held else set()
        steps: list[Callable[[], set[int]]] = [
            lambda: word_tiers[0],
            lambda: word_tiers[1],
            lambda: word_tiers[2],
            lambda: set(lname.find_all(text)) if held else set(),
            lambda: set(Query(query).subsequence(lname)),
        ]
        names = self.names
        for step, found in enumerate(steps, PREFIX + 1):
            fresh = found() - seen
            seen |= fresh
            yield step, list({names[i] for i in fresh})  # a name stored again has two lines


class Names:
    """Every distinct name as joined lines (`NameLines`), to find the word, substring and
    subsequence stages' names in C (`blob.Blob`) instead of a scan in SQLite (~10 ms a column
    over the stdlib's names). `update` appends the names with a higher id, extending the
    joined lines (an edit's new name costs a copy of the text, not a rebuild). A name deleted
    from the store stays here (it has no symbols: it finds nothing) until most lines are such
    names; then all are read again. Bounded by the distinct names, not by files or symbols
    (copies of a tree add none); kept in the budgeted `codemap.names` cache and read again
    when evicted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # searches run in several threads
        #: a write landed since the last `update` (set by `index.WorkspaceIndex.stored`)
        self.stale = True
        self._clear()

    def _clear(self) -> None:
        empty = Blob([])
        self.lines = NameLines([], (empty, empty, empty))
        self.last_id = 0
        self.size = 0  # about the bytes held
        self._recount_at = 0  # lines past which the store's names are counted again

    def __len__(self) -> int:
        return len(self.lines.names)

    def update(self, db: sqlite3.Connection) -> NameLines:
        """Take in the names stored since (unless nothing was stored since the last look:
        `stale`); the lines as they are now. Call it first in a read transaction: its query
        starts the snapshot, so a write that lands after it marks the names stale again."""
        with self._lock:
            if not self.stale:
                return self.lines
            self.stale = False
            try:
                added = db.execute(
                    f"SELECT id, {_COLUMNS} FROM codemap_name WHERE id > ? ORDER BY id",
                    (self.last_id,),
                ).fetchall()
            except BaseException:
                self.stale = True
                raise
            if not added:
                return self.lines
            if len(self) + len(added) > self._recount_at:
                # Grown by a quarter: if most lines are names deleted since, read afresh.
                stored = db.execute("SELECT count(*) FROM codemap_name").fetchone()[0]
                if len(self) + len(added) > 2 * stored:
                    self._clear()
                    added = db.execute(
                        f"SELECT id, {_COLUMNS} FROM codemap_name ORDER BY id"
                    ).fetchall()
                self._recount_at = (len(self) + len(added)) * 5 // 4
            self.last_id = added[-1][0]
            rows = [row[2:] for row in added]
            # Appended in place: older `NameLines` never look past their own blobs' lines.
            self.lines.names.extend(row[1] for row in added)
            # The name and its three columns' text, their line starts, a list slot.
            self.size += sum(100 + 4 * len(row[1]) for row in added)
            lname, marked, initials = self.lines.blobs
            blobs = (
                lname.extended([row[0] for row in rows]),
                marked.extended([row[1] for row in rows]),
                initials.extended([row[2] for row in rows]),
            )
            self.lines = NameLines(self.lines.names, blobs)
            return self.lines


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
