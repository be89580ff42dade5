"""The inverted index: postings added, looked up, grouped under a cap and removed."""

from __future__ import annotations

from array import array

from aegisd_similarity.fingerprint import Fingerprints
from aegisd_similarity.postings import Postings


def _prints(pairs: list[tuple[int, int]]) -> Fingerprints:
    return Fingerprints(
        20, 11, array("I", [h for h, _ in pairs]), array("I", [p for _, p in pairs])
    )


def test_lookup_groups_and_remove() -> None:
    postings = Postings()
    common, rare, other = 0xDEADBEEF, 0x00000001, 0x1234BEEF  # common and other share a bucket
    postings.add(1, _prints([(common, 0), (rare, 5), (common, 40)]))
    postings.add(2, _prints([(common, 3), (other, 9)]))
    postings.add(3, _prints([(common, 7)]))
    assert postings.lookup(common) == [1 << 32 | 0, 1 << 32 | 40, 2 << 32 | 3, 3 << 32 | 7]
    assert postings.lookup(rare) == [1 << 32 | 5]
    assert postings.lookup(0x12345678) == []
    assert postings.lookup(common, cap=4) == postings.lookup(common)
    assert postings.lookup(common, cap=3) == []  # over the cap: boilerplate
    assert (postings.count(common), postings.count(rare), postings.count(0x12345678)) == (4, 1, 0)
    assert sorted(map(sorted, postings.groups(cap=4))) == [
        [1 << 32 | 0, 1 << 32 | 40, 2 << 32 | 3, 3 << 32 | 7]
    ]
    assert list(postings.groups(cap=3)) == []  # over the cap: boilerplate, ignored

    postings.remove(1, _prints([(common, 0), (rare, 5), (common, 40)]))
    assert postings.lookup(common) == [2 << 32 | 3, 3 << 32 | 7]
    assert postings.lookup(rare) == []
    assert postings.lookup(other) == [2 << 32 | 9]
    assert list(postings.groups(cap=3)) == [[2 << 32 | 3, 3 << 32 | 7]]
