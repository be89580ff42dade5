"""The linters' tables: each tool's current result per file (the result cache, with its
issues' counts per severity, so that tallies are sums), each tool's last outcome, and the run
history. Functions here run on the daemon's DB thread; reports read through `queries`.

Run ids are handed out in memory (a run's results carry its id before it is recorded, and a
run that did nothing is not recorded at all), continuing from `last_run_id` at startup.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import peewee
from pydantic import TypeAdapter

from aegisd.store.jsonfield import dumps
from aegisd.store.migrations import Migration
from aegisd.store.pathtext import from_db, to_db
from aegisd.threads import step_aside
from aegisd_lint.issues import Issue, Severity, Totals
from aegisd_lint.state import Change, Delta, FileResult, Results, ToolState, compare

PLUGIN = "aegisd_lint"
#: runs kept per workspace; older ones are deleted as new ones are recorded
HISTORY_KEPT = 1000
SEVERITIES = tuple(Severity)  # info .. critical: the order of the `n_*` columns
COUNT_COLUMNS = ", ".join(f"n_{severity}" for severity in SEVERITIES)
#: paths per `IN (...)` query (well under SQLite's 32,766 variables)
PATHS_PER_QUERY = 500

#: workspace, tool, path, key, run, issues (JSON), totals (JSON or None), then the issues'
#: counts per severity (info .. critical)
ResultRow = tuple[str, str, str, str, int, str, str | None, int, int, int, int, int]

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
    ),
    Migration(
        PLUGIN,
        2,
        "issue counts per severity and a path index: reports read the store, not memory",
        [
            *(
                f"ALTER TABLE lint_result ADD COLUMN n_{severity} INTEGER NOT NULL DEFAULT 0"
                for severity in SEVERITIES
            ),
            "UPDATE lint_result SET "
            + ", ".join(
                f"n_{severity} = (SELECT count(*) FROM json_each(lint_result.issues)"
                f" WHERE json_extract(value, '$.severity') = '{severity}')"
                for severity in SEVERITIES
            ),
            "CREATE INDEX lint_result_path ON lint_result (workspace_id, path)",
        ],
    ),
]

ISSUES = TypeAdapter(list[Issue])


def load(db: peewee.SqliteDatabase, ws_id: str) -> tuple[Results, int | None]:
    """A workspace's tallies (files, issues by severity, test totals per tool), the tools'
    outcomes and the id of its newest recorded run; the results stay in the table."""
    results = Results()
    cursor = db.execute_sql(
        f"SELECT tool, count(*), {', '.join(f'sum(n_{s})' for s in SEVERITIES)}"
        " FROM lint_result WHERE workspace_id = ? GROUP BY tool",
        (ws_id,),
    )
    for tool, files, *counts in cursor:
        results.apply(tool, Delta(files, _counter(counts)))
    cursor = db.execute_sql(
        "SELECT tool, totals FROM lint_result WHERE workspace_id = ? AND totals IS NOT NULL",
        (ws_id,),
    )
    for tool, totals in cursor:
        results.apply(tool, Delta(totals=Counter(dict(Totals.model_validate_json(totals)))))
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


def keys(
    db: peewee.SqliteDatabase | sqlite3.Connection, ws_id: str, tool: str, paths: Sequence[str]
) -> dict[str, str]:
    """The stored cache key of each of `paths` that has a result of `tool`."""
    found: dict[str, str] = {}
    for at in range(0, len(paths), PATHS_PER_QUERY):
        chunk = [to_db(path) for path in paths[at : at + PATHS_PER_QUERY]]
        cursor = _execute(
            db,
            "SELECT path, key FROM lint_result WHERE workspace_id = ? AND tool = ?"
            f" AND path IN ({', '.join('?' * len(chunk))})",
            (ws_id, tool, *chunk),
        )
        found.update((from_db(path), key) for path, key in cursor)
    return found


def _execute(
    db: peewee.SqliteDatabase | sqlite3.Connection, sql: str, args: Sequence[Any]
) -> sqlite3.Cursor:
    """Raw SQL on the daemon's database (DB thread) or on a connection of one's own."""
    if isinstance(db, sqlite3.Connection):
        return db.execute(sql, args)
    return db.execute_sql(sql, args)  # type: ignore[no-any-return]


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
    removed: Sequence[str],
    state: ToolState | None,
) -> Delta:
    """Store one tool pass: the results it replaced or removed, and the tool's outcome."""
    return save_rows(db, ws_id, tool, result_rows(ws_id, tool, updates), removed, state)


def result_rows(ws_id: str, tool: str, updates: Mapping[str, FileResult]) -> list[ResultRow]:
    """`lint_result` rows of a pass's results: built off the DB thread for large passes."""
    rows: list[ResultRow] = []
    for path, result in updates.items():
        step_aside()
        counts = Counter(issue.severity for issue in result.issues)
        info, low, medium, high, critical = (counts[severity] for severity in SEVERITIES)
        rows.append(
            (
                ws_id,
                tool,
                to_db(path),
                result.key,
                result.run,
                ISSUES.dump_json(result.issues, exclude_defaults=True).decode(),
                result.totals.model_dump_json() if result.totals is not None else None,
                info,
                low,
                medium,
                high,
                critical,
            )
        )
    return rows


