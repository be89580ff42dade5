"""The insights tables: the current set, the history of its changes, the LLM answers.

Functions here run on the daemon's DB thread (through `store.run`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import peewee

from aegisd.store.migrations import Migration
from aegisd_insights.inputs import SEVERITY_RANK
from aegisd_insights.insight import KIND_ORDER, Insight

if TYPE_CHECKING:
    from aegisd_insights.evaluation import Change

PLUGIN = "aegisd_insights"

MIGRATIONS = [
    Migration(
        PLUGIN,
        1,
        "current insights, their history, generated answers",
        [
            "CREATE TABLE insights_current (workspace_id TEXT NOT NULL, key TEXT NOT NULL,"
            " kind TEXT NOT NULL, severity TEXT NOT NULL, title TEXT NOT NULL,"
            " detail TEXT NOT NULL, paths TEXT NOT NULL, symbols TEXT NOT NULL,"
            " metrics TEXT NOT NULL, first_clock INTEGER NOT NULL, first_at TEXT NOT NULL,"
            " clock INTEGER NOT NULL, PRIMARY KEY (workspace_id, key))",
            "CREATE TABLE insights_history (id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " workspace_id TEXT NOT NULL, clock INTEGER NOT NULL, at TEXT NOT NULL,"
            " change TEXT NOT NULL, key TEXT NOT NULL, kind TEXT NOT NULL,"
            " severity TEXT NOT NULL, title TEXT NOT NULL)",
            "CREATE INDEX insights_history_ws ON insights_history (workspace_id, id)",
            "CREATE TABLE insights_generation (id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " workspace_id TEXT NOT NULL, created_at TEXT NOT NULL, trigger TEXT NOT NULL,"
            " model TEXT NOT NULL, focus TEXT NOT NULL, prompt_hash TEXT NOT NULL,"
            " inputs_clock INTEGER NOT NULL, send_source INTEGER NOT NULL,"
            " content TEXT NOT NULL, chunks INTEGER NOT NULL, done_reason TEXT,"
            " prompt_tokens INTEGER, output_tokens INTEGER, duration_ms INTEGER NOT NULL)",
            "CREATE INDEX insights_generation_hash ON insights_generation"
            " (workspace_id, prompt_hash)",
        ],
    )
]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True, slots=True)
class Seen:
    """When an insight (by key) first appeared."""

    clock: int
    at: str


@dataclass(frozen=True, slots=True)
class HistoryRow:
    id: int
    clock: int
    at: str
    change: str  # "added", "changed" or "removed"
    key: str
    kind: str
    severity: str
    title: str


@dataclass(frozen=True, slots=True)
class Generation:
    """One stored LLM answer and what produced it."""

    id: int
    created_at: str
    trigger: str  # "request" or "schedule"
    model: str
    focus: str
    prompt_hash: str
    inputs_clock: int
    send_source: bool
    content: str
    chunks: int
    done_reason: str | None
    prompt_tokens: int | None
    output_tokens: int | None
    duration_ms: int


def load_current(db: peewee.SqliteDatabase, ws_id: str) -> list[tuple[Insight, Seen]]:
    cursor = db.execute_sql(
        "SELECT key, kind, severity, title, detail, paths, symbols, metrics, first_clock,"
        " first_at FROM insights_current WHERE workspace_id = ?",
        (ws_id,),
    )
    return [_current(row) for row in cursor]


def _current(row: tuple[Any, ...]) -> tuple[Insight, Seen]:
    key, kind, severity, title, detail, paths, symbols, metrics, first_clock, first_at = row
    insight = Insight(
        key=key,
        kind=kind,
        severity=severity,
        title=title,
        detail=detail,
        paths=tuple(json.loads(paths)),
        symbols=tuple(json.loads(symbols)),
        metrics=json.loads(metrics),
    )
    return insight, Seen(first_clock, first_at)


def apply_rows(
    db: peewee.SqliteDatabase,
    ws_id: str,
    clock: int,
    at: str,
    changes: Sequence[Change],
    keep: int,
) -> None:
    """Store one page of an evaluation's changes (`evaluation.Change`: rows as stored) and
    record each in the history (a removed insight as its row last said), keeping the newest
    `keep` history rows."""
    with db.atomic():
        for c in changes:
            if c.row is None:  # removed: its history row first, from what is stored
                db.execute_sql(
                    "INSERT INTO insights_history (workspace_id, clock, at, change, key, kind,"
                    " severity, title) SELECT workspace_id, ?, ?, 'removed', key, kind,"
                    " severity, title FROM insights_current WHERE workspace_id = ? AND key = ?",
                    (clock, at, ws_id, c.key),
                )
                db.execute_sql(
                    "DELETE FROM insights_current WHERE workspace_id = ? AND key = ?",
                    (ws_id, c.key),
                )
                continue
            kind, severity, title = c.row[:3]
            db.execute_sql(
                "INSERT OR REPLACE INTO insights_current (workspace_id, key, kind, severity,"
                " title, detail, paths, symbols, metrics, first_clock, first_at, clock)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (ws_id, c.key, *c.row, c.first_clock, c.first_at, clock),
            )
            db.execute_sql(
                "INSERT INTO insights_history (workspace_id, clock, at, change, key, kind,"
                " severity, title) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (ws_id, clock, at, c.change, c.key, kind, severity, title),
            )
        _prune(db, "insights_history", ws_id, keep)


def _rank_sql() -> str:
    """Most severe first, then by kind (`KIND_ORDER`), then by key: `insights.list`'s order."""
    severity = " ".join(f"WHEN '{s}' THEN {-r}" for s, r in SEVERITY_RANK.items())
    kind = " ".join(f"WHEN '{k}' THEN {n}" for n, k in enumerate(KIND_ORDER))
    return f"CASE severity {severity} END, CASE kind {kind} END, key"


