"""One search query: its patterns, and the candidate lines of a view, tier by tier.

Tiers, best first (``match`` and score in brackets): the exact name [exact 1.0]; a name prefix
[prefix 0.8]; the query as the initials of the whole name (``gfs``: ``get_field_size``,
``jr``: ``JsonResponse``) [word 0.7], as the initials of its first words or spelling words
from its first one (``file_sum``, ``FileSum`` for ``file_summary_of``) [word 0.65], then from
any word start [word 0.6]; a substring [substring 0.4]; an in-order subsequence
[subsequence 0.2]. Names split into words on ``_``, camelCase humps and digits.

A query with a dot matches qualified names: exact, or a dotted suffix (``Class.meth`` finds
``Outer.Class.meth``) [exact 1.0]; a module path and a qualified name (``django.shortcuts.render``,
``pkg.mod.Class.method``: any dotted suffix of the file's module) [exact 1.0], or a package
holding the module (``django.http.JsonResponse``, defined in ``django/http/response.py``)
[exact 0.9]; the name starting with the last part under a parent whose trailing segments start
with the other parts (``Cl.me``), or a module path and a qualified name's start [prefix 0.8];
then a substring [substring 0.4].
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from functools import cached_property
from heapq import merge
from typing import TYPE_CHECKING

from aegisd_codemap.blob import Blob
from aegisd_codemap.ranking import Row, module_path

if TYPE_CHECKING:
    from aegisd_codemap.search import _View

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+|[^\W\d_]+")
MARK = "\x01"  # put before each word start in the "marked" names
_LONG_QUERY = 12
_RARE_LINES = 8  # a query character in fewer than 1 line in 8: its lines are tried one by one

Tier = tuple[str, float, Iterable[int]]
"""``(match, score, candidate lines in rank order)``."""


def words(name: str) -> tuple[str, str]:
    """``get_File2`` → (``^get^file^2``, ``gf2``): words marked by ``MARK``, and initials."""
    found = _WORD.findall(name)
    return (MARK + MARK.join(found)).lower(), "".join([w[0] for w in found]).lower()


def _parent(row: Row) -> str:
    """The lowercased qualified name of what encloses the symbol ("" at module level)."""
    name, qual = row[1].lower(), row[2].lower()
    return qual[: -len(name) - 1] if qual.endswith("." + name) else ""


def _nothing(needle: str) -> Iterator[int]:
    return iter(())


class ModulePaths:
    """Every indexed file's module path (`ranking.module_path`), a line each, to find in C the
    files a query's module part names."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.paths = list(paths)
        self.lines = Blob([module_path(path) for path in self.paths])

    def files(self, module: str, package: bool) -> set[str]:
        """Files whose module ``module`` names (a dotted suffix of it), or with ``package``,
        files inside the package it names."""
        if package:
            needles = ("\n" + module + ".", "." + module + ".")
        else:
            needles = ("\n" + module + "\n", "." + module + "\n")
        return {self.paths[i] for needle in needles for i in self.lines.find_all(needle)}