def save_rows(
    db: peewee.SqliteDatabase,
    ws_id: str,
    tool: str,
    rows: Sequence[ResultRow],
    removed: Sequence[str],
    state: ToolState | None,
) -> Delta:
    """In one transaction: replace result rows, delete removed files' results and, when
    given, record the tool's outcome (written with a pass's last rows). Returns what that did
    to the tool's tallies, and how many issues were new or fixed (compared file by file, by
    fingerprint, with the rows replaced)."""
    with db.atomic():
        stored = [row[2] for row in rows] + [to_db(path) for path in removed]
        old = _old_rows(db, ws_id, tool, stored)
        delta = Delta()
        for row in rows:
            delta += _replacing(old.pop(row[2], None), row)
        for gone in old.values():
            delta += _replacing(gone, None)
        db.cursor().executemany(
            "DELETE FROM lint_result WHERE workspace_id = ? AND tool = ? AND path = ?",
            [(ws_id, tool, to_db(path)) for path in removed],
        )
        db.cursor().executemany(
            "INSERT OR REPLACE INTO lint_result (workspace_id, tool, path, key, run, issues,"
            f" totals, {COUNT_COLUMNS}) VALUES ({', '.join('?' * 12)})",
            rows,
        )
        if state is not None:
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
    return delta


def drop_paths(
    db: peewee.SqliteDatabase, ws_id: str, paths: Sequence[str]
) -> dict[str, tuple[list[str], Delta]]:
    """Delete every tool's results of `paths` (files that are gone): per tool, the paths it
    had results for and what that did to its tallies."""
    found: dict[str, list[str]] = {}
    for at in range(0, len(paths), PATHS_PER_QUERY):
        chunk = [to_db(path) for path in paths[at : at + PATHS_PER_QUERY]]
        cursor = db.execute_sql(
            "SELECT tool, path FROM lint_result WHERE workspace_id = ?"
            f" AND path IN ({', '.join('?' * len(chunk))})",
            (ws_id, *chunk),
        )
        for tool, path in cursor:
            found.setdefault(tool, []).append(from_db(path))
    return {
        tool: (sorted(gone), save_rows(db, ws_id, tool, [], sorted(gone), None))
        for tool, gone in found.items()
    }


_OLD_COLUMNS = f"path, issues, totals, {COUNT_COLUMNS}"


def _old_rows(
    db: peewee.SqliteDatabase, ws_id: str, tool: str, paths: Sequence[str]
) -> dict[str, tuple[Any, ...]]:
    old: dict[str, tuple[Any, ...]] = {}
    for at in range(0, len(paths), PATHS_PER_QUERY):
        chunk = paths[at : at + PATHS_PER_QUERY]
        cursor = db.execute_sql(
            f"SELECT {_OLD_COLUMNS} FROM lint_result WHERE workspace_id = ? AND tool = ?"
            f" AND path IN ({', '.join('?' * len(chunk))})",
            (ws_id, tool, *chunk),
        )
        old.update((row[0], row) for row in cursor)
    return old


def _replacing(old: tuple[Any, ...] | None, new: ResultRow | None) -> Delta:
    """What replacing the stored row `old` (path, issues, totals, counts; None: none) with
    `new` (None: deleting it) does to the tallies."""
    before = _counter(old[3:]) if old is not None else Counter[Severity]()
    after = _counter(new[7:]) if new is not None else Counter[Severity]()
    counts = Counter(after)
    counts.subtract(before)
    totals = _totals(new[6] if new is not None else None)
    totals.subtract(_totals(old[2] if old is not None else None))
    had, has = before.total(), after.total()
    if had and has:  # (old and new are not None here)
        change = compare(ISSUES.validate_json(old[1]), ISSUES.validate_json(new[5]))  # type: ignore[index]
    else:
        change = Change(new=has, fixed=had)
    files = (new is not None) - (old is not None)
    return Delta(files, counts, totals, change)


def _counter(counts: Sequence[int | None]) -> Counter[Severity]:
    return Counter({s: n for s, n in zip(SEVERITIES, counts, strict=True) if n})


def _totals(text: str | None) -> Counter[str]:
    return Counter(dict(Totals.model_validate_json(text))) if text else Counter()


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
    """Recorded runs, the last finished first (a background run started before an edit's
    may finish after it)."""
    cursor = db.execute_sql(
        "SELECT id, trigger, clock, started_at, finished_at, detail FROM lint_run"
        " WHERE workspace_id = ? ORDER BY finished_at DESC, id DESC LIMIT ?",
        (ws_id, limit),
    )
    return [
        RunRow(run_id, trigger, clock, started, finished, json.loads(detail))
        for run_id, trigger, clock, started, finished, detail in cursor
    ]
