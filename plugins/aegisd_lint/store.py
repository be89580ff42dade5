"""The linters' tables: each tool's current result per file (the result cache), each tool's
last outcome, and the run history. Functions here run on the daemon's DB thread.

Run ids are handed out in memory (a run's results carry its id before it is recorded, and a
run that did nothing is not recorded at all), continuing from `last_run_id` at startup.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import peewee
from pydantic import TypeAdapter

from aegisd.store.jsonfield import dumps
from aegisd.store.migrations import Migration
from aegisd.store.pathtext import from_db, to_db
from aegisd.threads import step_aside
from aegisd_lint.issues import Issue, Totals
from aegisd_lint.state import FileResult, Results, ToolState

PLUGIN = "aegisd_lint"
#: runs kept per workspace; older ones are deleted as new ones are recorded
HISTORY_KEPT = 1000

#: workspace, tool, path, key, run, issues (JSON), totals (JSON or None)
ResultRow = tuple[str, str, str, str, int, str, str | None]

MIGRATIONS = [
    Migration(
        PLUGIN,
        1,
        "results, tools and runs",
        [
            "CREATE TABLE lint_result (workspace_id TEXT NOT NULL, tool TEXT NOT NULL,"
            " path TEXT NOT NULL, key TEXT NOT NULL, run INTEGER NOT NULL,"
            " issues TEXT NOT NULL, totals TEXT, PRIMARY KEY (workspace_id, tool, path))",
            "CREATE TABLE lint_tool (workspace_id TEXT NOT NULL, tool TEXT NOT NULL,"
            " outcome TEXT NOT NULL, version TEXT, error_code TEXT, message TEXT,"
            " unverified TEXT NOT NULL, PRIMARY KEY (workspace_id, tool))",
            "CREATE TABLE lint_run (id INTEGER PRIMARY KEY, workspace_id TEXT NOT NULL,"
            " trigger TEXT NOT NULL, clock INTEGER NOT NULL, started_at TEXT NOT NULL,"
            " finished_at TEXT NOT NULL, detail TEXT NOT NULL)",
            "CREATE INDEX lint_run_workspace ON lint_run (workspace_id, id)",
        ],
    )
]

_ISSUES = TypeAdapter(list[Issue])


def load(db: peewee.SqliteDatabase, ws_id: str) -> tuple[Results, int | None]:
    """A workspace's stored state and the id of its newest recorded run."""
    results = Results()
    cursor = db.execute_sql(
        "SELECT tool, path, key, run, issues, totals FROM lint_result WHERE workspace_id = ?",
        (ws_id,),
    )
    stored: dict[str, dict[str, FileResult]] = {}
    for tool, path, key, run, issues, totals in cursor:
        stored.setdefault(tool, {})[from_db(path)] = FileResult(
            key,
            run,
            _ISSUES.validate_json(issues),
            Totals.model_validate_json(totals) if totals else None,
        )
    for tool, files in stored.items():
        results.load(tool, files)
    cursor = db.execute_sql(
        "SELECT tool, outcome, version, error_code, message, unverified FROM lint_tool"
        " WHERE workspace_id = ?",
        (ws_id,),
    )
    for tool, outcome, version, error_code, message, unverified in cursor:
        results.tools[tool] = ToolState(
            outcome, version, error_code, message, set(json.loads(unverified))
        )
    row = db.execute_sql("SELECT max(id) FROM lint_run WHERE workspace_id = ?", (ws_id,)).fetchone()
    return results, row[0]


def last_run_id(db: peewee.SqliteDatabase) -> int:
    """The highest run id in use, recorded or (a run cut short) only in stored results."""
    recorded = db.execute_sql("SELECT max(id) FROM lint_run").fetchone()[0]
    referenced = db.execute_sql("SELECT max(run) FROM lint_result").fetchone()[0]
    return max(recorded or 0, referenced or 0)


def save_tool(
    db: peewee.SqliteDatabase,
    ws_id: str,
    tool: str,
    updates: Mapping[str, FileResult],
    removed: Iterable[str],
    state: ToolState,
) -> None:
    """Store one tool pass: the results it replaced or removed, and the tool's outcome."""
    save_rows(db, ws_id, tool, result_rows(ws_id, tool, updates), removed, state)


def result_rows(ws_id: str, tool: str, updates: Mapping[str, FileResult]) -> list[ResultRow]:
    """`lint_result` rows of a pass's results: built off the DB thread for large passes."""
    rows = []
    for path, result in updates.items():
        step_aside()
        rows.append(
            (
                ws_id,
                tool,
                to_db(path),
                result.key,
                result.run,
                _ISSUES.dump_json(result.issues, exclude_defaults=True).decode(),
                result.totals.model_dump_json() if result.totals is not None else None,
            )
        )
    return rows


def save_rows(
    db: peewee.SqliteDatabase,
    ws_id: str,
    tool: str,
    rows: Iterable[ResultRow],
    removed: Iterable[str],
    state: ToolState | None,
) -> None:
    """In one transaction: replace result rows, delete removed files' results and, when
    given, record the tool's outcome (written with a pass's last rows)."""
    with db.atomic():
        db.cursor().executemany(
            "DELETE FROM lint_result WHERE workspace_id = ? AND tool = ? AND path = ?",
            [(ws_id, tool, to_db(path)) for path in removed],
        )
        db.cursor().executemany(
            "INSERT OR REPLACE INTO lint_result VALUES (?, ?, ?, ?, ?, ?, ?)", rows
        )
        if state is None:
            return
        db.execute_sql(
            "INSERT OR REPLACE INTO lint_tool VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                ws_id,
                tool,
                state.outcome,
                state.version,
                state.error_code,
                state.message,
                dumps(sorted(state.unverified), "unverified"),
            ),
        )


def drop_paths(db: peewee.SqliteDatabase, ws_id: str, dropped: Mapping[str, list[str]]) -> None:
    """Delete the results of files that are gone, per tool."""
    with db.atomic():
        db.cursor().executemany(
            "DELETE FROM lint_result WHERE workspace_id = ? AND tool = ? AND path = ?",
            [(ws_id, tool, to_db(path)) for tool, paths in dropped.items() for path in paths],
        )


@dataclass(frozen=True)
class RunRow:
    id: int
    trigger: str
    clock: int
    started_at: str
    finished_at: str
    detail: dict[str, Any]


def record_run(db: peewee.SqliteDatabase, ws_id: str, row: RunRow) -> None:
    """Add a finished run to the history and forget runs beyond the limit."""
    with db.atomic():
        db.execute_sql(
            "INSERT INTO lint_run VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                row.id,
                ws_id,
                row.trigger,
                row.clock,
                row.started_at,
                row.finished_at,
                dumps(row.detail, "detail"),
            ),
        )
        db.execute_sql(
            "DELETE FROM lint_run WHERE workspace_id = ? AND id < (SELECT min(id) FROM"
            " (SELECT id FROM lint_run WHERE workspace_id = ? ORDER BY id DESC LIMIT ?))",
            (ws_id, ws_id, HISTORY_KEPT),
        )


def history(db: peewee.SqliteDatabase, ws_id: str, limit: int) -> list[RunRow]:
    """Recorded runs, newest first."""
    cursor = db.execute_sql(
        "SELECT id, trigger, clock, started_at, finished_at, detail FROM lint_run"
        " WHERE workspace_id = ? ORDER BY id DESC LIMIT ?",
        (ws_id, limit),
    )
    return [
        RunRow(run_id, trigger, clock, started, finished, json.loads(detail))
        for run_id, trigger, clock, started, finished, detail in cursor
    ]
