"""Ranked symbol search over an in-memory index, updated per file.

Matching is case-insensitive, in tiers (`searchquery`: exact name, prefix, initials and word
starts, substring, subsequence; for a dotted query qualified and module-qualified names).
Within a tier, ties go to definitions outside tests and fixtures, then to the shorter path, then
kind (classes first), then a `typing.overload` signature after its implementation, then name
(`ranking`).

Speed comes from scanning strings in C instead of looping over symbols in Python: symbols are
grouped by (in tests, path length), the first tie-breaks, and each group keeps its names,
initials and qualified names as newline-joined strings in rank order, searched with
``str.find`` and ``re``. The first hits found are the best of their tier, so a query stops as
soon as ``limit`` hits are in, and a changed file only rebuilds its own group.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from fnmatch import translate

from aegisd_codemap.blob import Blob
from aegisd_codemap.ranking import Row, in_tests, kind_rank
from aegisd_codemap.searchquery import ModulePaths, Query, Tier, words

_MAX_VIEWS = 16  # per group: all, per kind, per recent glob
_NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_"

GroupKey = tuple[bool, int]
"""(in tests or fixtures, path length): groups are searched in this order."""


@dataclass(frozen=True, slots=True)
class Hit:
    """One ranked result; ``match`` is its tier: exact, prefix, word, substring, subsequence."""

    symbol_id: int
    score: float
    match: str
    name: str
    qualname: str
    kind: str
    path: str


def _rank(row: Row) -> tuple[int, bool, str, str, str, int]:
    """The order within a group (the group is the first tie-break): kind, overload signatures
    after the rest, name, path, id."""
    symbol_id, name, _, kind, path, stub = row
    return (kind_rank(kind), stub, name.lower(), name, path, symbol_id)


def _group_key(path: str) -> GroupKey:
    return in_tests(path), len(path)


class _View:
    """One group's rows (optionally of one kind) in rank order, as searchable strings.

    Only the rows and the joined strings are kept: per-symbol derived strings would cost
    several times the memory of the symbols themselves. A view rebuilt after an edit copies
    the strings of the rows it shares with an earlier view (a symbol id always names the same
    row) out of that view's joined strings, so an edit costs word splitting for its own rows
    only.
    """

    names: Blob
    marked: Blob
    initials: Blob
    quals: Blob

    @classmethod
    def joined(
        cls,
        rows: list[Row],
        names: list[str],
        marked: list[str],
        initials: list[str],
        quals: list[str],
    ) -> _View:
        """A view of `rows` whose strings are already at hand, line for line."""
        view = cls.__new__(cls)
        view.rows = rows
        view.names, view.marked = Blob(names), Blob(marked)
        view.initials, view.quals = Blob(initials), Blob(quals)
        return view

    def __init__(self, rows: list[Row], earlier: _View | None = None) -> None:
        self.rows = rows
        where: dict[int, int] = {}
        reused: list[list[str]] = []
        if earlier is not None:
            where = {row[0]: i for i, row in enumerate(earlier.rows)}
            # Split whole (in C), not sliced line by line: a group holds thousands of rows.
            blobs = (earlier.names, earlier.marked, earlier.initials, earlier.quals)
            reused = [blob.lines() for blob in blobs]
        names: list[str] = []
        marked: list[str] = []
        initials: list[str] = []
        quals: list[str] = []
        for row in rows:
            i = where.get(row[0])
            if i is None:
                found = words(row[1])
                names.append(row[1].lower())
                marked.append(found[0])
                initials.append(found[1])
                quals.append(row[2].lower())
            else:
                names.append(reused[0][i])
                marked.append(reused[1][i])
                initials.append(reused[2][i])
                quals.append(reused[3][i])
        self.names = Blob(names)
        self.marked = Blob(marked)
        self.initials = Blob(initials)
        self.quals = Blob(quals)


class _Group:
    """Every symbol whose path has one length, with views built on demand.

    A view is the whole group, one kind of it, or (per glob, cached until the group changes)
    the part under a path glob, so filtered queries scan only what they may return.
    """

    def __init__(self) -> None:
        self.rows: dict[int, Row] = {}
        self.paths: dict[str, int] = {}
        self.views: dict[tuple[str | None, str | None], _View] = {}
        #: the last whole view before a change, whose strings the next one reuses
        self.earlier: _View | None = None

    def changed(self) -> None:
        """Rows were added or removed: views are rebuilt on demand."""
        self.earlier = self.views.get((None, None)) or self.earlier
        self.views.clear()

    def view(
        self, kind: str | None, glob: str | None = None, paths: AbstractSet[str] = frozenset()
    ) -> _View:
        view = self.views.get((kind, glob))
        if view is None:
            source: _View | None
            if glob is not None:
                source = self.view(kind)
                rows = [r for r in source.rows if r[4] in paths]
                if len(self.views) >= _MAX_VIEWS:  # forget old globs, keep kind views
                    self.views = {k: v for k, v in self.views.items() if k[1] is None}
            elif kind is not None:
                source = self.view(None)
                rows = [r for r in source.rows if r[3] == kind]
            else:
                source, self.earlier = self.earlier, None
                patched = _patched(source, self.rows) if source is not None else None
                if patched is not None:
                    self.views[kind, glob] = patched
                    return patched
                rows = sorted(self.rows.values(), key=_rank)
            view = self.views[kind, glob] = _View(rows, source)
        return view


def _patched(earlier: _View, now: dict[int, Row]) -> _View | None:
    """`earlier` brought up to `now` in place of a rebuild: the rows gone are cut out and the
    new ones put at their rank (found by bisection); each joined string is spliced from slices
    of the earlier one, and its line starts shifted, rather than split and re-joined. An edit
    changes one file's rows in a group of thousands, where rebuilding (and then re-splitting)
    showed in edit-to-search latency. None when most rows changed (a rebuild is as quick)."""
    rows = earlier.rows
    stale = [i for i, row in enumerate(rows) if now.get(row[0]) is not row]
    kept = len(rows) - len(stale)
    if (len(stale) + len(now) - kept) * 4 > len(rows):
        return None
    kept_ids = {row[0] for row in rows}.difference(rows[i][0] for i in stale)
    fresh = sorted((r for r in now.values() if r[0] not in kept_ids), key=_rank)
    # (old index, what happens there): inserts before the old row at that index, in rank order
    inserts = [(bisect_left(rows, _rank(row), key=_rank), row) for row in fresh]
    edits = sorted([*((i, None) for i in stale), *inserts], key=lambda e: (e[0], e[1] is None))
    strings = [
        (
            row[1].lower(),
            *words(row[1]),
            row[2].lower(),
        )
        for _, row in inserts
    ]
    new_rows: list[Row] = []
    at = 0  # the next old row not yet copied
    for index, row in edits:
        new_rows.extend(rows[at:index])
        if row is None:  # a stale row: skip it
            at = index + 1
        else:
            new_rows.append(row)
            at = index
    new_rows.extend(rows[at:])
    blobs = (earlier.names, earlier.marked, earlier.initials, earlier.quals)
    view = _View.__new__(_View)
    view.rows = new_rows
    view.names, view.marked, view.initials, view.quals = (
        blob.spliced(edits, [line[column] for line in strings]) for column, blob in enumerate(blobs)
    )
    return view


class SymbolSearch:
    """A symbol index answering ranked queries; rows are added and removed per file."""

    def __init__(self, rows: Iterable[Row] = ()) -> None:
        self._groups: dict[GroupKey, _Group] = {}
        self._order: list[GroupKey] = []
        #: module paths of the files, for module-qualified queries; rebuilt when files come or go
        self._modules: ModulePaths | None = None
        self._paths: dict[str, list[int]] = {}  # lists, not sets: a third of the memory
        self.add(rows)

    def __len__(self) -> int:
        return sum(len(group.rows) for group in self._groups.values())

    def add(self, rows: Iterable[Row]) -> None:
        """Add symbols; a ``symbol_id`` already present for the same path is replaced."""
        last_path, key = "", (False, 0)
        for row in rows:
            symbol_id, path = row[0], row[4]
            if path != last_path:  # rows come by file
                last_path, key = path, _group_key(path)
            group = self._groups.get(key)
            if group is None:
                group = self._groups[key] = _Group()
                self._order = sorted(self._groups)
            if symbol_id not in group.rows:
                if path not in self._paths:
                    self._modules = None  # a new file
                group.paths[path] = group.paths.get(path, 0) + 1
                self._paths.setdefault(path, []).append(symbol_id)
            group.rows[symbol_id] = row
            group.changed()

    def prepare(self) -> None:
        """Build the unfiltered views now (after a bulk load, off the event loop) rather than
        in the first query, and count the usual name characters in them: the subsequence tier
        picks a query's rarest character by these counts, and counting a character over the
        stdlib's names costs ~0.5 ms the first time it is asked for."""
        for group in self._groups.values():
            names = group.view(None).names
            for char in _NAME_CHARS:
                names.count(char)

    def remove_path(self, path: str) -> None:
        """Forget every symbol of ``path``."""
        ids = self._paths.pop(path, [])
        key = _group_key(path)
        group = self._groups.get(key)
        if group is None or not ids:
            return
        for symbol_id in ids:
            del group.rows[symbol_id]
        del group.paths[path]
        self._modules = None  # a file gone
        group.changed()
        if not group.rows:
            del self._groups[key]
            self._order = sorted(self._groups)

    def replace_path(self, path: str, rows: Iterable[Row]) -> None:
        """A re-indexed file: drop its old symbols, add the new ones."""
        modules, had = self._modules, path in self._paths
        self.remove_path(path)
        self.add(rows)
        if (path in self._paths) == had:
            self._modules = modules  # the same files as before: their modules are unchanged

    def query(
        self, query: str, kind: str | None = None, path_glob: str | None = None, limit: int = 50
    ) -> list[Hit]:
        """The best ``limit`` symbols for ``query``, optionally of one ``kind`` and with a path
        matching ``path_glob`` (fnmatch style: ``*`` also crosses ``/``)."""
        query = query.strip()
        if not query.strip(".") or limit <= 0:
            return []
        plan = Query(query)
        if plan.dotted:
            if self._modules is None:
                self._modules = ModulePaths(self._paths)
            plan.locate(self._modules, _group_key)
        path_ok = re.compile(translate(path_glob)).match if path_glob else None
        running: list[tuple[Iterator[Tier], list[Row]]] = []
        for key in self._order:
            group = self._groups[key]
            if path_ok is None:
                view = group.view(kind)
            else:
                paths = {p for p in group.paths if path_ok(p)}
                if not paths:
                    continue
                everything = len(paths) == len(group.paths)
                view = group.view(kind) if everything else group.view(kind, path_glob, paths)
            running.append((plan.tiers(view, key), view.rows))
        hits: list[Hit] = []
        seen: set[int] = set()
        # Tier by tier, each over the groups in order: hits arrive in rank order.
        while running:
            still = []
            for tiers, rows in running:
                step = next(tiers, None)
                if step is None:
                    continue
                still.append((tiers, rows))
                tier, score, candidates = step
                for index in candidates:
                    symbol_id, name, qualname, symbol_kind, path, _ = rows[index]
                    if symbol_id in seen:
                        continue
                    seen.add(symbol_id)
                    hits.append(Hit(symbol_id, score, tier, name, qualname, symbol_kind, path))
                    if len(hits) >= limit:
                        return hits
            running = still
        return hits
