"""The similarity plugin's tables: the clone index lives in SQLite, not in memory.

- `similarity_space`: one row per workspace, a small number that prefixes every key below, and
  the parameters of the kept report (`kept`, None when there is none, and whether it is whole).
- `similarity_doc`: one row per analyzed file: the content hash it had, its tokens and
  fingerprints as blobs and what made them (`tokens.lexer_of`). `fid` only grows (AUTOINCREMENT):
  a changed file gets a new id, so anything keyed by id is never stale. A file analyzed but not
  indexed (binary, beyond the tokenizer) has a row without records, so it is not read again
  until it changes.
- `similarity_posting`: the inverted index, fingerprint hash -> (file id, token position), one
  B-tree keyed by (space, hash, fid, pos); new postings wait in `similarity_posting_new` until
  they are merged into it (`postings`).
- `similarity_clone` and `similarity_spot`: the kept report, the clones of every file pair for
  one set of parameters and each file's duplicated lines (read and written in `kept`).

Write functions take a `sqlite3.Connection` inside a transaction (the DB thread's, through
`db.StoreWriter`); read functions any connection (a read-only one of `db`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from aegisd.store.migrations import Migration
from aegisd.store.pathtext import from_db, to_db
from aegisd_similarity import postings
from aegisd_similarity.fingerprint import Fingerprints
from aegisd_similarity.postings import Postings
from aegisd_similarity.tokens import (
    FileTokens,
    packed_arrays,
    unpack,
    unpack_array,
    unpack_source,
)

PLUGIN = "aegisd_similarity"

MIGRATIONS = [
    Migration(
        PLUGIN,
        1,
        "analyzed files",
        [
            "CREATE TABLE similarity_file (workspace_id TEXT NOT NULL, path TEXT NOT NULL,"
            " hash TEXT NOT NULL, language TEXT, line_count INTEGER, norm BLOB, orig BLOB,"
            " breaks BLOB, layout BLOB, source BLOB, k INTEGER, fp_window INTEGER,"
            " hashes BLOB, positions BLOB, PRIMARY KEY (workspace_id, path))",
        ],
    ),
    # Rows from before have none: the first pass analyzes them again.
    Migration(
        PLUGIN,
        2,
        "the lexer of each file's tokens",
        ["ALTER TABLE similarity_file ADD COLUMN lexer TEXT"],
    ),
    # The index moves to disk. The old rows had no postings: the first pass analyzes again.
    Migration(
        PLUGIN,
        3,
        "the clone index on disk",
        [
            "DROP TABLE similarity_file",
            "CREATE TABLE similarity_space (num INTEGER PRIMARY KEY AUTOINCREMENT,"
            " workspace_id TEXT NOT NULL UNIQUE, kept TEXT, whole INTEGER NOT NULL DEFAULT 0)",
            "CREATE TABLE similarity_doc (fid INTEGER PRIMARY KEY AUTOINCREMENT,"
            " space INTEGER NOT NULL, path TEXT NOT NULL, hash TEXT NOT NULL, language TEXT,"
            " line_count INTEGER, norm BLOB, orig BLOB, breaks BLOB, layout BLOB, source BLOB,"
            " k INTEGER, fp_window INTEGER, hashes BLOB, positions BLOB, lexer TEXT,"
            " UNIQUE (space, path))",
            "CREATE TABLE similarity_posting (space INTEGER NOT NULL, hash INTEGER NOT NULL,"
            " fid INTEGER NOT NULL, pos INTEGER NOT NULL, PRIMARY KEY (space, hash, fid, pos))"
            " WITHOUT ROWID",
            "CREATE TABLE similarity_clone (space INTEGER NOT NULL, a INTEGER NOT NULL,"
            " b INTEGER NOT NULL, type INTEGER NOT NULL, similarity REAL NOT NULL,"
            " tokens INTEGER NOT NULL, a_start INTEGER NOT NULL, a_end INTEGER NOT NULL,"
            " b_start INTEGER NOT NULL, b_end INTEGER NOT NULL, a_line0 INTEGER NOT NULL,"
            " a_line1 INTEGER NOT NULL, b_line0 INTEGER NOT NULL, b_line1 INTEGER NOT NULL)",
            "CREATE INDEX similarity_clone_a ON similarity_clone (space, a)",
            "CREATE INDEX similarity_clone_b ON similarity_clone (space, b)",
            "CREATE INDEX similarity_clone_size ON similarity_clone (space, tokens)",
            "CREATE TABLE similarity_spot (space INTEGER NOT NULL, fid INTEGER NOT NULL,"
            " duplicated INTEGER NOT NULL, ratio REAL NOT NULL, PRIMARY KEY (space, fid))"
            " WITHOUT ROWID",
        ],
    ),
    Migration(
        PLUGIN,
        4,
        "postings staged before they are merged into the index",
        [
            "CREATE TABLE similarity_posting_new (space INTEGER NOT NULL,"
            " bucket INTEGER NOT NULL, fid INTEGER NOT NULL, pos INTEGER NOT NULL,"
            " hash INTEGER NOT NULL, PRIMARY KEY (space, bucket, fid, pos, hash)) WITHOUT ROWID",
        ],
    ),
]

TOKEN_COLUMNS = "fid, path, language, line_count, norm, orig, breaks, layout, lexer"
#: (a, b, type, similarity, tokens, a_start, a_end, b_start, b_end, a_line0, a_line1,
#: b_line0, b_line1): one clone of the kept report, `a` the file whose path sorts first
CloneRow = tuple[int, int, int, float, int, int, int, int, int, int, int, int, int]


@dataclass(frozen=True, slots=True)
class Stored:
    """One analyzed file: its content hash, and its records unless it was skipped."""

    path: str
    digest: str
    tokens: FileTokens | None
    fingerprints: Fingerprints | None


@dataclass(frozen=True, slots=True)
class DocState:
    """What the index holds of one path: its row's id, content hash, and whether it is
    indexed with records `usable` by this index (same k, window and lexer)."""

    fid: int
    digest: str
    usable: bool
    indexed: bool


# -- workspaces -------------------------------------------------------------------------------


def find_space(conn: sqlite3.Connection, ws_id: str) -> int | None:
    """The workspace's number, when it has one."""
    row = conn.execute("SELECT num FROM similarity_space WHERE workspace_id = ?", (ws_id,))
    found = row.fetchone()
    return None if found is None else int(found[0])


