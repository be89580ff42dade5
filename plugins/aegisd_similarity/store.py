"""The similarity plugin's table: one row per analyzed file, its records as blobs.

A row holds the content hash the file had when analyzed, its tokens and its fingerprints, so a
restart rebuilds the clone index without tokenizing anything, and what made the tokens
(`tokens.lexer_of`): rows of another lexer are analyzed again. A file that was analyzed but not
indexed (too large, binary) has a row without records, so it is not read again until it
changes. Functions here run on the daemon's DB thread (through `store.run`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import peewee

from aegisd.store.migrations import Migration
from aegisd.store.pathtext import from_db, to_db
from aegisd_similarity.fingerprint import Fingerprints
from aegisd_similarity.tokens import FileTokens

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
]

_COLUMNS = (
    "path, hash, language, line_count, norm, orig, breaks, layout, source,"
    " k, fp_window, hashes, positions, lexer"
)


@dataclass(frozen=True, slots=True)
class Stored:
    """One file as stored: its content hash, and its records unless it was skipped."""

    path: str
    digest: str
    tokens: FileTokens | None
    fingerprints: Fingerprints | None


def load_page(db: peewee.SqliteDatabase, ws_id: str, after: str, limit: int) -> list[Stored]:
    """Up to `limit` stored files of a workspace whose path sorts after `after`, in path order
    (pages keep each call short and bound its memory)."""
    cursor = db.execute_sql(
        f"SELECT {_COLUMNS} FROM similarity_file WHERE workspace_id = ? AND path > ?"
        " ORDER BY path LIMIT ?",
        (ws_id, to_db(after), limit),
    )
    out = []
    for row in cursor:
        stored, digest, language, lines, norm, orig, breaks, layout, source = row[:9]
        k, win, hs, ps, lexer = row[9:]
        path = from_db(stored)
        if norm is None:
            out.append(Stored(path, digest, None, None))
            continue
        tokens = FileTokens.from_record(
            {
                "path": path,
                "language": language,
                "line_count": lines,
                "norm": norm,
                "orig": orig,
                "breaks": breaks,
                "layout": layout,
                "source": source,
                "lexer": lexer or "",
            }
        )
        prints = Fingerprints.from_record({"k": k, "window": win, "hashes": hs, "positions": ps})
        out.append(Stored(path, digest, tokens, prints))
    return out


def save(
    db: peewee.SqliteDatabase, ws_id: str, files: Iterable[Stored], removed: Iterable[str]
) -> None:
    """Replace the rows of `files` and delete those of `removed`, in one transaction."""
    rows = []
    for f in files:
        row: list[object] = [ws_id, to_db(f.path), f.digest]
        if f.tokens is None or f.fingerprints is None:
            row += [None] * 12
        else:
            t, p = f.tokens.to_record(), f.fingerprints.to_record()
            row += [t["language"], t["line_count"], t["norm"], t["orig"], t["breaks"]]
            row += [t["layout"], t["source"], p["k"], p["window"], p["hashes"], p["positions"]]
            row.append(t["lexer"])
        rows.append(row)
    with db.atomic():
        db.cursor().executemany(
            "DELETE FROM similarity_file WHERE workspace_id = ? AND path = ?",
            [(ws_id, to_db(path)) for path in removed],
        )
        db.cursor().executemany(
            f"INSERT OR REPLACE INTO similarity_file (workspace_id, {_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
