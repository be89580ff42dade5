"""Seeds of file pairs, read from the stored postings: a seed is a fingerprint two places
share, packed `(b_pos - a_pos + BIAS) << 32 | a_pos` (see `match.BIAS`).

A pair is keyed `a_id << 32 | b_id`, `a` the file whose path sorts first (the same file twice
for clones within one file, `a` then the earlier place), so that what is found does not depend
on the order files came in. Hashes held by more than `cap` places are boilerplate, not seeds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable, Sequence
from itertools import combinations

from aegisd_similarity import store
from aegisd_similarity.match import BIAS

__all__ = ["Seeds", "SharedPostings", "seeds_between", "seeds_of"]

_LOW = 0xFFFFFFFF
# (d + BIAS) << 32 | p == (d << 32) + p + _UNBIAS: SQLite's signed 64-bit integers hold the
# right side's first term, not the left side.
_UNBIAS = BIAS << 32
assert BIAS == 1 << 31
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


class SharedPostings:
    """The postings of every hash held by 2 to `cap` places (the only ones that seed), copied
    by one sequential scan of the posting table into a temporary table of `conn`, each with
    the rank of its file's path; the seeds of a batch of files are then one indexed join in
    SQLite, rather than a lookup of each of their fingerprints. For building many pairs at
    once (a whole report); the table lives in SQLite's temporary store, not in Python objects.

    `ranked` are the indexed files in path order, `dirty` those whose pairs are wanted (None:
    all), taken in batches (`seeds`) of ascending ids. Bound to `conn`, whose thread must use
    it; `close` drops the tables."""

    _TABLES = ("similarity_shared", "similarity_rank", "similarity_dirty")

    def __init__(
        self,
        conn: sqlite3.Connection,
        space: int,
        ranked: Sequence[int],
        dirty: Iterable[int] | None,
        cap: int,
    ) -> None:
        self.conn = conn
        self.close()  # left over by a build that failed in this thread
        conn.execute("CREATE TEMP TABLE similarity_rank (fid INTEGER PRIMARY KEY, r INTEGER)")
        conn.executemany("INSERT INTO temp.similarity_rank VALUES (?, ?)", ((fid, r) for r, fid in enumerate(ranked)))  # fmt: skip
        conn.execute(
            "CREATE TEMP TABLE similarity_shared (hash INTEGER, fid INTEGER, pos INTEGER,"
            " r INTEGER, PRIMARY KEY (hash, fid, pos)) WITHOUT ROWID"
        )
        conn.execute(
            "INSERT INTO temp.similarity_shared SELECT p.hash, p.fid, p.pos, k.r FROM"
            " (SELECT hash FROM similarity_posting WHERE space = :space GROUP BY hash"
            " HAVING count(*) BETWEEN 2 AND :cap) h"
            " JOIN similarity_posting p ON p.space = :space AND p.hash = h.hash"
            " JOIN temp.similarity_rank k ON k.fid = p.fid",
            {"space": space, "cap": cap},  # named: a numbered `?1` with a tuple is deprecated
        )
        conn.execute("CREATE INDEX temp.similarity_shared_fid ON similarity_shared (fid, pos, hash, r)")  # fmt: skip
        # `a` is the file whose path sorts first (or, in one file, the earlier place); the
        # seed as SQLite can hold it, `(b_pos - a_pos) << 32 | a_pos` (see `_UNBIAS`).
        columns = (
            "SELECT CASE WHEN a.r <= b.r THEN a.fid << 32 | b.fid ELSE b.fid << 32 | a.fid END,"
            " CASE WHEN a.r <= b.r THEN ((b.pos - a.pos) << 32) + a.pos"
            " ELSE ((a.pos - b.pos) << 32) + b.pos END"
        )
        pairs = (
            "JOIN temp.similarity_shared b ON b.hash = a.hash"
            " AND (b.fid > a.fid OR (b.fid = a.fid AND b.pos > a.pos)"
        )
        if dirty is None:
            self._sql = (
                f"{columns} FROM temp.similarity_shared a {pairs}) WHERE a.fid BETWEEN ? AND ?"
            )
        else:  # a pair with a file not dirty is taken from the dirty side
            conn.execute("CREATE TEMP TABLE similarity_dirty (fid INTEGER PRIMARY KEY)")
            conn.executemany("INSERT INTO temp.similarity_dirty VALUES (?)", ((f,) for f in dirty))  # fmt: skip
            self._sql = (
                f"{columns} FROM temp.similarity_dirty d"
                f" JOIN temp.similarity_shared a ON a.fid = d.fid {pairs}"
                " OR b.fid NOT IN (SELECT fid FROM temp.similarity_dirty))"
                " WHERE d.fid BETWEEN ? AND ?"
            )

    def seeds(self, lo: int, hi: int) -> Seeds:
        """Seeds of every pair involving a dirty file with an id in [lo, hi] (each pair
        found once over batches that cover the dirty files), keyed as `seeds_of` keys them."""
        groups: Seeds = {}
        unbias = _UNBIAS
        for pair, seed in self.conn.execute(self._sql, (lo, hi)):
            group = groups.get(pair)
            if group is None:
                groups[pair] = [seed + unbias]
            else:
                group.append(seed + unbias)
        return groups

    def close(self) -> None:
        for table in self._TABLES:
            self.conn.execute(f"DROP TABLE IF EXISTS temp.{table}")
