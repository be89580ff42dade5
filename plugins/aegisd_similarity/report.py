"""A clone report of the whole index or of some of its files: clones, hotspots, summary.

Runs in a thread while the caller holds the index's lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aegisd_similarity.found import covered_lines
from aegisd_similarity.index import CloneIndex
from aegisd_similarity.match import CloneParams
from aegisd_similarity.models import Clone, Hotspot, Summary


@dataclass(frozen=True, slots=True)
class Report:
    clones: list[Clone]  # the largest, up to the limit
    hotspots: list[Hotspot]  # the most duplicated files, up to the limit
    summary: Summary  # totals over the files reported on, every clone counted


def select(index: CloneIndex, paths: Sequence[str]) -> list[str]:
    """The indexed files among `paths` or under them ("" is the root)."""
    if "" in paths:
        return index.files()
    prefixes = tuple(p.rstrip("/") + "/" for p in paths)
    wanted = set(paths)
    return [f for f in index.files() if f in wanted or f.startswith(prefixes)]


def build_report(
    index: CloneIndex, paths: Sequence[str] | None, params: CloneParams, limit: int
) -> Report:
    """The report on every file (`paths` None) or on the clones touching `paths` (see
    `select`); a clone between a selected file and another counts for the selected one."""
    q = (params.min_tokens, params.min_similarity, params.type3)
    if paths is None:
        return Report(
            index.clones(None, *q, limit=limit, max_gap=params.max_gap),
            index.hotspots(*q, limit=limit, max_gap=params.max_gap),
            index.summary(*q, max_gap=params.max_gap),
        )
    chosen = select(index, paths)
    clones = index.clones(chosen, *q, max_gap=params.max_gap) if chosen else []
    spans: dict[str, list[tuple[int, int]]] = {path: [] for path in chosen}
    for c in clones:
        for loc in (c.a, c.b):
            if loc.path in spans:
                spans[loc.path].append((loc.start_line, loc.end_line))
    spots, lines = [], 0
    for path, ranges in spans.items():
        tokens = index.get(path)
        count = tokens.line_count if tokens is not None else 0
        lines += count
        if ranges:
            duplicated = covered_lines(ranges)
            spots.append(Hotspot(path, count, duplicated, round(duplicated / count, 4)))
    spots.sort(key=lambda s: (-s.ratio, -s.duplicated_lines, s.path))
    duplicated = sum(s.duplicated_lines for s in spots)
    percent = round(100 * duplicated / lines, 2) if lines else 0.0
    summary = Summary(len(chosen), lines, duplicated, percent, len(clones))
    return Report(clones[:limit], spots[:limit], summary)
