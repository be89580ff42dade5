"""Ranked symbol search over an in-memory index, updated per file.

Matching is case-insensitive, in tiers: exact name, name prefix, word (the query is a run of word
initials, ``gfs`` / ``GFS`` for ``get_file_summary`` / ``GetFileSummary``, or spells words from a
word start, ``summ``, ``file_sum``, ``FileSum``, where the query's own underscores and case say
where its words begin; names split into words on ``_``, camelCase and digits), substring, then
in-order subsequence. A query with a dot matches qualified names: exact or dotted suffix
(``Class.meth`` finds ``Outer.Class.meth``), then the name starting with the last part under a
parent whose trailing segments start with the other parts (``Cl.me``), then substring. Within a
tier, ties go to the shorter path, then kind (classes first), then name.

Speed comes from scanning strings in C instead of looping over symbols in Python: symbols are
grouped by path length (the first tie-break), and each group keeps its names, initials and
qualified names as newline-joined strings in rank order, searched with ``str.find`` and ``re``.
The first hits found are the best of their tier, so a query stops as soon as ``limit`` hits are
in, and a changed file only rebuilds its own group.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from fnmatch import translate
from heapq import merge
from itertools import accumulate

_KINDS = ("class", "interface", "struct", "union", "enum", "typedef", "namespace")
_KIND_RANK = {kind: rank for rank, kind in enumerate((*_KINDS, "function", "method"))}
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+|[^\W\d_]+")
_MARK = "\x01"  # put before each word start in the "marked" names
_LONG_QUERY = 12
_MAX_VIEWS = 16  # per group: all, per kind, per recent glob
_NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_"
_RARE_LINES = 8  # a query character in fewer than 1 line in 8: its lines are tried one by one
_OFFSET = "i"  # line starts: 4 bytes each (a group's joined names stay far below 2 GiB)
_SCORES = {"exact": 1.0, "prefix": 0.8, "word": 0.6, "substring": 0.4, "subsequence": 0.2}

Row = tuple[int, str, str, str, str]
"""``(symbol_id, name, qualname, kind, path)``, what the index is built from."""


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


def _words(name: str) -> tuple[str, str]:
    """``get_File2`` → (``^get^file^2``, ``gf2``): words marked by ``_MARK``, and initials."""
    words = _WORD.findall(name)
    return (_MARK + _MARK.join(words)).lower(), "".join([w[0] for w in words]).lower()


def _rank(row: Row) -> tuple[int, str, str, str, int]:
    """The order within a group (the path length is the group): kind, name, path, id."""
    symbol_id, name, _, kind, path = row
    return (_KIND_RANK.get(kind, len(_KIND_RANK)), name.lower(), name, path, symbol_id)


def _parent(row: Row) -> str:
    """The lowercased qualified name of what encloses the symbol ("" at module level)."""
    name, qual = row[1].lower(), row[2].lower()
    return qual[: -len(name) - 1] if qual.endswith("." + name) else ""


class _Blob:
    """Lines joined as ``\\n a \\n b \\n``; ``starts[i]`` is where line ``i`` begins."""

    def __init__(self, lines: list[str]) -> None:
        self.text = "\n" + "\n".join(lines) + "\n"
        # A C int array, not a list: a list holds an int object per line (8x the memory).
        self.starts = array(_OFFSET, accumulate((len(line) + 1 for line in lines), initial=1))
        self._counts: dict[str, int] = {}

    def find_all(self, needle: str) -> Iterator[int]:
        """Lines containing ``needle`` (a leading ``\\n`` anchors it to the line start)."""
        lead = needle.startswith("\n")
        find, starts = self.text.find, self.starts
        last = len(starts) - 1  # starts ends with the end of the text
        position = find(needle)
        while position >= 0:
            index = bisect_right(starts, position + lead) - 1
            if index >= last:  # the final newline, found by a bare "\n" needle
                return
            yield index
            position = find(needle, starts[index + 1] - 1)

    def scan(self, pattern: re.Pattern[str]) -> Iterator[int]:
        """Lines where ``pattern`` matches (a line may repeat)."""
        starts = self.starts
        for match in pattern.finditer(self.text):
            yield bisect_right(starts, match.start() + (match.group()[:1] == "\n")) - 1

    def lines(self) -> list[str]:
        return self.text[1:-1].split("\n")

    def spliced(self, edits: list[tuple[int, Row | None]], added: list[str]) -> _Blob:
        """A copy with the edits applied: (old line index, None) drops that line, (old line
        index, row) puts the next of `added` before it; `edits` are in order."""
        text, starts = self.text, self.starts
        pieces = ["\n"]
        out = array(_OFFSET)
        length = 1  # of the new text so far
        at = 0  # the next old line not yet copied
        fresh = iter(added)

        def copy_to(end: int) -> None:
            nonlocal length
            if end <= at:
                return
            shift = length - starts[at]
            pieces.append(text[starts[at] : starts[end]])
            out.extend(starts[at:end] if not shift else (s + shift for s in starts[at:end]))
            length += starts[end] - starts[at]

        for index, row in edits:
            copy_to(index)
            if row is None:
                at = max(at, index + 1)
            else:
                at = max(at, index)
                line = next(fresh)
                pieces.append(line + "\n")
                out.append(length)
                length += len(line) + 1
        copy_to(len(starts) - 1)
        out.append(length)
        blob = _Blob.__new__(_Blob)
        blob.text, blob.starts, blob._counts = "".join(pieces), out, {}
        return blob

    def count(self, char: str) -> int:
        found = self._counts.get(char)
        if found is None:
            found = self._counts[char] = self.text.count(char)
        return found


class _View:
    """One group's rows (optionally of one kind) in rank order, as searchable strings.

    Only the rows and the joined strings are kept: per-symbol derived strings would cost
    several times the memory of the symbols themselves. A view rebuilt after an edit copies
    the strings of the rows it shares with an earlier view (a symbol id always names the same
    row) out of that view's joined strings, so an edit costs word splitting for its own rows
    only.
    """

    names: _Blob
    marked: _Blob
    initials: _Blob
    quals: _Blob

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
        view.names, view.marked = _Blob(names), _Blob(marked)
        view.initials, view.quals = _Blob(initials), _Blob(quals)
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
                words = _words(row[1])
                names.append(row[1].lower())
                marked.append(words[0])
                initials.append(words[1])
                quals.append(row[2].lower())
            else:
                names.append(reused[0][i])
                marked.append(reused[1][i])
                initials.append(reused[2][i])
                quals.append(reused[3][i])
        self.names = _Blob(names)
        self.marked = _Blob(marked)
        self.initials = _Blob(initials)
        self.quals = _Blob(quals)


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
            *_words(row[1]),
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


class _Query:
    """One query's patterns, compiled once and scanned over every group."""

    def __init__(self, query: str) -> None:
        text = self.text = query.lower()
        self.dotted = "." in text
        # The query's own case and underscores mark where its words start, so ``FileSum`` and
        # ``file_sum`` both find ``get_file_summary`` and ``GetFileSummary``.
        self.marked = _words(query)[0]
        escaped = [re.escape(c) for c in text]
        # Possessive gaps: the earliest subsequence is found without backtracking.
        gaps = "".join(f"[^{c}\\n]*+{c}" for c in escaped[1:])
        self.subsequence = re.compile(escaped[0] + gaps)
        # Long queries first skip lines too short to hold them (most lines, measured on the
        # stdlib); for short ones the check costs more than it saves.
        line = f"\\n(?=[^\\n]{{{len(text)}}})" if len(text) >= _LONG_QUERY else "\\n"
        self.subsequence_by_line = re.compile(f"{line}[^{escaped[0]}\\n]*+{escaped[0]}" + gaps)
        self.compact = text.replace("_", "")
        self.chars = sorted(set(text))
        head, _, self.last = text.rpartition(".")
        parts = [re.escape(p) + r"[^.]*" for p in head.split(".")] if head else []
        self.parent = re.compile(r"(?:^|\.)" + r"\.".join(parts) + "$")

    def tiers(self, view: _View) -> Iterator[tuple[str, Iterable[int]]]:
        """Candidate lines of ``view`` per tier, each in rank order."""
        if self.dotted:
            yield from self._dotted_tiers(view)
            return
        names = view.names
        # No line holds the query (a miss, 10% of bench/index.py's): no exact, prefix or
        # substring hit either, and one pass over the names tells, not three.
        held = names.text.find(self.text) >= 0
        yield "exact", names.find_all("\n" + self.text + "\n") if held else ()
        yield "prefix", names.find_all("\n" + self.text) if held else ()
        initials = view.initials.find_all(self.compact) if len(self.compact) > 1 else ()
        marked = view.marked.find_all(self.marked) if len(self.marked) > 1 else ()
        yield "word", merge(initials, marked)
        yield "substring", names.find_all(self.text) if held else ()
        yield "subsequence", self._subsequence(names)

    def _subsequence(self, names: _Blob) -> Iterable[int]:
        # Only lines holding the query's rarest character can match: when those are few (a
        # miss like "Azz": 'z' is in ~1% of the stdlib's names) the pattern is tried on them
        # alone, not scanned over the whole text (~10 ms for the stdlib's 72k names).
        rarest = min(self.chars, key=names.count)
        holding = names.count(rarest)
        if not holding:
            return ()
        lines = len(names.starts) - 1
        if holding * _RARE_LINES < lines:
            search, text, starts = self.subsequence.search, names.text, names.starts
            return (i for i in names.find_all(rarest) if search(text, starts[i], starts[i + 1]))
        # Anchoring at each line start costs a pass over every character; starting at each
        # occurrence of the first query character is cheaper while that character is rarer
        # than about one in thirty (measured on the stdlib's names).
        by_line = names.count(self.text[0]) * 30 > len(names.text)
        return names.scan(self.subsequence_by_line if by_line else self.subsequence)

    def _dotted_tiers(self, view: _View) -> Iterator[tuple[str, Iterable[int]]]:
        suffix = view.quals.find_all("." + self.text + "\n")
        whole = view.quals.find_all("\n" + self.text + "\n")
        yield "exact", sorted({*whole, *suffix})
        parent_ok = self.parent.search
        rows = view.rows
        under = view.names.find_all("\n" + self.last)
        yield "prefix", (i for i in under if parent_ok(_parent(rows[i])))
        yield "substring", view.quals.find_all(self.text)


