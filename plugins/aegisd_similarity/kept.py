"""`KeptReport`: the clones a `CloneIndex` keeps for one set of parameters, per file pair.

What derives from them, the sorted list and each file's hotspot, is brought up to date pair by
pair: after a one-file edit only the changed pairs are merged into the sorted list (a sort of an
already sorted list with a few items appended is close to linear) and only the files of those
pairs get their duplicated lines counted again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import chain

from aegisd_similarity.found import Found, covered_lines, order
from aegisd_similarity.match import CloneParams
from aegisd_similarity.models import Hotspot
from aegisd_similarity.tokens import FileTokens

__all__ = ["KeptReport"]

_LOW = 0xFFFFFFFF


class KeptReport:
    """Clones per pair (key `a_id << 32 | b_id`), and the files whose pairs are out of date."""

    def __init__(self, params: CloneParams) -> None:
        self.params = params
        self.dirty: set[int] = set()  # files whose pairs must be computed again
        self._pairs: dict[int, list[Found]] = {}
        self._of: dict[int, set[int]] = {}  # file id -> keys of its pairs with clones
        self._sorted: list[Found] = []
        self._resort: set[int] = set()  # pairs changed since `_sorted` was made
        self._spots: dict[int, Hotspot] = {}
        self._respot: set[int] = set()  # files whose hotspot may have changed

    def forget(self, ids: Iterable[int]) -> None:
        """Drop the clones of every pair involving one of `ids`."""
        for fid in ids:
            for pair in self._of.pop(fid, ()):
                del self._pairs[pair]
                other = pair >> 32 if pair & _LOW == fid else pair & _LOW
                if other != fid:
                    self._of[other].discard(pair)
                self._resort.add(pair)
                self._respot.add(other)
            self._respot.add(fid)

    def store(self, pairs: dict[int, list[Found]]) -> None:
        """Keep the clones of freshly computed pairs."""
        for pair, found in pairs.items():
            self._pairs[pair] = found
            for fid in (pair >> 32, pair & _LOW):
                self._of.setdefault(fid, set()).add(pair)
                self._respot.add(fid)
            self._resort.add(pair)

    def of_files(self, ids: set[int]) -> list[Found]:
        """The clones of the pairs involving one of `ids`, unsorted."""
        pairs = set(chain.from_iterable(self._of.get(fid, ()) for fid in ids))
        return list(chain.from_iterable(self._pairs[p] for p in pairs))

    def found(self) -> list[Found]:
        """Every clone, sorted by `order`."""
        if self._resort:
            kept = [f for f in self._sorted if f.pair not in self._resort]
            for pair in self._resort:
                kept.extend(self._pairs.get(pair, ()))
            kept.sort(key=order)
            self._sorted, self._resort = kept, set()
        return self._sorted

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
