"""`KeptReport`: the clones a `CloneIndex` keeps for one set of parameters, per file pair.

What derives from them, the sorted list and each file's hotspot, is brought up to date pair by
pair: after a one-file edit the clones of the changed pairs are taken out of the sorted list and
put back in by bisection (a few list moves instead of a sort of every clone), and only the files
of those pairs get their duplicated lines counted again.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Iterable
from itertools import chain

from aegisd_similarity.found import Found, covered_lines, order
from aegisd_similarity.match import CloneParams
from aegisd_similarity.models import Hotspot
from aegisd_similarity.tokens import FileTokens

__all__ = ["KeptReport"]

_LOW = 0xFFFFFFFF
_RESORT = 8  # past one change in this many clones, sorting everything again is cheaper


class KeptReport:
    """Clones per pair (key `a_id << 32 | b_id`), and what is out of date: the files whose
    pairs must all be computed again (`dirty`) and single pairs that must be (`stale`)."""

    def __init__(self, params: CloneParams) -> None:
        self.params = params
        self.dirty: set[int] = set()
        self.stale: set[int] = set()
        self._pairs: dict[int, list[Found]] = {}
        self._of: dict[int, set[int]] = {}  # file id -> keys of its pairs with clones
        self._sorted: list[Found] = []
        self._gone: list[Found] = []  # clones left since `_sorted` was brought up to date
        self._new: list[Found] = []  # clones come since then
        self._spots: dict[int, Hotspot] = {}
        self._respot: set[int] = set()  # files whose hotspot may have changed

    def forget(self, ids: Iterable[int]) -> None:
        """Drop the clones of every pair involving one of `ids`."""
        for fid in ids:
            self.forget_pairs(list(self._of.get(fid, ())))
            self._of.pop(fid, None)
            self._respot.add(fid)

    def forget_pairs(self, pairs: Iterable[int]) -> None:
        """Drop the clones of these pairs (keys of pairs without clones are ignored)."""
        for pair in pairs:
            found = self._pairs.pop(pair, None)
            if found is None:
                continue
            for fid in (pair >> 32, pair & _LOW):
                self._of[fid].discard(pair)
                self._respot.add(fid)
            self._gone += found

    def store(self, pairs: dict[int, list[Found]]) -> None:
        """Keep the clones of freshly computed pairs."""
        for pair, found in pairs.items():
            self._pairs[pair] = found
            for fid in (pair >> 32, pair & _LOW):
                self._of.setdefault(fid, set()).add(pair)
                self._respot.add(fid)
            self._new += found

    def of_files(self, ids: set[int]) -> list[Found]:
        """The clones of the pairs involving one of `ids`, unsorted."""
        pairs = set(chain.from_iterable(self._of.get(fid, ()) for fid in ids))
        return list(chain.from_iterable(self._pairs[p] for p in pairs))

    def found(self) -> list[Found]:
        """Every clone, sorted by `order`."""
        gone, new, kept = self._gone, self._new, self._sorted
        if not gone and not new:
            return kept
        if gone and new:  # clones that came and went in between were never in `kept`
            fresh = {id(f): f for f in new}
            gone = [f for f in gone if fresh.pop(id(f), None) is None]
            new = list(fresh.values())
        if _RESORT * (len(gone) + len(new)) > len(kept):
            kept = list(chain.from_iterable(self._pairs.values()))
            kept.sort(key=order)
        else:
            for f in gone:
                at = bisect_left(kept, f.rank, key=order)
                while kept[at] is not f:  # past clones of the same rank
                    at += 1
                del kept[at]
            for f in new:
                insort(kept, f, key=order)
        self._sorted, self._gone, self._new = kept, [], []
        return kept

    def hotspots(self, tokens_of: Callable[[int], FileTokens | None]) -> list[Hotspot]:
        """Every file with duplicated lines; `tokens_of` finds an indexed file by id."""
        for fid in self._respot:
            tokens, pairs = tokens_of(fid), self._of.get(fid)
            if tokens is None or not pairs:
                self._spots.pop(fid, None)
                continue
            path = tokens.path
            ranges = [
                (loc.start_line, loc.end_line)
                for pair in pairs
                for f in self._pairs[pair]
                for loc in (f.first, f.second)
                if loc.path == path
            ]
            duplicated = covered_lines(ranges)
            ratio = round(duplicated / tokens.line_count, 4)
            self._spots[fid] = Hotspot(path, tokens.line_count, duplicated, ratio)
        self._respot = set()
        return list(self._spots.values())