def space_of(conn: sqlite3.Connection, ws_id: str) -> int:
    """The workspace's number, made on first use (write)."""
    conn.execute("INSERT OR IGNORE INTO similarity_space (workspace_id) VALUES (?)", (ws_id,))
    row = conn.execute("SELECT num FROM similarity_space WHERE workspace_id = ?", (ws_id,))
    return int(row.fetchone()[0])


# -- files and postings (write) -----------------------------------------------------------------


def doc_values(f: Stored) -> list[object] | None:
    """An indexed file's row values after (space, path, hash), its arrays compressed; None
    for a skipped file. Made before the write: compressing is not the writer thread's work."""
    if f.tokens is None or f.fingerprints is None:
        return None
    t, p = f.tokens.to_record(), f.fingerprints.to_record()
    values: list[object] = [t["language"], t["line_count"], t["norm"], t["orig"], t["breaks"]]
    values += [t["layout"], t["source"], p["k"], p["window"], p["hashes"], p["positions"]]
    values.append(t["lexer"])
    return values


def put_files(
    conn: sqlite3.Connection,
    space: int,
    files: Sequence[Stored],
    removed: Iterable[str],
    rows: Sequence[list[object] | None] | None = None,
) -> tuple[list[int], list[int], int]:
    """Replace the rows of `files` and delete those of `removed`, postings included; returns
    the ids gone (replaced or removed), the new ids of indexed files, in `files` order, and
    how many of the rows gone were indexed. Marks the kept report as not whole: the caller
    brings it up to date. `rows`: `doc_values` of `files`, made beforehand (else here).

    New postings are staged (see `postings`): merge them before reading postings."""
    gone: list[int] = []
    indexed = 0
    dropped = Postings()
    for path in [*(f.path for f in files), *removed]:
        row = conn.execute(
            "SELECT fid, hashes, positions FROM similarity_doc WHERE space = ? AND path = ?",
            (space, to_db(path)),
        ).fetchone()
        if row is None:
            continue
        fid, hashes, positions = row
        if hashes is not None:
            indexed += 1
            dropped.add(fid, unpack(hashes), unpack(positions))
        gone.append(fid)
    postings.drop(conn, space, dropped)
    conn.executemany("DELETE FROM similarity_doc WHERE fid = ?", [(fid,) for fid in gone])
    added: list[int] = []
    staged = Postings()
    for f, row in zip(files, rows or [doc_values(f) for f in files], strict=True):
        values: list[object] = [space, to_db(f.path), f.digest]
        if row is None or f.fingerprints is None:
            conn.execute("INSERT INTO similarity_doc (space, path, hash) VALUES (?, ?, ?)", values)
            continue
        values += row
        cursor = conn.execute(
            "INSERT INTO similarity_doc (space, path, hash, language, line_count, norm, orig,"
            " breaks, layout, source, k, fp_window, hashes, positions, lexer)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            values,
        )
        fid = int(cursor.lastrowid or 0)
        staged.add(fid, f.fingerprints.hashes, f.fingerprints.positions)
        added.append(fid)
    postings.stage(conn, space, staged)
    if gone or added:
        conn.execute("UPDATE similarity_space SET whole = 0 WHERE num = ?", (space,))
    return gone, added, indexed


