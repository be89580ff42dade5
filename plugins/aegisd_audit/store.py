"""The audit tables and every query on them. Functions here run on the daemon's DB thread.

Writes (`start_run`, `insert_event`, `end_run`, ...) raise `NotFound` / `Conflict` before they
change anything, so `writer.GroupWriter` can run many of them in one transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import peewee

from aegisd.rpc.errors import Conflict, NotFound
from aegisd.store.core_models import now_iso
from aegisd.store.jsonfield import dumps, loads_readable
from aegisd.store.migrations import Migration

PLUGIN = "aegisd_audit"
OPEN = "open"

MIGRATIONS = [
    Migration(
        PLUGIN,
        1,
        "runs, events and replayed spool entries",
        [
            "CREATE TABLE audit_run (id INTEGER PRIMARY KEY AUTOINCREMENT, workspace_id TEXT,"
            " root TEXT, external_id TEXT, name TEXT NOT NULL, actor TEXT NOT NULL, notes TEXT,"
            " status TEXT NOT NULL, capture INTEGER NOT NULL, created_at TEXT NOT NULL,"
            " updated_at TEXT NOT NULL, closed_at TEXT, event_count INTEGER NOT NULL DEFAULT 0,"
            " lint_start TEXT, lint_end TEXT)",
            # One open run per agent session; a session seen again after its end gets a new run.
            "CREATE UNIQUE INDEX audit_run_external ON audit_run (external_id)"
            " WHERE external_id IS NOT NULL AND status = 'open'",
            "CREATE INDEX audit_run_workspace ON audit_run (workspace_id, id)",
            "CREATE INDEX audit_run_updated ON audit_run (updated_at)",
            "CREATE TABLE audit_event (id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " run_id INTEGER NOT NULL REFERENCES audit_run(id) ON DELETE CASCADE,"
            " type TEXT NOT NULL, title TEXT NOT NULL, detail TEXT, actor TEXT NOT NULL,"
            " phase TEXT, status TEXT NOT NULL, ref TEXT, payload TEXT,"
            " truncated INTEGER NOT NULL, created_at TEXT NOT NULL)",
            "CREATE INDEX audit_event_run ON audit_event (run_id, id)",
            "CREATE INDEX audit_event_created ON audit_event (created_at)",
            "CREATE TABLE audit_spool_done (id TEXT PRIMARY KEY)",
        ],
    )
]

RUN_COLUMNS = (
    "id, workspace_id, root, external_id, name, actor, notes, status, capture, created_at,"
    " updated_at, closed_at, event_count"
)
EVENT_COLUMNS = (
    "id, run_id, type, title, detail, actor, phase, status, ref, payload, truncated, created_at"
)


@dataclass(frozen=True)
class NewRun:
    """What `start_run` creates (or finds, by `external_id`)."""

    name: str
    actor: str
    workspace_id: str | None
    root: str | None
    external_id: str | None
    notes: str | None
    capture: bool
    created_at: str | None = None  # None: now


@dataclass(frozen=True)
class NewEvent:
    """An event ready to store: already redacted and within limits (`events.prepare_event`)."""

    type: str
    title: str
    detail: str | None
    actor: str
    phase: str | None
    status: str
    ref: str | None
    payload: dict[str, Any] | None
    truncated: bool
    created_at: str | None = None  # None: now


def run_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    """A row of RUN_COLUMNS as the `RunOut` fields."""
    keys = (
        "id", "workspace", "root", "external_id", "name", "actor", "notes", "status", "capture",
        "created_at", "updated_at", "closed_at", "event_count",
    )  # fmt: skip
    run = dict(zip(keys, row, strict=True))
    run["capture"] = bool(run["capture"])
    return run


def event_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    """A row of EVENT_COLUMNS as the `EventOut` fields."""
    keys = (
        "id", "run", "type", "title", "detail", "actor", "phase", "status", "ref", "payload",
        "truncated", "created_at",
    )  # fmt: skip
    event = dict(zip(keys, row, strict=True))
    readable = True
    if event["payload"] is not None:
        # Written before depths were checked, a payload too deep to serve comes back cut.
        event["payload"], readable = loads_readable(event["payload"])
    event["truncated"] = bool(event["truncated"]) or not readable
    return event


# -- writes (run through writer.GroupWriter, inside its transaction) ------------------------------


def start_run(db: peewee.SqliteDatabase, run: NewRun) -> tuple[dict[str, Any], bool]:
    """The open run with `run.external_id`, or a new run; and whether it was created."""
    if run.external_id is not None:
        found = db.execute_sql(
            f"SELECT {RUN_COLUMNS} FROM audit_run WHERE external_id = ? AND status = ?",
            (run.external_id, OPEN),
        ).fetchone()
        if found is not None:
            return run_dict(found), False
    now = run.created_at or now_iso()
    cursor = db.execute_sql(
        "INSERT INTO audit_run (workspace_id, root, external_id, name, actor, notes, status,"
        " capture, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            run.workspace_id, run.root, run.external_id, run.name, run.actor, run.notes, OPEN,
            int(run.capture), now, now,
        ),
    )  # fmt: skip
    return get_run(db, cursor.lastrowid), True


def insert_event(
    db: peewee.SqliteDatabase, run_id: int, event: NewEvent
) -> tuple[dict[str, Any], str | None]:
    """Store `event` in open run `run_id`; returns it and the run's workspace id. NotFound /
    Conflict when the run is unknown / closed."""
    ws_id = _open_run(db, run_id)
    created = event.created_at or now_iso()
    payload = (
        None
        if event.payload is None
        else dumps(event.payload, "params.payload", ensure_ascii=False)
    )
    values = (
        run_id, event.type, event.title, event.detail, event.actor, event.phase, event.status,
        event.ref, payload, int(event.truncated), created,
    )  # fmt: skip
    cursor = db.execute_sql(
        "INSERT INTO audit_event (run_id, type, title, detail, actor, phase, status, ref,"
        " payload, truncated, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        values,
    )
    db.execute_sql(
        "UPDATE audit_run SET event_count = event_count + 1, updated_at = max(updated_at, ?)"
        " WHERE id = ?",
        (created, run_id),
    )
    return event_dict((cursor.lastrowid, *values)), ws_id


def end_run(
    db: peewee.SqliteDatabase, run_id: int, status: str, notes: str | None
) -> dict[str, Any]:
    """Close open run `run_id` with `status` ("closed" or a label)."""
    _open_run(db, run_id)
    now = now_iso()
    db.execute_sql(
        "UPDATE audit_run SET status = ?, closed_at = ?, updated_at = ?,"
        " notes = coalesce(?, notes) WHERE id = ?",
        (status, now, now, notes, run_id),
    )
    return get_run(db, run_id)


def set_lint(db: peewee.SqliteDatabase, run_id: int, at_end: bool, issues: list[Any]) -> None:
    """Record the lint issues at the run's start or (`at_end`) its end."""
    column = "lint_end" if at_end else "lint_start"
    db.execute_sql(
        f"UPDATE audit_run SET {column} = ? WHERE id = ?", (dumps(issues, "lint issues"), run_id)
    )


