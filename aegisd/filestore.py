"""A workspace's file state in the store (functions for the DB thread): loaded once when it
opens, written per settled batch together with the workspace's clock."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from aegisd.filestate import FileStat, Settled, SkipState
from aegisd.store.core_models import FileStateRow, WorkspaceRow


def load_file_state(ws_id: str) -> tuple[dict[str, FileStat], dict[str, SkipState]]:
    """The known and the skipped files of a workspace as stored."""
    Row = FileStateRow
    query = Row.select(
        Row.path, Row.size, Row.mtime_ns, Row.hash, Row.skip_kind, Row.skip_reason
    ).where(Row.workspace == ws_id)
    rows = cast(Iterable[tuple[str, int, int, str | None, str | None, str | None]], query.tuples())
    known: dict[str, FileStat] = {}
    skipped: dict[str, SkipState] = {}
    for path, size, mtime, digest, skip_kind, skip_reason in rows:
        if skip_kind is None:
            known[path] = (size, mtime, digest or "")
        else:
            skipped[path] = SkipState(size, mtime, skip_kind, skip_reason or skip_kind)
    return known, skipped


def store_file_state(ws_id: str, clock: int, settled: Settled) -> None:
    """Store what a batch settled and the clock it advanced to, in one transaction."""
    Row = FileStateRow
    db = Row._meta.database
    with db.atomic():
        # Deletions first: a path may leave the known files and join the skipped ones.
        gone = [*settled.removed, *settled.unskipped]
        for start in range(0, len(gone), 500):
            chunk = gone[start : start + 500]
            Row.delete().where((Row.workspace == ws_id) & (Row.path.in_(chunk))).execute()
        rows = [
            {"workspace": ws_id, "path": p, "size": s, "mtime_ns": m, "hash": h,
             "skip_kind": None, "skip_reason": None}
            for p, (s, m, h) in settled.updates.items()
        ] + [
            {"workspace": ws_id, "path": p, "size": st.size, "mtime_ns": st.mtime_ns, "hash": None,
             "skip_kind": st.kind, "skip_reason": st.reason}
            for p, st in settled.skipped.items()
        ]  # fmt: skip
        for start in range(0, len(rows), 500):
            Row.insert_many(rows[start : start + 500]).on_conflict_replace().execute()
        WorkspaceRow.update(clock=clock).where(WorkspaceRow.id == ws_id).execute()