class SymbolSearch:
    """A symbol index answering ranked queries; rows are added and removed per file."""

    def __init__(self, rows: Iterable[Row] = ()) -> None:
        self._groups: dict[int, _Group] = {}
        self._lengths: list[int] = []
        self._paths: dict[str, list[int]] = {}  # lists, not sets: a third of the memory
        self.add(rows)

    def __len__(self) -> int:
        return sum(len(group.rows) for group in self._groups.values())

    def add(self, rows: Iterable[Row]) -> None:
        """Add symbols; a ``symbol_id`` already present for the same path is replaced."""
        for row in rows:
            symbol_id, path = row[0], row[4]
            group = self._groups.get(len(path))
            if group is None:
                group = self._groups[len(path)] = _Group()
                self._lengths = sorted(self._groups)
            if symbol_id not in group.rows:
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
        group = self._groups.get(len(path))
        if group is None or not ids:
            return
        for symbol_id in ids:
            del group.rows[symbol_id]
        del group.paths[path]
        group.changed()
        if not group.rows:
            del self._groups[len(path)]
            self._lengths = sorted(self._groups)

    def replace_path(self, path: str, rows: Iterable[Row]) -> None:
        """A re-indexed file: drop its old symbols, add the new ones."""
        self.remove_path(path)
        self.add(rows)

    def query(
        self, query: str, kind: str | None = None, path_glob: str | None = None, limit: int = 50
    ) -> list[Hit]:
        """The best ``limit`` symbols for ``query``, optionally of one ``kind`` and with a path
        matching ``path_glob`` (fnmatch style: ``*`` also crosses ``/``)."""
        query = query.strip()
        if not query.strip(".") or limit <= 0:
            return []
        plan = _Query(query)
        path_ok = re.compile(translate(path_glob)).match if path_glob else None
        running: list[tuple[Iterator[tuple[str, Iterable[int]]], list[Row]]] = []
        for length in self._lengths:
            group = self._groups[length]
            if path_ok is None:
                view = group.view(kind)
            else:
                paths = {p for p in group.paths if path_ok(p)}
                if not paths:
                    continue
                everything = len(paths) == len(group.paths)
                view = group.view(kind) if everything else group.view(kind, path_glob, paths)
            running.append((plan.tiers(view), view.rows))
        hits: list[Hit] = []
        seen: set[int] = set()
        # Tier by tier, each over the groups in path-length order: hits arrive in rank order.
        while running:
            still = []
            for tiers, rows in running:
                step = next(tiers, None)
                if step is None:
                    continue
                still.append((tiers, rows))
                tier, candidates = step
                for index in candidates:
                    symbol_id, name, qualname, symbol_kind, path = rows[index]
                    if symbol_id in seen:
                        continue
                    seen.add(symbol_id)
                    hits.append(
                        Hit(symbol_id, _SCORES[tier], tier, name, qualname, symbol_kind, path)
                    )
                    if len(hits) >= limit:
                        return hits
            running = still
        return hits
