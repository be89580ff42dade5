"""Seeds read two ways agree: looked up per fingerprint (`seeds_of`, a few changed files) and
joined from one scan of the postings (`SharedPostings`, a whole report or a large batch)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aegisd_similarity import index as index_module
from aegisd_similarity import store
from aegisd_similarity.index import CloneIndex
from aegisd_similarity.seeds import Seeds, SharedPostings, seeds_of
from aegisd_similarity.tokens import tokenize_file

from tests.plugins.similarity.helpers import FIXTURES, index_of, load

FILES = [
    "python/exact_a.py",
    "python/exact_b.py",
    "python/renamed_a.py",
    "python/renamed_b.py",
    "python/gapped_a.py",
    "python/gapped_b.py",
    "python/same_file.py",
    "python/shape_a.py",
    "js/cart_a.js",
    "js/cart_b.js",
    "corpus/warehouse.py",
]


def _text(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes()


def _with_copies() -> CloneIndex:
    """The fixtures, and copies under names that sort before and after them (so that pairs
    are oriented both ways against file ids)."""
    index = index_of(*FILES, max_postings=4)
    for name in ("a_copy.py", "z_copy.py"):
        index.add_file(tokenize_file(name, _text("python/renamed_a.py")))
    index.add_file(tokenize_file("m_copy.py", _text("python/exact_b.py")))
    index.flush()
    return index


def _gathered(parts: list[list[int]], seeds: Callable[[list[int]], Seeds]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for part in parts:
        for pair, found in seeds(part).items():
            assert pair not in out  # each pair in one batch only
            out[pair] = sorted(found)
    return out


@pytest.mark.parametrize("share", [1.0, 0.5])
def test_the_scan_seeds_every_pair_as_lookups_do(share: float) -> None:
    index = _with_copies()
    conn, space, cap = index.db.read(), index.space, index.max_postings
    ranked = [fid for _, fid in store.indexed_paths(conn, space)]
    dirty = set(sorted(ranked)[:: int(1 / share)])
    order = sorted(dirty)
    parts = [order[at : at + 3] for at in range(0, len(order), 3)]
    looked_up = _gathered(parts, lambda part: seeds_of(conn, space, part, dirty, cap))
    shared = SharedPostings(conn, space, ranked, None if share == 1.0 else dirty, cap)
    try:
        scanned = _gathered(parts, lambda part: shared.seeds(part[0], part[-1]))
    finally:
        shared.close()
    assert scanned == looked_up
    assert len(looked_up) > 10
    assert conn.execute("SELECT count(*) FROM temp.sqlite_master").fetchone() == (0,)


def _history() -> list[object]:
    """Reports after each of a series of edits, several files changing at once."""
    index = _with_copies()
    seen: list[object] = [index.clones(), index.hotspots(), index.summary()]
    copies = [(f"b{n}.py", _text(f)) for n, f in enumerate(FILES[:4])]
    steps: list[Callable[[], object]] = [
        lambda: [index.add_file(tokenize_file(name, code)) for name, code in copies],
        lambda: [index.remove_file(f) for f in FILES[1:6]],
        lambda: index.add_file(load("python/exact_a.py")),
        lambda: [index.add_file(load(f)) for f in FILES[1:6]],
    ]
    for step in steps:
        step()
        seen += [index.clones(), index.hotspots(), index.summary(), index.clones(["b1.py"])]
    return seen


def test_reports_built_by_scans_equal_reports_built_by_lookups(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(index_module, "SCAN_SHARE", 0)  # never scans
    looked_up = _history()
    monkeypatch.setattr(index_module, "BATCH", 2)  # scans for any change, in small batches
    monkeypatch.setattr(index_module, "SCAN_SHARE", 10**6)
    scanned = _history()
    assert scanned == looked_up
    assert any(looked_up)