class Query:
    """One query's patterns, compiled once and scanned over every group."""

    def __init__(self, query: str) -> None:
        text = self.text = query.lower()
        self.dotted = "." in text
        # The query's own case and underscores mark where its words start, so ``FileSum`` and
        # ``file_sum`` both find ``get_file_summary`` and ``GetFileSummary``.
        self.marked = words(query)[0]
        self.compact = text.replace("_", "")
        self.chars = sorted(set(text))
        head, _, self.last = text.rpartition(".")
        parts = [re.escape(p) + r"[^.]*" for p in head.split(".")] if head else []
        self.parent = re.compile(r"(?:^|\.)" + r"\.".join(parts) + "$")
        dots = [p for p in text.split(".") if p]
        #: (module, qualified name) for each way to read the query as module + qualname
        self.splits = [(".".join(dots[:k]), ".".join(dots[k:])) for k in range(1, len(dots))]
        #: per (module part, package or not): the files it names, and their groups
        self._files: dict[tuple[str, bool], tuple[set[str], set[object]]] = {}

    def locate(self, modules: ModulePaths, group_of: Callable[[str], object]) -> None:
        """Find the files each reading of a dotted query as module + name points to."""
        for module, _ in self.splits:
            for package in (False, True):
                files = modules.files(module, package)
                self._files[module, package] = files, {group_of(path) for path in files}

    @cached_property
    def _patterns(self) -> tuple[re.Pattern[str], re.Pattern[str]]:
        """The subsequence patterns: anywhere, and from a line start (compiled only for a
        query that gets as far as that tier)."""
        text = self.text
        escaped = [re.escape(c) for c in text]
        # Possessive gaps: the earliest subsequence is found without backtracking.
        gaps = "".join(f"[^{c}\\n]*+{c}" for c in escaped[1:])
        # Long queries first skip lines too short to hold them (most lines, measured on the
        # stdlib); for short ones the check costs more than it saves.
        line = f"\\n(?=[^\\n]{{{len(text)}}})" if len(text) >= _LONG_QUERY else "\\n"
        by_line = f"{line}[^{escaped[0]}\\n]*+{escaped[0]}" + gaps
        return re.compile(escaped[0] + gaps), re.compile(by_line)

    def tiers(self, view: _View, group: object) -> Iterator[Tier]:
        """Candidate lines of ``view`` (of the group ``group``) per tier, each in rank order."""
        if self.dotted:
            yield from self._dotted_tiers(view, group)
            return
        names = view.names
        # No line holds the query (a miss, 10% of bench/index.py's): no exact, prefix or
        # substring hit either, and one pass over the names tells, not three.
        held = names.text.find(self.text) >= 0
        yield "exact", 1.0, names.find_all("\n" + self.text + "\n") if held else ()
        yield "prefix", 0.8, names.find_all("\n" + self.text) if held else ()
        yield from self._word_tiers(view)
        yield "substring", 0.4, names.find_all(self.text) if held else ()
        yield "subsequence", 0.2, self.subsequence(names)

    def _word_tiers(self, view: _View) -> Iterator[Tier]:
        """Initials of the whole name, then of its first words (or its first words spelled
        out), then from any word start. One letter is the initial of too many names; a group
        where the initials (or the spelled words) occur nowhere is not scanned again."""
        compact, marked = self.compact, self.marked
        by_initials = len(compact) > 1 and view.initials.text.find(compact) >= 0
        by_words = len(marked) > 1 and view.marked.text.find(marked) >= 0
        initials = view.initials.find_all if by_initials else _nothing
        spelled = view.marked.find_all if by_words else _nothing
        yield "word", 0.7, initials("\n" + compact + "\n")
        yield "word", 0.65, merge(initials("\n" + compact), spelled("\n" + marked))
        yield "word", 0.6, merge(initials(compact), spelled(marked))

    def subsequence(self, names: Blob) -> Iterable[int]:
        """Lines of `names` (lowercased) holding the query's characters in order."""
        # Only lines holding the query's rarest character can match: when those are few (a
        # miss like "Azz": 'z' is in ~1% of the stdlib's names) the pattern is tried on them
        # alone, not scanned over the whole text (~10 ms for the stdlib's 72k names).
        rarest = min(self.chars, key=names.count)
        holding = names.count(rarest)
        if not holding:
            return ()
        lines = len(names.starts) - 1
        anywhere, from_line_start = self._patterns
        if holding * _RARE_LINES < lines:
            search, text, starts = anywhere.search, names.text, names.starts
            return (i for i in names.find_all(rarest) if search(text, starts[i], starts[i + 1]))
        # Anchoring at each line start costs a pass over every character; starting at each
        # occurrence of the first query character is cheaper while that character is rarer
        # than about one in thirty (measured on the stdlib's names).
        by_line = names.count(self.text[0]) * 30 > len(names.text)
        return names.scan(from_line_start if by_line else anywhere)

    def _qualified(self, view: _View, group: object, whole: bool, package: bool) -> list[int]:
        """Lines whose qualified name is (``whole``) or starts with the query's part after a
        module part, in a file of that module (``package``: under that package)."""
        quals, rows = view.quals, view.rows
        found: set[int] = set()
        for module, rest in self.splits:
            files, groups = self._files.get((module, package), (set(), set()))
            if group not in groups:
                continue
            for i in quals.find_all("\n" + rest + ("\n" if whole else "")):
                if rows[i][4] in files:
                    found.add(i)
        return sorted(found)

    def _dotted_tiers(self, view: _View, group: object) -> Iterator[Tier]:
        suffix = view.quals.find_all("." + self.text + "\n")
        whole = view.quals.find_all("\n" + self.text + "\n")
        yield "exact", 1.0, sorted({*whole, *suffix})
        yield "exact", 1.0, self._qualified(view, group, whole=True, package=False)
        yield "exact", 0.9, self._qualified(view, group, whole=True, package=True)
        parent_ok: Callable[[str], object] = self.parent.search
        rows = view.rows
        under = view.names.find_all("\n" + self.last)
        yield "prefix", 0.8, (i for i in under if parent_ok(_parent(rows[i])))
        yield "prefix", 0.8, self._qualified(view, group, whole=False, package=False)
        yield "substring", 0.4, view.quals.find_all(self.text)
