"""Seeds of file pairs, read from the stored postings: a seed is a fingerprint two places
share, packed `(b_pos - a_pos + BIAS) << 32 | a_pos` (see `match.BIAS`).

A pair is keyed `a_id << 32 | b_id`, `a` the file whose path sorts first (the same file twice
for clones within one file, `a` then the earlier place), so that what is found does not depend
on the order files came in. Hashes held by more than `cap` places are boilerplate, not seeds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable
from itertools import combinations

from aegisd_similarity import store
from aegisd_similarity.match import BIAS

__all__ = ["Seeds", "seeds_between", "seeds_of"]

_LOW = 0xFFFFFFFF
Seeds = dict[int, list[int]]
_Places = dict[tuple[int, int], list[tuple[int, int]]]  # (lo, hi) ids -> (lo pos, hi pos)


def seeds_of(
    conn: sqlite3.Connection, space: int, chosen: Iterable[int], among: Collection[int], cap: int
) -> Seeds:
    """Seeds of every pair involving one of `chosen`. A pair of two files of `among` (the
    files whose pairs are all being computed, `chosen` among them) is taken from the side of
    its smaller place only, so that computing `among` in parts finds each pair once."""
    places: _Places = {}
    paths: dict[int, str] = {}
    prints_of = {}
    for fid in chosen:
        found = store.read_prints(conn, fid)
        if found is not None:
            paths[fid], prints_of[fid] = found
    wanted = set().union(*(p.hashes for p in prints_of.values()))
    postings = store.lookup_many(conn, space, wanted, cap)
    none: list[int] = []
    for fid, prints in prints_of.items():
        for h, pos in zip(prints.hashes, prints.positions, strict=True):
            own = fid << 32 | pos
            for other in postings.get(h, none):
                if other == own or (other >> 32 in among and other < own):
                    continue  # itself, or found from the other side
                x, y = (own, other) if own < other else (other, own)
                places.setdefault((x >> 32, y >> 32), []).append((x & _LOW, y & _LOW))
    return _oriented(conn, places, paths)


def seeds_between(
    conn: sqlite3.Connection, space: int, pairs: Iterable[tuple[int, int]], cap: int
) -> Seeds:
    """Seeds of just these pairs (ids lo <= hi), from the fingerprints the two files share."""
    spread: dict[int, dict[int, list[int]]] = {}  # file id -> hash -> positions
    paths: dict[int, str] = {}
    under: dict[int, bool] = {}
    places: _Places = {}
    for x, y in pairs:
        px, py = _spread(conn, x, spread, paths), _spread(conn, y, spread, paths)
        if px is None or py is None:
            continue
        found = []
        for h in px.keys() & py.keys():
            ok = under.get(h)
            if ok is None:
                ok = under[h] = store.count(conn, space, h, cap + 1) <= cap
            if not ok:
                continue
            if x == y:
                found += list(combinations(px[h], 2))
            else:
                found += [(i, j) for i in px[h] for j in py[h]]
        if found:
            places[(x, y)] = found
    return _oriented(conn, places, paths)


def _spread(
    conn: sqlite3.Connection,
    fid: int,
    known: dict[int, dict[int, list[int]]],
    paths: dict[int, str],
) -> dict[int, list[int]] | None:
    """A file's fingerprints: hash -> ascending positions (memoized in `known`)."""
    found = known.get(fid)
    if found is None:
        stored = store.read_prints(conn, fid)
        if stored is None:
            return None
        paths[fid], prints = stored
        found = known[fid] = {}
        for h, pos in zip(prints.hashes, prints.positions, strict=True):
            found.setdefault(h, []).append(pos)
    return found


def _oriented(conn: sqlite3.Connection, places: _Places, paths: dict[int, str]) -> Seeds:
    """Seeds keyed by pair, `a` the file whose path sorts first."""
    missing = {fid for pair in places for fid in pair if fid not in paths}
    paths.update(store.paths_of(conn, missing))
    groups: Seeds = {}
    for (lo, hi), spots in places.items():
        if lo not in paths or hi not in paths:
            continue
        if lo == hi or paths[lo] <= paths[hi]:
            groups[lo << 32 | hi] = [(q - p + BIAS) << 32 | p for p, q in spots]
        else:
            groups[hi << 32 | lo] = [(p - q + BIAS) << 32 | q for p, q in spots]
    return groups
