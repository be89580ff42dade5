"""The inverted index: fingerprint hash -> postings (`file_id << 32 | token_position`).

Postings live in buckets picked by the low bits of the hash, each a pair of flat arrays
(4 + 8 bytes a posting). A dict of Python ints and lists would cost about 90 bytes a
fingerprint, more than the tokens themselves. Buckets are small, so a lookup scans one in C,
and removing a file cuts one run out of each bucket its fingerprints fall in.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator

from aegisd_similarity.fingerprint import Fingerprints

__all__ = ["Postings"]

# Buckets by the low bits: winnowing keeps each window's smallest hash, so the high bits of
# fingerprints are skewed towards zero while the low ones stay even.
_MASK = (1 << 14) - 1


class Postings:
    """Postings of every indexed file; each hash's postings ascend (file ids only grow)."""

    def __init__(self) -> None:
        self._buckets: dict[int, tuple[array[int], array[int]]] = {}

    def add(self, file_id: int, prints: Fingerprints) -> None:
        base = file_id << 32
        buckets = self._buckets
        for h, pos in zip(prints.hashes, prints.positions, strict=True):
            bucket = buckets.get(h & _MASK)
            if bucket is None:
                bucket = buckets[h & _MASK] = (array("I"), array("Q"))
            bucket[0].append(h)
            bucket[1].append(base | pos)

    def remove(self, file_id: int, prints: Fingerprints) -> None:
        # A bucket's postings ascend (ids only grow; a file's go in at once), so a file's
        # postings are one run in each bucket.
        for b in {h & _MASK for h in prints.hashes}:
            keys, values = self._buckets[b]
            start = bisect_left(values, file_id << 32)
            end = bisect_left(values, (file_id + 1) << 32, start)
            del keys[start:end], values[start:end]
            if not keys:
                del self._buckets[b]

    def count(self, h: int) -> int:
        """How many postings hash `h` has."""
        bucket = self._buckets.get(h & _MASK)
        return 0 if bucket is None else bucket[0].count(h)

    def lookup(self, h: int, cap: int | None = None) -> list[int]:
        """The postings of hash `h`; none when it has more than `cap` (boilerplate, whose
        postings would only be skipped)."""
        bucket = self._buckets.get(h & _MASK)
        if bucket is None:
            return []
        keys, values = bucket
        found: list[int] = []
        at = -1
        while True:
            try:
                at = keys.index(h, at + 1)
            except ValueError:
                return found
            found.append(values[at])
            if cap is not None and len(found) > cap:
                return []

    def groups(self, cap: int) -> Iterator[list[int]]:
        """The postings of every hash held by 2 to `cap` postings."""
        for keys, values in self._buckets.values():
            shared = {h for h, n in Counter(keys).items() if 2 <= n <= cap}
            if not shared:
                continue
            grouped: dict[int, list[int]] = {}
            for h, v in zip(keys, values, strict=True):
                if h in shared:
                    grouped.setdefault(h, []).append(v)
            yield from grouped.values()