# -- files (read) ---------------------------------------------------------------------------------


def doc_states(
    conn: sqlite3.Connection, space: int, paths: Iterable[str] | None, k: int, window: int,
    lexers: frozenset[str], languages: frozenset[str],
) -> dict[str, DocState]:  # fmt: skip
    """What is stored of `paths` (None: of every path)."""
    sql = (
        "SELECT path, fid, hash, norm IS NOT NULL, k, fp_window, lexer, language"
        " FROM similarity_doc WHERE space = ?"
    )
    if paths is None:
        rows: Iterable[Any] = conn.execute(sql, (space,))
    else:
        rows = (
            r for path in paths for r in conn.execute(sql + " AND path = ?", (space, to_db(path)))
        )
    out = {}
    for path, fid, digest, indexed, fk, fw, lexer, language in rows:
        usable = not indexed or (
            (fk, fw) == (k, window) and lexer in lexers and language in languages
        )
        out[from_db(path)] = DocState(fid, digest, bool(usable), bool(indexed))
    return out


def count_indexed(conn: sqlite3.Connection, space: int) -> tuple[int, int, int]:
    """(files indexed, files analyzed but not indexed, lines of the indexed files)."""
    row = conn.execute(
        "SELECT count(norm), count(*) - count(norm), coalesce(sum(line_count), 0)"
        " FROM similarity_doc WHERE space = ?",
        (space,),
    ).fetchone()
    return int(row[0]), int(row[1]), int(row[2])


def indexed_paths(conn: sqlite3.Connection, space: int) -> list[tuple[str, int]]:
    """(path, fid) of every indexed file, by path."""
    rows = conn.execute(
        "SELECT path, fid FROM similarity_doc WHERE space = ? AND norm IS NOT NULL", (space,)
    )
    return sorted((from_db(p), fid) for p, fid in rows)


def read_tokens(
    conn: sqlite3.Connection, fids: Iterable[int], source: bool
) -> dict[int, FileTokens]:
    """The tokens of these files (with their packed source when `source`) by id; ids not
    stored are left out."""
    columns = TOKEN_COLUMNS + (", source" if source else "")
    out = {}
    for fid in fids:
        row = conn.execute(
            f"SELECT {columns} FROM similarity_doc WHERE fid = ? AND norm IS NOT NULL", (fid,)
        ).fetchone()
        if row is not None:
            out[fid] = _tokens(row)
    return out


def read_source(conn: sqlite3.Connection, fid: int) -> str | None:
    """The source text of an indexed file (for previews: no token arrays unpacked)."""
    row = conn.execute(
        "SELECT source FROM similarity_doc WHERE fid = ? AND norm IS NOT NULL", (fid,)
    ).fetchone()
    return None if row is None else unpack_source(row[0])


def line_counts(conn: sqlite3.Connection, fids: Iterable[int]) -> dict[int, int]:
    out = {}
    for fid in fids:
        row = conn.execute(
            "SELECT line_count FROM similarity_doc WHERE fid = ? AND norm IS NOT NULL", (fid,)
        ).fetchone()
        if row is not None:
            out[fid] = int(row[0])
    return out