_RANK = _rank_sql()


def page(
    db: peewee.SqliteDatabase, ws_id: str, kind: str | None, limit: int
) -> list[tuple[Insight, Seen]]:
    """The first `limit` current insights (of `kind`, when given) in `insights.list`'s order."""
    where, args = ("AND kind = ?", (ws_id, kind, limit)) if kind else ("", (ws_id, limit))
    cursor = db.execute_sql(
        "SELECT key, kind, severity, title, detail, paths, symbols, metrics, first_clock,"
        f" first_at FROM insights_current WHERE workspace_id = ? {where} ORDER BY {_RANK}"
        " LIMIT ?",
        args,
    )
    return [_current(row) for row in cursor]


def tally(db: peewee.SqliteDatabase, ws_id: str, kind: str | None) -> dict[str, int]:
    """Current insights (of `kind`, when given) by severity."""
    where, args = ("AND kind = ?", (ws_id, kind)) if kind else ("", (ws_id,))
    cursor = db.execute_sql(
        f"SELECT severity, COUNT(*) FROM insights_current WHERE workspace_id = ? {where}"
        " GROUP BY severity",
        args,
    )
    return {severity: count for severity, count in cursor}


def _prune(db: peewee.SqliteDatabase, table: str, ws_id: str, keep: int) -> None:
    """Delete all but the newest `keep` rows of a workspace (by id)."""
    db.execute_sql(
        f"DELETE FROM {table} WHERE workspace_id = ? AND id <= (SELECT id FROM {table}"
        " WHERE workspace_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
        (ws_id, ws_id, keep),
    )


def history(
    db: peewee.SqliteDatabase, ws_id: str, kind: str | None, limit: int
) -> list[HistoryRow]:
    """The newest changes first."""
    where, args = ("AND kind = ?", (ws_id, kind, limit)) if kind else ("", (ws_id, limit))
    cursor = db.execute_sql(
        "SELECT id, clock, at, change, key, kind, severity, title FROM insights_history"
        f" WHERE workspace_id = ? {where} ORDER BY id DESC LIMIT ?",
        args,
    )
    return [HistoryRow(*row) for row in cursor]


_GENERATION_COLUMNS = (
    "id, created_at, trigger, model, focus, prompt_hash, inputs_clock, send_source, content,"
    " chunks, done_reason, prompt_tokens, output_tokens, duration_ms"
)


def _generation(row: tuple[Any, ...] | None) -> Generation | None:
    if row is None:
        return None
    values = list(row)
    values[7] = bool(values[7])
    return Generation(*values)


def find_generation(db: peewee.SqliteDatabase, ws_id: str, prompt_hash: str) -> Generation | None:
    """The newest stored answer to this exact prompt (the hash covers the model)."""
    return _generation(
        db.execute_sql(
            f"SELECT {_GENERATION_COLUMNS} FROM insights_generation"
            " WHERE workspace_id = ? AND prompt_hash = ? ORDER BY id DESC LIMIT 1",
            (ws_id, prompt_hash),
        ).fetchone()
    )


def latest_generation(db: peewee.SqliteDatabase, ws_id: str) -> Generation | None:
    return _generation(
        db.execute_sql(
            f"SELECT {_GENERATION_COLUMNS} FROM insights_generation"
            " WHERE workspace_id = ? ORDER BY id DESC LIMIT 1",
            (ws_id,),
        ).fetchone()
    )


def save_generation(db: peewee.SqliteDatabase, ws_id: str, g: Generation, keep: int) -> Generation:
    """Store an answer (its `id` is assigned here) and keep the newest `keep` answers."""
    with db.atomic():
        cursor = db.execute_sql(
            "INSERT INTO insights_generation (workspace_id, created_at, trigger, model, focus,"
            " prompt_hash, inputs_clock, send_source, content, chunks, done_reason,"
            " prompt_tokens, output_tokens, duration_ms)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                ws_id,
                g.created_at,
                g.trigger,
                g.model,
                g.focus,
                g.prompt_hash,
                g.inputs_clock,
                int(g.send_source),
                g.content,
                g.chunks,
                g.done_reason,
                g.prompt_tokens,
                g.output_tokens,
                g.duration_ms,
            ),
        )
        new_id = int(cursor.lastrowid or 0)
        _prune(db, "insights_generation", ws_id, keep)
    return replace(g, id=new_id)
