"""Winnowed k-gram fingerprints of a token stream.

Why winnowing (Schleimer, Wilkerson, Aiken 2003) rather than a hash of every token window: it
keeps about 2 / (window + 1) of the k-gram hashes yet still guarantees that any shared run of at
least `k + window - 1` normalized tokens yields a shared fingerprint, because both copies pick
the same minimum in every window that lies inside the run. Hashing every window (as jscpd does)
would store one posting per token, about six times the memory for the same guarantee.

The defaults put the guarantee at 30 tokens, the default clone size. A long k (20) keeps seeds
specific: with k = 12 normalized tokens, common statement shapes fill the postings of unrelated
code, push real clones' fingerprints over the boilerplate cap and cost more extension work.
"""

from __future__ import annotations

import zlib
from array import array
from dataclasses import dataclass
from itertools import islice

from aegisd_similarity.tokens import FileTokens, le_bytes, tokenize_file, unpack

__all__ = ["DEFAULT_K", "DEFAULT_WINDOW", "Fingerprints", "analyze_file", "fingerprint"]

DEFAULT_K = 20
DEFAULT_WINDOW = 11  # guarantee: any shared run of k + window - 1 = 30 tokens is found


@dataclass(frozen=True, slots=True)
class Fingerprints:
    """The selected k-gram hashes of one file and the token index each k-gram starts at.

    For storage, either one blob row per file (`to_record`) next to `FileTokens.to_record`, or
    one row per fingerprint (`rows`, indexed by hash) to look hashes up in SQL. `k` and `window`
    belong to the index: fingerprints made with other values never match.
    """

    k: int
    window: int
    hashes: array[int]
    positions: array[int]

    def __len__(self) -> int:
        return len(self.hashes)

    def rows(self) -> list[tuple[int, int]]:
        """(hash, position) pairs, in position order."""
        return list(zip(self.hashes, self.positions, strict=True))

    def to_record(self) -> dict[str, int | bytes]:
        """A flat row: the arrays as little-endian uint32 blobs."""
        return {
            "k": self.k,
            "window": self.window,
            "hashes": le_bytes(self.hashes),
            "positions": le_bytes(self.positions),
        }

    @classmethod
    def from_record(cls, row: dict[str, int | bytes]) -> Fingerprints:
        """The inverse of `to_record`."""
        k, window = row["k"], row["window"]
        if not isinstance(k, int) or not isinstance(window, int):
            raise TypeError("k and window must be ints")
        return cls(k, window, unpack(row["hashes"]), unpack(row["positions"]))


def analyze_file(
    path_rel: str,
    data: bytes,
    language: str | None = None,
    k: int = DEFAULT_K,
    window: int = DEFAULT_WINDOW,
) -> tuple[FileTokens, Fingerprints]:
    """`tokenize_file` then `fingerprint`, in one trip to a worker process."""
    tokens = tokenize_file(path_rel, data, language)
    return tokens, fingerprint(tokens, k, window)


def fingerprint(
    tokens: FileTokens, k: int = DEFAULT_K, window: int = DEFAULT_WINDOW
) -> Fingerprints:
    """Winnow the k-grams of `tokens.norm`; module-level so a process pool can run it."""
    if k < 1 or window < 1:
        raise ValueError("k and window must be positive")
    count = len(tokens.norm) - k + 1
    if count <= 0:
        return Fingerprints(k, window, array("I"), array("I"))
    data, width = le_bytes(tokens.norm), 4 * k
    crc32 = zlib.crc32
    hashes = [crc32(data[at : at + width]) for at in range(0, 4 * count, 4)]
    positions = _winnow(hashes, window)
    return Fingerprints(k, window, array("I", map(hashes.__getitem__, positions)), positions)


def _winnow(hashes: list[int], window: int) -> array[int]:
    """Positions picked by robust winnowing: each window's minimum, the previous pick on ties,
    else the rightmost minimum. Only a pick leaving the window costs a rescan."""
    picked = array("I")
    pick = picked.append
    first = hashes[:window]
    low = min(first)
    at = len(first) - 1 - first[::-1].index(low)
    pick(at)
    gone = at + window  # where the window no longer holds the pick
    for right, value in enumerate(islice(hashes, window, None), window):
        if value < low:
            low, at, gone = value, right, right + window
            pick(at)
        elif right == gone:
            span = hashes[right - window + 1 : right + 1]
            low = min(span)
            at = right - span[::-1].index(low)
            gone = at + window
            pick(at)
    return picked
