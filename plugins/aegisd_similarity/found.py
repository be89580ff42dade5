"""Clones as the index finds and keeps them: located, oriented, previewed only when asked for."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from operator import attrgetter

from aegisd_similarity.match import CloneParams, Match, match_groups
from aegisd_similarity.models import Clone, Location, preview
from aegisd_similarity.store import CloneRow
from aegisd_similarity.tokens import FileTokens

__all__ = ["Found", "clones_of", "covered_lines", "match_rows", "order", "row_of"]

_LOW = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class Found:
    """A clone before its preview is made (most queries show a few of many clones)."""

    first: Location
    second: Location
    match: Match
    source: int  # the file id of `first`, for its preview
    rank: tuple[int, str, int, str, int, int, int]  # the sort key: largest first, then by place

    @classmethod
    def of(cls, a: FileTokens, b: FileTokens, m: Match, source: int) -> Found:
        first = Location(a.path, a.line_of(m.a_start), a.line_of(m.a_end - 1))
        second = Location(b.path, b.line_of(m.b_start), b.line_of(m.b_end - 1))
        return cls._made(first, second, m, source)

    @classmethod
    def from_row(cls, row: CloneRow, paths: dict[int, str]) -> Found:
        a, b, kind, similarity, size, a0, a1, b0, b1, al0, al1, bl0, bl1 = row
        m = Match(kind, similarity, size, a0, a1, b0, b1)
        return cls._made(Location(paths[a], al0, al1), Location(paths[b], bl0, bl1), m, a)

    @classmethod
    def _made(cls, first: Location, second: Location, m: Match, source: int) -> Found:
        rank = (
            -m.tokens,
            first.path,
            first.start_line,
            second.path,
            second.start_line,
            m.a_start,  # so that only clones starting at the same tokens tie
            m.b_start,
        )
        return cls(first, second, m, source, rank)


order = attrgetter("rank")
"""The sort key of `Found`s (a C-level getter: sorts of many clones are hot)."""


def row_of(a_id: int, b_id: int, a: FileTokens, b: FileTokens, m: Match) -> CloneRow:
    """A match between two indexed files as the kept report stores it."""
    return (
        a_id,
        b_id,
        m.type,
        m.similarity,
        m.tokens,
        m.a_start,
        m.a_end,
        m.b_start,
        m.b_end,
        a.line_of(m.a_start),
        a.line_of(m.a_end - 1),
        b.line_of(m.b_start),
        b.line_of(m.b_end - 1),
    )


def clones_of(found: list[Found], lines_of: Callable[[int], list[str]]) -> list[Clone]:
    """Clones with previews; `lines_of` gives a file's lines by id, asked once per file
    (reading and unpacking a file's source is most of what a preview costs, and a long
    report shows many clones of each file, not next to each other)."""
    by_source: dict[int, list[int]] = {}
    for i, f in enumerate(found):
        by_source.setdefault(f.source, []).append(i)
    texts = [""] * len(found)
    for source, members in by_source.items():
        lines = lines_of(source)
        for i in members:
            a = found[i].first
            texts[i] = preview(lines, a.start_line, a.end_line)
    return [
        Clone(f.match.type, f.match.similarity, f.match.tokens, f.first, f.second, text)
        for f, text in zip(found, texts, strict=True)
    ]


def covered_lines(ranges: list[tuple[int, int]]) -> int:
    """How many lines the inclusive ranges cover together."""
    total, reach = 0, 0
    for start, end in sorted(ranges):
        if end > reach:
            total += end - max(start - 1, reach)
            reach = end
    return total


def match_rows(
    files: Mapping[int, FileTokens], groups: dict[int, list[int]], k: int, params: CloneParams
) -> list[CloneRow]:
    """The clones of each pair of seeds (keys `a_id << 32 | b_id`, `a` the file whose path
    sorts first) as rows of the kept report; pairs of two language families never match."""
    family = {fid: t.lexicon.family for fid, t in files.items()}
    groups = {
        pair: seeds
        for pair, seeds in groups.items()
        if pair >> 32 in family
        and pair & _LOW in family
        and family[pair >> 32] == family[pair & _LOW]
    }
    rows = []
    for pair, matches in match_groups(files, groups, k, params).items():
        a_id, b_id = pair >> 32, pair & _LOW
        a, b = files[a_id], files[b_id]
        rows += [row_of(a_id, b_id, a, b, m) for m in matches]
    return rows
