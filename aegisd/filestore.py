"""A workspace's file state in the store (functions for the DB thread): loaded once when it
opens, written per settled batch together with the workspace's clock.

Rows go through the connection's `executemany`, not peewee's query builder: building 50,000
rows' INSERTs in Python took the DB thread ~6 s (and the GIL from the event loop meanwhile);
SQLite's own loop does it in a fraction of that.
"""

from __future__ import annotations

from aegisd.filestate import FileStat, Settled, SkipState
from aegisd.store.core_models import FileStateRow, WorkspaceRow
from aegisd.store.pathtext import from_db, to_db

_TABLE = FileStateRow._meta.table_name
_COLUMNS = "workspace_id, path, size, mtime_ns, hash, skip_kind, skip_reason"
_SELECT = f"SELECT {_COLUMNS} FROM {_TABLE} WHERE workspace_id = ?"
_REPLACE = f"INSERT OR REPLACE INTO {_TABLE} ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
_DELETE = f"DELETE FROM {_TABLE} WHERE workspace_id = ? AND path = ?"


def load_file_state(ws_id: str) -> tuple[dict[str, FileStat], dict[str, SkipState]]:
    """The known and the skipped files of a workspace as stored."""
    db = FileStateRow._meta.database
    known: dict[str, FileStat] = {}
    skipped: dict[str, SkipState] = {}
    for _, path, size, mtime, digest, skip_kind, skip_reason in db.execute_sql(_SELECT, (ws_id,)):
        if skip_kind is None:
            known[from_db(path)] = (size, mtime, digest or "")
        else:
            skipped[from_db(path)] = SkipState(size, mtime, skip_kind, skip_reason or skip_kind)
    return known, skipped


def store_file_state(ws_id: str, clock: int, settled: Settled) -> None:
    """Store what a batch settled and the clock it advanced to, in one transaction."""
    db = FileStateRow._meta.database
    with db.atomic():
        cursor = db.cursor()
        # Deletions first: a path may leave the known files and join the skipped ones.
        gone = [*settled.removed, *settled.unskipped]
        cursor.executemany(_DELETE, ((ws_id, to_db(p)) for p in gone))
        cursor.executemany(
            _REPLACE,
            (
                (ws_id, to_db(p), size, mtime, digest, None, None)
                for p, (size, mtime, digest) in settled.updates.items()
            ),
        )
        cursor.executemany(
            _REPLACE,
            (
                (ws_id, to_db(p), st.size, st.mtime_ns, None, st.kind, st.reason)
                for p, st in settled.skipped.items()
            ),
        )
        WorkspaceRow.update(clock=clock).where(WorkspaceRow.id == ws_id).execute()
