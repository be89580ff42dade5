"""An evaluation as the insights worker process runs it: gather the inputs from the store,
run the detectors, and diff the result against the stored set; the daemon gets back the
stage, the first insights of each kind (for prompts) and the changes, page by page.

Runs in the worker (`worker.Evaluator`), which keeps per workspace what makes the next
evaluation incremental: the `gather.IndexMemo` (per file inputs, the import graph) and a digest
of each stored insight. The daemon's heap never holds a workspace's inputs or its whole set.
The worker's state is a cache: a new worker (the last one killed or lost) reads it all again,
and a daemon whose write of the changes failed says so (`Job.resync`), so the stored set is
read again before the next diff.
"""

from __future__ import annotations

import json
import os
import pickle
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from sys import intern
from typing import Any

from aegisd.store.jsonfield import dumps
from aegisd_insights import gather
from aegisd_insights.compute import compute_insights
from aegisd_insights.inputs import CloneData, LintIssue
from aegisd_insights.insight import KIND_ORDER, Insight, Thresholds
from aegisd_insights.stage import StageResult, detect_stage
from aegisd_insights.stored import StoredView, Unsaved, snapshot

#: changes handed to the daemon at a time (one store transaction and one event each)
PAGE = 1000

Row = tuple[str, str, str, str, str, str, str]
"""An insight as stored: kind, severity, title, detail, paths, symbols, metrics (JSON)."""


@dataclass(frozen=True, slots=True)
class Job:
    """One evaluation of a workspace. `indexed` False: no code map (no files). `top`: insights
    of each kind returned in order (what a prompt lists). `resync`: read the stored set again
    (the daemon's last write of changes failed)."""

    db_path: Path
    indexed: bool
    ws_id: str
    unsaved: Mapping[str, Unsaved]
    lint: tuple[LintIssue, ...]
    clones: CloneData | None
    lint_totals: Mapping[str, int]
    thresholds: Thresholds
    package: str | None
    clock: int
    at: str
    top: int
    resync: bool = False
    #: where the worker keeps its `gather.IndexMemo` while it is not running (None: nowhere)
    memo_path: Path | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """ "added", "changed" or "removed"; `row` and when the insight was first seen (None for a
    removed one: its stored row says what it was)."""

    change: str
    key: str
    row: Row | None = None
    first_clock: int = 0
    first_at: str = ""


@dataclass(frozen=True, slots=True)
class Outcome:
    stage: StageResult
    top: tuple[Insight, ...]
    total: int
    changes: tuple[Change, ...]  # the first page
    more: bool  # further pages: `take_page`
    #: this evaluation read most of a large workspace: its temporaries left the worker's heap
    #: large (freed, not given back); its memo is on disk, a new worker should take over
    recycle: bool = False
    #: outlines read from the store (every file's on a first evaluation, the edited ones' next)
    read: int = 0


@dataclass
class _Stored:
    """Per stored key: a digest of its row, and when it was first seen."""

    rows: dict[str, tuple[int, int, str]] = field(default_factory=dict)


@dataclass
class _Workspace:
    memo: gather.IndexMemo = field(default_factory=gather.IndexMemo)
    stored: _Stored | None = None
    pages: Iterator[tuple[Change, ...]] = field(default_factory=lambda: iter(()))


_WORKSPACES: dict[str, _Workspace] = {}


def row_of(i: Insight) -> Row:
    return (
        i.kind,
        i.severity,
        i.title,
        i.detail,
        dumps(list(i.paths), "paths"),
        dumps(list(i.symbols), "symbols"),
        dumps(dict(i.metrics), "metrics"),
    )


def _digest(i: Insight) -> int:
    """Equal for equal insights (as `Insight.__eq__` compares them), with no JSON written:
    an evaluation compares every insight it finds."""
    metrics = tuple(sorted(i.metrics.items()))
    return hash((i.kind, i.severity, i.title, i.detail, tuple(i.paths), tuple(i.symbols), metrics))


def _read_stored(conn: sqlite3.Connection, ws_id: str) -> _Stored:
    stored = _Stored()
    for (
        key,
        kind,
        severity,
        title,
        detail,
        paths,
        symbols,
        metrics,
        first_clock,
        first_at,
    ) in conn.execute(
        "SELECT key, kind, severity, title, detail, paths, symbols, metrics, first_clock,"
        " first_at FROM insights_current WHERE workspace_id = ?",
        (ws_id,),
    ):
        insight = Insight(key, kind, severity, title, detail, tuple(json.loads(paths)),
                          tuple(json.loads(symbols)), json.loads(metrics))  # fmt: skip
        stored.rows[key] = (_digest(insight), first_clock, intern(first_at))
    return stored


