"""Clones as the index keeps them: located, oriented, previewed only when asked for."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter

from aegisd_similarity.match import Match
from aegisd_similarity.models import Clone, Location, preview
from aegisd_similarity.tokens import FileTokens

__all__ = ["Found", "SourceLines", "clones_of", "covered_lines", "order"]


@dataclass(frozen=True, slots=True)
class Found:
    """A clone before its preview is made (most queries show a few of many clones)."""

    first: Location
    second: Location
    match: Match
    source: FileTokens  # the file of `first`, for its preview
    pair: int  # the index's key of the two files' pair (0 outside the index)
    rank: tuple[int, str, int, str, int, int, int]  # the sort key: largest first, then by place

    @classmethod
    def of(cls, a: FileTokens, b: FileTokens, m: Match, pair: int = 0) -> Found:
        first = Location(a.path, a.line_of(m.a_start), a.line_of(m.a_end - 1))
        second = Location(b.path, b.line_of(m.b_start), b.line_of(m.b_end - 1))
        rank = (
            -m.tokens,
            first.path,
            first.start_line,
            second.path,
            second.start_line,
            m.a_start,  # so that only clones starting at the same tokens tie
            m.b_start,
        )
        return cls(first, second, m, a, pair, rank)


order = attrgetter("rank")
"""The sort key of `Found`s (a C-level getter: sorts of many clones are hot)."""


class SourceLines:
    """The lines of the files clones were last previewed from, by path (a report after an
    edit previews mostly the same files again, and unpacking them is most of its cost)."""

    def __init__(self, size: int = 128) -> None:
        self.size = size
        self._lines: OrderedDict[str, tuple[FileTokens, list[str]]] = OrderedDict()

    def __call__(self, tokens: FileTokens) -> list[str]:
        cached = self._lines.get(tokens.path)
        if cached is not None and cached[0] is tokens:
            self._lines.move_to_end(tokens.path)
            return cached[1]
        lines = tokens.source.split("\n")
        self._lines[tokens.path] = (tokens, lines)
        if len(self._lines) > self.size:
            self._lines.popitem(last=False)
        return lines


def clones_of(found: list[Found], lines_of: Callable[[FileTokens], list[str]]) -> list[Clone]:
    """Clones with previews; `lines_of` splits a file into lines (a `SourceLines`)."""
    out = []
    for f in found:
        m, a = f.match, f.first
        text = preview(lines_of(f.source), a.start_line, a.end_line)
        out.append(Clone(m.type, m.similarity, m.tokens, a, f.second, text))
    return out


def covered_lines(ranges: list[tuple[int, int]]) -> int:
    """How many lines the inclusive ranges cover together."""
    total, reach = 0, 0
    for start, end in sorted(ranges):
        if end > reach:
            total += end - max(start - 1, reach)
            reach = end
    return total
