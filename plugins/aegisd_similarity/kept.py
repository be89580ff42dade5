"""The kept report's rows: the clones of every file pair for the parameters last asked for
(`similarity_clone`), each file's duplicated lines (`similarity_spot`), and which parameters
they are for (`similarity_space.kept`, and whether the report is `whole`).

Write functions take a connection inside a transaction, read functions any connection.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from aegisd.store.pathtext import from_db
from aegisd_similarity.store import CloneRow

CLONE_COLUMNS = (
    "a, b, type, similarity, tokens, a_start, a_end, b_start, b_end,"
    " a_line0, a_line1, b_line0, b_line1"
)


def kept_of(conn: sqlite3.Connection, space: int) -> tuple[str | None, bool]:
    row = conn.execute(
        "SELECT kept, whole FROM similarity_space WHERE num = ?", (space,)
    ).fetchone()
    return (None, False) if row is None else (row[0], bool(row[1]))


def reset_kept(conn: sqlite3.Connection, space: int, params: str | None) -> None:
    """Forget the kept report; `params` is the one about to be built."""
    conn.execute("DELETE FROM similarity_clone WHERE space = ?", (space,))
    conn.execute("DELETE FROM similarity_spot WHERE space = ?", (space,))
    conn.execute("UPDATE similarity_space SET kept = ?, whole = 0 WHERE num = ?", (params, space))


def set_whole(conn: sqlite3.Connection, space: int) -> None:
    conn.execute("UPDATE similarity_space SET whole = 1 WHERE num = ?", (space,))


def forget_files(conn: sqlite3.Connection, space: int, fids: Sequence[int]) -> set[int]:
    """Drop the clones of every pair involving one of `fids`, and their spots; returns the
    files whose spots may have changed."""
    touched: set[int] = set(fids)
    for fid in fids:
        for a, b in conn.execute(
            "SELECT a, b FROM similarity_clone WHERE space = ? AND a = ?"
            " UNION SELECT a, b FROM similarity_clone WHERE space = ? AND b = ?",
            (space, fid, space, fid),
        ).fetchall():
            touched.update((a, b))
        conn.execute("DELETE FROM similarity_clone WHERE space = ? AND a = ?", (space, fid))
        conn.execute("DELETE FROM similarity_clone WHERE space = ? AND b = ?", (space, fid))
        conn.execute("DELETE FROM similarity_spot WHERE space = ? AND fid = ?", (space, fid))
    return touched


def forget_pairs(conn: sqlite3.Connection, space: int, pairs: Iterable[tuple[int, int]]) -> None:
    """Drop the clones of these pairs of files, in whichever order their rows name them."""
    conn.executemany(
        "DELETE FROM similarity_clone WHERE space = ? AND a = ? AND b = ?",
        ((space, a, b) for x, y in pairs for a, b in {(x, y), (y, x)}),
    )


def add_clones(conn: sqlite3.Connection, space: int, rows: Iterable[CloneRow]) -> None:
    conn.executemany(
        f"INSERT INTO similarity_clone (space, {CLONE_COLUMNS})"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ((space, *row) for row in rows),
    )


def put_spots(
    conn: sqlite3.Connection,
    space: int,
    spots: Iterable[tuple[int, int, float]],
    gone: Iterable[int],
) -> None:
    """Each (fid, duplicated, ratio) replaces the file's spot; `gone` lose theirs."""
    conn.executemany(
        "DELETE FROM similarity_spot WHERE space = ? AND fid = ?", ((space, f) for f in gone)
    )
    conn.executemany(
        "INSERT OR REPLACE INTO similarity_spot VALUES (?, ?, ?, ?)",
        ((space, fid, dup, ratio) for fid, dup, ratio in spots),
    )


def clones_of_files(conn: sqlite3.Connection, space: int, fids: Iterable[int]) -> list[CloneRow]:
    """The kept clones of every pair involving one of `fids` (each once)."""
    seen: dict[tuple[object, ...], None] = {}
    for fid in fids:
        for column in ("a", "b"):
            for row in conn.execute(
                f"SELECT {CLONE_COLUMNS} FROM similarity_clone WHERE space = ? AND {column} = ?",
                (space, fid),
            ):
                seen.setdefault(row, None)
    return list(seen)  # type: ignore[arg-type]


def largest_clones(conn: sqlite3.Connection, space: int, limit: int | None) -> list[CloneRow]:
    """Kept clones, at least the `limit` largest (all those as large as the last of them)."""
    sql = f"SELECT {CLONE_COLUMNS} FROM similarity_clone WHERE space = ?"
    if limit is None:
        return conn.execute(sql, (space,)).fetchall()
    row = conn.execute(
        "SELECT tokens FROM similarity_clone WHERE space = ? ORDER BY tokens DESC LIMIT 1 OFFSET ?",
        (space, limit - 1),
    ).fetchone()
    if row is None:
        return conn.execute(sql, (space,)).fetchall()
    return conn.execute(sql + " AND tokens >= ?", (space, row[0])).fetchall()


def clone_count(conn: sqlite3.Connection, space: int) -> int:
    return int(
        conn.execute("SELECT count(*) FROM similarity_clone WHERE space = ?", (space,)).fetchone()[
            0
        ]
    )


def spots(
    conn: sqlite3.Connection, space: int, limit: int | None
) -> list[tuple[str, int, int, float]]:
    """(path, lines, duplicated, ratio) of files with duplicated lines, at least the `limit`
    with the highest ratio (all those as high as the last of them)."""
    sql = (
        "SELECT d.path, d.line_count, s.duplicated, s.ratio FROM similarity_spot s"
        " JOIN similarity_doc d ON d.fid = s.fid WHERE s.space = ?"
    )
    args: tuple[object, ...] = (space,)
    if limit is not None:
        row = conn.execute(
            "SELECT ratio FROM similarity_spot WHERE space = ? ORDER BY ratio DESC"
            " LIMIT 1 OFFSET ?",
            (space, limit - 1),
        ).fetchone()
        if row is not None:
            sql += " AND s.ratio >= ?"
            args = (space, row[0])
    return [(from_db(p), n, dup, ratio) for p, n, dup, ratio in conn.execute(sql, args)]


def duplicated_total(conn: sqlite3.Connection, space: int) -> int:
    row = conn.execute(
        "SELECT coalesce(sum(duplicated), 0) FROM similarity_spot WHERE space = ?", (space,)
    ).fetchone()
    return int(row[0])