def adopt_runs(db: peewee.SqliteDatabase, ws_id: str, root: str) -> list[tuple[int, bool]]:
    """Give open runs without a workspace whose directory lies in `root` to workspace `ws_id`;
    returns (id, capture) of every open run of that workspace."""
    with db.atomic():
        db.execute_sql(
            "UPDATE audit_run SET workspace_id = ? WHERE workspace_id IS NULL AND status = ?"
            " AND (root = ? OR substr(root, 1, length(?) + 1) = ? || '/')",
            (ws_id, OPEN, root, root, root),
        )
        rows = db.execute_sql(
            "SELECT id, capture FROM audit_run WHERE workspace_id = ? AND status = ?",
            (ws_id, OPEN),
        ).fetchall()
    return [(run_id, bool(capture)) for run_id, capture in rows]


def prune(db: peewee.SqliteDatabase, ws_id: str | None, cutoff: str) -> list[int]:
    """Delete the runs of `ws_id` (None: runs without a workspace) last active before `cutoff`,
    with their events; returns their ids."""
    with db.atomic():
        rows = db.execute_sql(
            "SELECT id FROM audit_run WHERE workspace_id IS ? AND updated_at < ?", (ws_id, cutoff)
        ).fetchall()
        ids = [run_id for (run_id,) in rows]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            db.execute_sql(f"DELETE FROM audit_event WHERE run_id IN ({marks})", chunk)
            db.execute_sql(f"DELETE FROM audit_run WHERE id IN ({marks})", chunk)
    return ids