def _tokens(row: Sequence[object]) -> FileTokens:
    _, path, language, lines, norm, orig, breaks, layout, lexer = row[:9]
    made_by = str(lexer or "")
    read = unpack_array if packed_arrays(made_by) else unpack
    return FileTokens(
        path=from_db(str(path)),
        language=str(language),
        line_count=int(lines),  # type: ignore[call-overload]
        norm=read(norm),
        orig=read(orig),
        breaks=read(breaks),
        layout=read(layout),
        packed_source=row[9] if len(row) > 9 else b"",  # type: ignore[arg-type]
        lexer=made_by,
    )


def read_prints(conn: sqlite3.Connection, fid: int) -> tuple[str, Fingerprints] | None:
    """A file's path and fingerprints."""
    row = conn.execute(
        "SELECT path, k, fp_window, hashes, positions FROM similarity_doc"
        " WHERE fid = ? AND norm IS NOT NULL",
        (fid,),
    ).fetchone()
    if row is None:
        return None
    path, k, window, hashes, positions = row
    return from_db(path), Fingerprints(k, window, unpack(hashes), unpack(positions))


def paths_of(conn: sqlite3.Connection, fids: Iterable[int]) -> dict[int, str]:
    out = {}
    for fid in fids:
        row = conn.execute("SELECT path FROM similarity_doc WHERE fid = ?", (fid,)).fetchone()
        if row is not None:
            out[fid] = from_db(row[0])
    return out


# -- postings (read) ------------------------------------------------------------------------------


def lookup(conn: sqlite3.Connection, space: int, h: int, cap: int | None) -> list[int]:
    """The postings (`fid << 32 | pos`, ascending) of hash `h`; none when it has more than
    `cap` (boilerplate, whose postings would only be skipped)."""
    sql = "SELECT fid, pos FROM similarity_posting WHERE space = ? AND hash = ?"
    if cap is None:
        rows = conn.execute(sql, (space, h)).fetchall()
    else:
        rows = conn.execute(sql + " LIMIT ?", (space, h, cap + 1)).fetchall()
        if len(rows) > cap:
            return []
    return [fid << 32 | pos for fid, pos in rows]


def lookup_many(
    conn: sqlite3.Connection, space: int, hashes: Iterable[int], cap: int
) -> dict[int, list[int]]:
    """`lookup` of many hashes in one query (hashes over the cap, or without postings, are
    left out)."""
    out: dict[int, list[int]] = {}
    rows = conn.execute(
        "SELECT j.value, p.fid, p.pos FROM json_each(?) j JOIN similarity_posting p"
        " ON p.space = ? AND p.hash = j.value WHERE (SELECT count(*) FROM (SELECT 1"
        " FROM similarity_posting q WHERE q.space = ? AND q.hash = j.value LIMIT ?)) <= ?"
        " ORDER BY j.value, p.fid, p.pos",
        (json.dumps(list(hashes)), space, space, cap + 1, cap),
    )
    for h, fid, pos in rows:
        held = out.get(h)
        if held is None:
            out[h] = [fid << 32 | pos]
        else:
            held.append(fid << 32 | pos)
    return out


def count(conn: sqlite3.Connection, space: int, h: int, most: int) -> int:
    """How many postings hash `h` has, counted up to `most`."""
    row = conn.execute(
        "SELECT count(*) FROM (SELECT 1 FROM similarity_posting WHERE space = ? AND hash = ?"
        " LIMIT ?)",
        (space, h, most),
    ).fetchone()
    return int(row[0])


def counts(conn: sqlite3.Connection, space: int, hashes: Iterable[int]) -> dict[int, int]:
    """How many postings each of `hashes` has, in one query (hashes with none left out)."""
    rows = conn.execute(
        "SELECT hash, count(*) FROM similarity_posting WHERE space = ?"
        " AND hash IN (SELECT value FROM json_each(?)) GROUP BY hash",
        (space, json.dumps(list(hashes))),
    )
    return dict(rows)


def fid_of(conn: sqlite3.Connection, space: int, path: str) -> int | None:
    row = conn.execute(
        "SELECT fid FROM similarity_doc WHERE space = ? AND path = ?", (space, to_db(path))
    ).fetchone()
    return None if row is None else int(row[0])
