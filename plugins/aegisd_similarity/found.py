"""Clones as the index keeps them: located, oriented, previewed only when asked for."""

from __future__ import annotations

from dataclasses import dataclass

from aegisd_similarity.match import Match
from aegisd_similarity.models import Clone, Location, preview
from aegisd_similarity.tokens import FileTokens

__all__ = ["Found", "clones_of", "covered_lines"]


@dataclass(frozen=True, slots=True)
class Found:
    """A clone before its preview is made (most queries show a few of many clones)."""

    first: Location
    second: Location
    match: Match
    source: FileTokens  # the file of `first`, for its preview

    @classmethod
    def of(cls, a: FileTokens, b: FileTokens, m: Match) -> Found:
        first = Location(a.path, a.line_of(m.a_start), a.line_of(m.a_end - 1))
        second = Location(b.path, b.line_of(m.b_start), b.line_of(m.b_end - 1))
        return cls(first, second, m, a)

    def order(self) -> tuple[int, str, int, str, int]:
        """Largest first, then by place."""
        a, b = self.first, self.second
        return (-self.match.tokens, a.path, a.start_line, b.path, b.start_line)


def clones_of(found: list[Found]) -> list[Clone]:
    """Clones with previews, splitting each previewed file into lines once."""
    split: dict[str, list[str]] = {}
    out = []
    for f in found:
        lines = split.get(f.first.path)
        if lines is None:
            lines = split[f.first.path] = f.source.source.split("\n")
        m, a = f.match, f.first
        text = preview(lines, a.start_line, a.end_line)
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