def _open_run(db: peewee.SqliteDatabase, run_id: int) -> str | None:
    """The workspace id of open run `run_id`; NotFound / Conflict when unknown / not open."""
    row = db.execute_sql(
        "SELECT status, workspace_id FROM audit_run WHERE id = ?", (run_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"no run {run_id}", run=run_id)
    if row[0] != OPEN:
        raise Conflict(f"run {run_id} is {row[0]}: it takes no more events", run=run_id)
    return row[1]  # type: ignore[no-any-return]


# -- spool replay bookkeeping -----------------------------------------------------------------


def spool_done(db: peewee.SqliteDatabase, entry_id: str) -> bool:
    row = db.execute_sql("SELECT 1 FROM audit_spool_done WHERE id = ?", (entry_id,)).fetchone()
    return row is not None


def mark_spool_done(db: peewee.SqliteDatabase, entry_id: str) -> None:
    db.execute_sql("INSERT INTO audit_spool_done (id) VALUES (?)", (entry_id,))


def forget_spool_ids(db: peewee.SqliteDatabase) -> None:
    """Called once the replayed spool files are deleted: their ids can no longer come back."""
    db.execute_sql("DELETE FROM audit_spool_done")


# -- reads --------------------------------------------------------------------------------------


def get_run(db: peewee.SqliteDatabase, run_id: int) -> dict[str, Any]:
    row = db.execute_sql(f"SELECT {RUN_COLUMNS} FROM audit_run WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        raise NotFound(f"no run {run_id}", run=run_id)
    return run_dict(row)


def event_types(db: peewee.SqliteDatabase, run_id: int) -> dict[str, int]:
    rows = db.execute_sql(
        "SELECT type, count(*) FROM audit_event WHERE run_id = ? GROUP BY type ORDER BY type",
        (run_id,),
    ).fetchall()
    return dict(rows)


def list_runs(
    db: peewee.SqliteDatabase,
    scope: tuple[str | None, str | None] | None,
    status: str | None,
    external_id: str | None,
    before_id: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Runs newest first. `scope` is (workspace id, root): runs of that workspace or started
    in a directory under that root; `status` "closed" means every status but open."""
    where: list[str] = ["1"]
    args: list[Any] = []
    if scope is not None:
        ws_id, root = scope
        where.append("(workspace_id = ? OR root = ? OR substr(root, 1, length(?) + 1) = ? || '/')")
        args += [ws_id, root, root, root]
    if status == "closed":
        where.append("status != ?")
        args.append(OPEN)
    elif status is not None:
        where.append("status = ?")
        args.append(status)
    if external_id is not None:
        where.append("external_id = ?")
        args.append(external_id)
    if before_id is not None:
        where.append("id < ?")
        args.append(before_id)
    rows = db.execute_sql(
        f"SELECT {RUN_COLUMNS} FROM audit_run WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
        (*args, limit),
    ).fetchall()
    return [run_dict(row) for row in rows]


def list_events(
    db: peewee.SqliteDatabase,
    run_id: int,
    after_id: int | None,
    types: list[str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Events of `run_id` after `after_id`, oldest first; NotFound for an unknown run."""
    get_run(db, run_id)
    where = "run_id = ? AND id > ?"
    args: list[Any] = [run_id, after_id or 0]
    if types:
        where += f" AND type IN ({','.join('?' * len(types))})"
        args += types
    rows = db.execute_sql(
        f"SELECT {EVENT_COLUMNS} FROM audit_event WHERE {where} ORDER BY id LIMIT ?",
        (*args, limit),
    ).fetchall()
    return [event_dict(row) for row in rows]


def file_changes(db: peewee.SqliteDatabase, run_id: int) -> list[dict[str, Any]]:
    """The payloads of a run's file_change events, oldest first."""
    rows = db.execute_sql(
        "SELECT payload FROM audit_event WHERE run_id = ? AND type = 'file_change'"
        " AND payload IS NOT NULL ORDER BY id",
        (run_id,),
    ).fetchall()
    return [json.loads(payload) for (payload,) in rows]


def lint_snapshots(db: peewee.SqliteDatabase, run_id: int) -> tuple[Any, Any]:
    row = db.execute_sql(
        "SELECT lint_start, lint_end FROM audit_run WHERE id = ?", (run_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"no run {run_id}", run=run_id)
    return tuple(None if value is None else json.loads(value) for value in row)  # type: ignore[return-value]


def run_workspaces(db: peewee.SqliteDatabase) -> list[str | None]:
    """Every workspace id that has runs (None for runs outside any workspace)."""
    rows = db.execute_sql("SELECT DISTINCT workspace_id FROM audit_run").fetchall()
    return [ws_id for (ws_id,) in rows]
