"""The git plugin's table: blames of large files at a commit, kept across restarts.

A blame at a commit never changes, and a large file's costs hundreds of milliseconds (a
2,000-line file with 500 commits: ~130 ms of git, more on a busy machine): such blames
(`LARGE_LINES` lines or more) are stored, zlib-compressed JSON, keyed by the repository, the
workspace's prefix in it, the commit and the path. At most `MAX_ROWS` are kept, the least
recently used going first. Functions here run on the daemon's DB thread (through `store.run`).
"""

from __future__ import annotations

import json
import zlib
from typing import Any

import peewee

from aegisd.store.migrations import Migration
from aegisd.store.pathtext import to_db

PLUGIN = "aegisd_git"
LARGE_LINES = 1000
MAX_ROWS = 500

MIGRATIONS = [
    Migration(
        PLUGIN,
        1,
        "blames of large files",
        [
            "CREATE TABLE git_blame (repo TEXT NOT NULL, prefix TEXT NOT NULL, rev TEXT NOT NULL,"
            " path TEXT NOT NULL, lines BLOB NOT NULL, used INTEGER NOT NULL,"
            " PRIMARY KEY (repo, prefix, rev, path))",
            "CREATE INDEX git_blame_used ON git_blame (used)",
        ],
    )
]


#: the next use's number: later uses have larger ones (times may tie within a millisecond)
_NEXT_USE = "(SELECT COALESCE(MAX(used), 0) + 1 FROM git_blame)"


def load_blame(
    db: peewee.SqliteDatabase, repo: str, prefix: str, rev: str, path: str
) -> dict[str, Any] | None:
    """The stored blame (`lines` and `commits`), marked as used; None when there is none."""
    key = (to_db(repo), to_db(prefix), rev, to_db(path))
    row = db.execute_sql(
        "SELECT lines FROM git_blame WHERE repo = ? AND prefix = ? AND rev = ? AND path = ?", key
    ).fetchone()
    if row is None:
        return None
    db.execute_sql(
        f"UPDATE git_blame SET used = {_NEXT_USE}"
        " WHERE repo = ? AND prefix = ? AND rev = ? AND path = ?",
        key,
    )
    blame = json.loads(zlib.decompress(row[0]))
    return blame if isinstance(blame, dict) else None  # an older form: blamed again


def save_blame(
    db: peewee.SqliteDatabase,
    repo: str,
    prefix: str,
    rev: str,
    path: str,
    blame: dict[str, Any],
    max_rows: int = MAX_ROWS,
) -> None:
    """Store a blame, then forget the least recently used beyond `max_rows`."""
    # json escapes lone surrogates (names and text that are not UTF-8) and reads them back
    blob = zlib.compress(json.dumps(blame).encode("ascii"), 6)
    with db.atomic():
        db.execute_sql(
            "INSERT OR REPLACE INTO git_blame (repo, prefix, rev, path, lines, used)"
            f" VALUES (?, ?, ?, ?, ?, {_NEXT_USE})",
            (to_db(repo), to_db(prefix), rev, to_db(path), blob),
        )
        db.execute_sql(
            "DELETE FROM git_blame WHERE rowid NOT IN"
            " (SELECT rowid FROM git_blame ORDER BY used DESC LIMIT ?)",
            (max_rows,),
        )