def _top(found: Sequence[Insight], per_kind: int) -> tuple[Insight, ...]:
    """The first `per_kind` insights of each kind, in their order."""
    counts = dict.fromkeys(KIND_ORDER, 0)
    kept = []
    for i in found:
        if counts[i.kind] < per_kind:
            counts[i.kind] += 1
            kept.append(i)
    return tuple(kept)


def _diff(stored: _Stored, found: Iterable[Insight], clock: int, at: str) -> list[Change]:
    """Added, then changed, then removed (each in `found`'s order); brings `stored` up to
    what the changes make of it."""
    added: list[Change] = []
    changed: list[Change] = []
    after: set[str] = set()
    for i in found:
        after.add(i.key)
        digest = _digest(i)
        before = stored.rows.get(i.key)
        if before is None:
            added.append(Change("added", i.key, row_of(i), clock, at))
            stored.rows[i.key] = (digest, clock, at)
        elif before[0] != digest:
            changed.append(Change("changed", i.key, row_of(i), before[1], before[2]))
            stored.rows[i.key] = (digest, before[1], before[2])
    removed = [Change("removed", key) for key in stored.rows if key not in after]
    for change in removed:
        del stored.rows[change.key]
    return [*added, *changed, *removed]


def _pages(changes: list[Change]) -> Iterator[tuple[Change, ...]]:
    for at in range(0, len(changes), PAGE):
        yield tuple(changes[at : at + PAGE])


#: an evaluation reading more files than this recycles the worker (`Outcome.recycle`)
RECYCLE_READ = 5000


def evaluate_job(job: Job) -> Outcome:
    """Evaluate `job`'s workspace and diff it against the stored set (in the worker)."""
    state = _WORKSPACES.get(job.ws_id)
    if state is None:  # a new worker: the memo the last one left, if any
        state = _WORKSPACES[job.ws_id] = _Workspace(memo=load_memo(job.memo_path))
    # One snapshot for what is read; the detectors run after it (a read transaction held
    # for minutes would keep the WAL from being checkpointed).
    with snapshot(job.db_path) as conn:
        view: Any = StoredView(conn, job.ws_id, job.unsaved) if job.indexed else {}
        floor = job.thresholds.complexity_medium
        inputs = gather.inputs_from_index(
            view, job.lint, job.clones, state.memo, job.package, job.lint_totals, floor
        )
        if state.stored is None or job.resync:
            state.stored = _read_stored(conn, job.ws_id)
        read = view.outlines_read if job.indexed else 0
    found = compute_insights(inputs, job.thresholds)
    stage = detect_stage(inputs.files, inputs.symbols)
    del inputs
    pages = _pages(_diff(state.stored, found, job.clock, job.at))
    first = next(pages, ())
    state.pages = pages
    more = len(first) == PAGE
    recycle = read > RECYCLE_READ and job.memo_path is not None
    if recycle:
        save_memo(job.ws_id, job.memo_path)
    return Outcome(stage, _top(found, job.top), len(found), first, more, recycle, read)


#: bumped when `gather.IndexMemo` (or what it holds) changes shape: older files are ignored
MEMO_VERSION = 1


def load_memo(path: Path | None) -> gather.IndexMemo:
    """The memo saved at `path`, or an empty one (none, unreadable, or of another version)."""
    if path is None:
        return gather.IndexMemo()
    try:
        with path.open("rb") as fh:
            version, memo = pickle.load(fh)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ValueError, TypeError):
        return gather.IndexMemo()
    return (
        memo
        if version == MEMO_VERSION and isinstance(memo, gather.IndexMemo)
        else (gather.IndexMemo())
    )


def save_memo(ws_id: str, path: Path | None) -> bool:
    """Write the workspace's memo to `path` (atomically, private to the user)."""
    state = _WORKSPACES.get(ws_id)
    if state is None or path is None:
        return False
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    scratch = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        pickle.dump((MEMO_VERSION, state.memo), fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(scratch, path)
    return True


def take_page(ws_id: str) -> tuple[Change, ...]:
    """The next page of the last evaluation's changes (empty: none left)."""
    state = _WORKSPACES.get(ws_id)
    return next(state.pages, ()) if state is not None else ()


def forget(ws_id: str) -> None:
    """Drop a workspace's state (tests; a worker serves one workspace in the daemon)."""
    _WORKSPACES.pop(ws_id, None)


def resident() -> dict[str, Any]:
    """What the worker keeps (tests)."""
    return {ws: (len(s.memo.files), len(s.stored.rows) if s.stored else None)
            for ws, s in _WORKSPACES.items()}  # fmt: skip
