"""Reading the linters' results for reports and plans, from the store, per query.

Through a read-only connection of its own, in a thread (the caller's lane): a report over
50,000 files neither holds the daemon's DB thread nor stays in memory after it is answered.
A page of files (`file_page`) reads the issues of its own files only.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from aegisd.store.pathtext import from_db, to_db
from aegisd_lint.issues import Issue, Totals
from aegisd_lint.report import FileReport, Selection, Tally
from aegisd_lint.store import ISSUES, PATHS_PER_QUERY, SEVERITIES


@contextmanager
def reading(db_path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the daemon's database, closed after the block."""
    with closing(sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True)) as db:
        yield db


def stored_keys(db_path: Path, ws_id: str, tool: str) -> dict[str, str]:
    """Every stored cache key of `tool`, by path (a whole-workspace plan reads them)."""
    with reading(db_path) as db:
        cursor = db.execute(
            "SELECT path, key FROM lint_result WHERE workspace_id = ? AND tool = ?",
            (ws_id, tool),
        )
        return {from_db(path): key for path, key in cursor}


def stored_paths(db_path: Path, ws_id: str) -> set[str]:
    """Every path any tool has a result for."""
    with reading(db_path) as db:
        cursor = db.execute(
            "SELECT DISTINCT path FROM lint_result WHERE workspace_id = ?", (ws_id,)
        )
        return {from_db(path) for (path,) in cursor}


def tallies(
    db_path: Path, ws_id: str, tools: Sequence[str], selection: Selection
) -> dict[str, Tally]:
    """Each tool's tally on the files and severities `selection` names."""
    if not tools:
        return {}
    where, args = _where(ws_id, tools, selection)
    kept = selection.severities()
    found: dict[str, Tally] = {}
    with reading(db_path) as db:
        sums = ", ".join(f"sum(n_{severity})" for severity in SEVERITIES)
        cursor = db.execute(
            f"SELECT tool, count(*), {sums} FROM lint_result{where} GROUP BY tool", args
        )
        counts = {
            tool: (
                files,
                Counter({s: n for s, n in zip(SEVERITIES, rest, strict=True) if n and s in kept}),
            )
            for tool, files, *rest in cursor
        }
        totals: dict[str, list[Totals]] = {}
        cursor = db.execute(
            f"SELECT tool, totals FROM lint_result{where} AND totals IS NOT NULL", args
        )
        for tool, text in cursor:
            totals.setdefault(tool, []).append(Totals.model_validate_json(text))
    for tool, (files, severities) in counts.items():
        found[tool] = Tally(files, severities, Totals.sum(totals.get(tool, ())))
    return found


def file_page(
    db_path: Path,
    ws_id: str,
    tools: Sequence[str],
    selection: Selection,
    limit: int | None = None,
    cursor: str | None = None,
) -> tuple[list[FileReport], str | None]:
    """The files with selected issues (and the file a path selection names, even clean),
    by path, after `cursor` (a path of the previous page), at most `limit` of them; and the
    cursor of the next page (None: this was the last)."""
    if not tools or limit == 0:
        return [], None
    where, args = _where(ws_id, tools, selection)
    selected = " + ".join(f"n_{severity}" for severity in selection.severities())
    sql = f"SELECT DISTINCT path FROM lint_result{where} AND ({selected}) > 0"
    if cursor is not None:
        sql += " AND path > ?"
        args = [*args, to_db(cursor)]
    sql += " ORDER BY path"
    if limit is not None:
        sql += " LIMIT ?"
        args = [*args, limit + 1]
    with reading(db_path) as db:
        paths = [path for (path,) in db.execute(sql, args)]
        exact = selection.path and to_db(selection.path)
        if exact and not paths and (cursor is None or exact > to_db(cursor)):
            named, named_args = _where(ws_id, tools, Selection())
            if db.execute(
                f"SELECT 1 FROM lint_result{named} AND path = ?", [*named_args, exact]
            ).fetchone():
                paths = [exact]  # the file the report names, clean
        following = None
        if limit is not None and len(paths) > limit:
            paths = paths[:limit]
            following = from_db(paths[-1])
        reports = _reports(db, ws_id, tools, selection, paths)
    return reports, following


def _reports(
    db: sqlite3.Connection,
    ws_id: str,
    tools: Sequence[str],
    selection: Selection,
    paths: list[str],
) -> list[FileReport]:
    kept = set(selection.severities())
    files: dict[str, tuple[list[Issue], dict[str, int], list[int]]] = {
        path: ([], {}, [0]) for path in paths
    }
    marks = ", ".join("?" * len(tools))
    counts = " + ".join(f"n_{severity}" for severity in SEVERITIES)
    for at in range(0, len(paths), PATHS_PER_QUERY):
        chunk = paths[at : at + PATHS_PER_QUERY]
        rows = db.execute(
            f"SELECT path, tool, run, issues, {counts} FROM lint_result WHERE workspace_id = ?"
            f" AND tool IN ({marks}) AND path IN ({', '.join('?' * len(chunk))})",
            (ws_id, *tools, *chunk),
        )
        for path, tool, run, issues, total in rows:
            found, checked, total_issues = files[path]
            checked[tool] = run
            total_issues[0] += total
            if total:
                found += (i for i in ISSUES.validate_json(issues) if i.severity in kept)
    return [
        FileReport(
            path=from_db(path),
            issues=sorted(found, key=_position),
            checked=dict(sorted(checked.items())),
            total_issues=total[0],
        )
        for path, (found, checked, total) in files.items()
    ]


def _where(ws_id: str, tools: Sequence[str], selection: Selection) -> tuple[str, list[Any]]:
    """The WHERE clause (with its arguments) of the rows of `tools` `selection` covers."""
    where = f" WHERE workspace_id = ? AND tool IN ({', '.join('?' * len(tools))})"
    args: list[Any] = [ws_id, *tools]
    if selection.path:
        # a file, or what is under a directory: "/" sorts right before "0"
        path = to_db(selection.path)
        where += " AND (path = ? OR (path > ? AND path < ?))"
        args += [path, path + "/", path + "0"]
    return where, args


def _position(issue: Issue) -> tuple[int, int, str, str]:
    return issue.line, issue.column, issue.tool, issue.code or ""
