"""How postings reach the inverted index: staged in arrival order, merged in hash order.

The inverted index (`similarity_posting`) is a B-tree keyed by hash, so the postings of a batch
of files land all over it: a transaction writes about one page per posting once the tree is
large, and a cold build writes the tree many times over (at 11,000 files, 23 s of CPU for 6.3
million postings, growing faster than the tree). New postings go to a staging table instead
(`similarity_posting_new`), keyed by a bucket of their hash and then by file: appended at 64
places, whatever the size. Before postings are read they are merged, bucket by bucket in hash
order, so each page of the index is written once per merge (10 s for the same build).
"""

from __future__ import annotations

import sqlite3
from array import array
from collections.abc import Iterator
from itertools import repeat

__all__ = ["BUCKETS", "MERGE_ROWS", "Postings", "drop", "merge", "stage", "staged"]

BUCKET_SHIFT = 26  # hashes are 32-bit: 64 buckets
BUCKETS = 1 << (32 - BUCKET_SHIFT)
MERGE_ROWS = 500_000  # staged postings merged in one transaction at most (about one bucket)


class Postings:
    """Postings of several files, given file by file, in flat arrays."""

    def __init__(self) -> None:
        self.hashes, self.fids, self.positions = array("I"), array("q"), array("I")

    def add(self, fid: int, hashes: array[int], positions: array[int]) -> None:
        self.hashes.extend(hashes)
        self.positions.extend(positions)
        self.fids.extend(repeat(fid, len(hashes)))

    def __len__(self) -> int:
        return len(self.hashes)

    def keys(self, space: int) -> Iterator[tuple[int, int, int, int]]:
        """(space, hash, fid, pos), the index's key, in hash order (a stable sort of the
        arrays by a C-level key: much cheaper than sorting tuples)."""
        order = sorted(range(len(self.hashes)), key=self.hashes.__getitem__)
        return zip(
            repeat(space),
            map(self.hashes.__getitem__, order),
            map(self.fids.__getitem__, order),
            map(self.positions.__getitem__, order),
        )

    def staged(self, space: int) -> Iterator[tuple[int, int, int, int, int]]:
        """(space, bucket, fid, pos, hash), the staging table's row, in arrival order."""
        buckets = map(int.__rshift__, self.hashes, repeat(BUCKET_SHIFT))
        return zip(repeat(space), buckets, self.fids, self.positions, self.hashes)


def stage(conn: sqlite3.Connection, space: int, added: Postings) -> None:
    """Write new postings to the staging table (write)."""
    conn.executemany(
        "INSERT OR IGNORE INTO similarity_posting_new VALUES (?, ?, ?, ?, ?)", added.staged(space)
    )


def drop(conn: sqlite3.Connection, space: int, gone: Postings) -> None:
    """Delete postings, merged or still staged (write)."""
    conn.executemany(
        "DELETE FROM similarity_posting WHERE space = ? AND hash = ? AND fid = ? AND pos = ?",
        gone.keys(space),
    )
    conn.executemany(
        "DELETE FROM similarity_posting_new WHERE space = ? AND bucket = ? AND fid = ?"
        " AND pos = ? AND hash = ?",
        gone.staged(space),
    )


def staged(conn: sqlite3.Connection, space: int) -> int:
    """How many postings wait to be merged."""
    row = conn.execute(
        "SELECT count(*) FROM similarity_posting_new WHERE space = ?", (space,)
    ).fetchone()
    return int(row[0])


def merge(conn: sqlite3.Connection, space: int, first: int, last: int) -> None:
    """Move the staged postings of buckets `first` to `last` into the index, in key order
    (write)."""
    where = "space = ? AND bucket BETWEEN ? AND ?"
    conn.execute(
        "INSERT OR IGNORE INTO similarity_posting SELECT space, hash, fid, pos"
        f" FROM similarity_posting_new WHERE {where} ORDER BY hash, fid, pos",
        (space, first, last),
    )
    conn.execute(f"DELETE FROM similarity_posting_new WHERE {where}", (space, first, last))
