"""The insights plugin's state, and how the set is kept in line with its inputs.

A recompute runs in the workspace's worker process (`worker`, `evaluation`): it reads the code
map's store as it is (only what changed since the last one, and of each file only the symbols
detectors use), with the files applied but not yet stored and the lint and clone results last
read from those plugins, and diffs the result against the stored set. The differences come
back a page at a time; each page is stored (current set and history) and published
(`insights.updated`). The daemon keeps the stage and the first insights of each kind (for
prompts); the set itself lives in the store (`insights.list` pages it from there). Who
triggers recomputes is `follow`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from aegisd_codemap.service import CODEMAP
from loguru import logger

from aegisd.daemon import StateKey
from aegisd.rpc.errors import RpcError, Unavailable
from aegisd.threads import background
from aegisd_insights import evaluation, gather, store
from aegisd_insights.breaker import CircuitBreaker
from aegisd_insights.inputs import SEVERITY_RANK, CloneData, LintIssue
from aegisd_insights.insight import Insight
from aegisd_insights.settings import InsightsSettings, settings_of
from aegisd_insights.stage import StageResult
from aegisd_insights.stored import Unsaved
from aegisd_insights.worker import Evaluator

if TYPE_CHECKING:
    from aegisd_codemap.index import WorkspaceIndex
    from aegisd_codemap.model import FileExtract

    from aegisd.daemon import Daemon
    from aegisd.workspace import ChangeBatch, Workspace

#: Clones and hotspots asked of `similarity.report` (its default is 100).
CLONES_READ = 1000
#: files per page of serious lint issues read
LINT_PAGE_FILES = 500
_CANCEL_AGAIN_S = 0.5


@dataclass
class WorkspaceInsights:
    """One workspace's insights. `seen_clock` is the clock of the last batch the code map has
    processed (our batch hook runs after it), so a snapshot taken now is at least that fresh."""

    ws: Workspace
    seen_clock: int
    #: the first insights of each kind, in the detectors' order (what a prompt lists)
    top: tuple[Insight, ...] = ()
    stage: StageResult | None = None
    computed_clock: int = 0
    computed_key: tuple[Any, ...] | None = None
    lint: tuple[LintIssue, ...] = ()  # the serious (high, critical) issues
    lint_totals: dict[str, int] = field(default_factory=dict)  # all issues of their files
    lint_summary: dict[str, int] = field(default_factory=dict)
    lint_signature: Any = None
    clones: CloneData | None = None
    clones_signature: Any = None
    sources: dict[str, bool] = field(
        default_factory=lambda: {"index": False, "lint": False, "clones": False}
    )
    external_version: int = 0
    #: the process that evaluates (and keeps the inputs of the last evaluation)
    evaluator: Evaluator = field(default_factory=Evaluator)
    #: the last changes were not all stored: the worker reads the stored set again
    resync: bool = False
    last_generation: store.Generation | None = None
    schedule_from: float = 0.0  # time.time() of the last answer or enabling; 0: disabled
    dirty: asyncio.Event = field(default_factory=asyncio.Event)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    generating: asyncio.Lock = field(default_factory=asyncio.Lock)
    task: asyncio.Task[None] | None = None
    generation_task: asyncio.Task[None] | None = None
    #: recomputes requests asked for (they outlive their request: see `fresh`), and the
    #: retiring of an idle worker
    asked: set[asyncio.Task[None]] = field(default_factory=set)
    #: when the worker, idle, is let go
    idle: asyncio.TimerHandle | None = None

    @property
    def computing(self) -> bool:
        """A recompute is due or running: the set may lag the workspace."""
        return not self.ready.is_set() or self.dirty.is_set() or self.lock.locked()


@dataclass
class Insights:
    """Open workspaces, the HTTP session for Ollama and one circuit breaker per server."""

    workspaces: dict[str, WorkspaceInsights] = field(default_factory=dict)
    session: aiohttp.ClientSession | None = None
    breakers: dict[tuple[str, int, float], CircuitBreaker] = field(default_factory=dict)

    def http(self) -> aiohttp.ClientSession:
        """The shared session, opened on first use (nothing is opened when Ollama is unused)."""
        if self.session is None or self.session.closed:
            self.session = aiohttp.ClientSession()
        return self.session

    def breaker(self, settings: InsightsSettings) -> CircuitBreaker:
        """The breaker of `settings.base_url`, shared by every workspace using that server."""
        key = (settings.base_url, settings.breaker_failures, settings.breaker_cooldown_s)
        found = self.breakers.get(key)
        if found is None:
            found = self.breakers[key] = CircuitBreaker(
                settings.breaker_failures, settings.breaker_cooldown_s
            )
        return found


INSIGHTS = StateKey("insights", Insights)


def get(daemon: Daemon) -> Insights:
    return daemon.state[INSIGHTS]


def workspace(daemon: Daemon, ws: Workspace) -> WorkspaceInsights:
    found = get(daemon).workspaces.get(ws.id)
    if found is None:  # a request between the workspace's opening and our hook
        raise Unavailable("insights are not set up for this workspace yet", retry_after_ms=200)
    return found


async def closed(daemon: Daemon, ws: Workspace) -> None:
    wi = get(daemon).workspaces.pop(ws.id, None)
    if wi is not None:
        await _stop(wi)


async def shutdown(daemon: Daemon) -> None:
    state = daemon.state.get(INSIGHTS)
    if state is None:  # the daemon stopped before plugins started
        return
    for ws_id in list(state.workspaces):
        await _stop(state.workspaces.pop(ws_id))
    if state.session is not None:
        await state.session.close()


async def _stop(wi: WorkspaceInsights) -> None:
    """Kill the worker first: an evaluation running there ends now, and whoever waits for it
    with it."""
    _cancel_idle(wi)
    await wi.evaluator.stop()
    await _cancel(wi.task, wi.generation_task, *wi.asked)


async def _cancel(*tasks: asyncio.Task[None] | None) -> None:
    """Cancel and await; cancel again while a task goes on (Python 3.11's wait_for, used by
    the store, can swallow a cancellation that lands as its operation completes)."""
    running = {t for t in tasks if t is not None}
    while running:
        for task in running:
            task.cancel()
        _, running = await asyncio.wait(running, timeout=_CANCEL_AGAIN_S)


def indexed(daemon: Daemon, ws: Workspace) -> bool:
    """The code map has indexed the workspace (or is not loaded): insights can evaluate."""
    codemap = daemon.state.get(CODEMAP)
    event = codemap.ready.get(ws.id) if codemap is not None else None
    return event is None or event.is_set()


def changed(daemon: Daemon, ws: Workspace, batch: ChangeBatch) -> None:
    """Called after the code map took the batch: note it and wake the task."""
    wi = get(daemon).workspaces.get(ws.id)
    if wi is not None:
        wi.seen_clock = max(wi.seen_clock, batch.clock)
        wi.dirty.set()


# -- inputs from other plugins --------------------------------------------------------------------


async def read_sources(daemon: Daemon, wi: WorkspaceInsights) -> bool:
    """Re-read lint and clone results when they may have changed; a change bumps
    `external_version` so the next recompute runs. A failing read keeps what was read before.
    False while the clone index is still warming up (worth asking again soon)."""
    lint_changed = await _read_lint(daemon, wi)
    clones_changed, settled = await _read_clones(daemon, wi)
    if lint_changed or clones_changed:
        wi.external_version += 1
    return settled


async def _call(daemon: Daemon, method: str, params: dict[str, Any]) -> dict[str, Any] | None:
    """Another plugin's result, or None when it is not loaded or fails."""
    if daemon.registry.get(method) is None:
        return None
    try:
        return await daemon.dispatcher.call(method, params)
    except RpcError as exc:
        logger.debug("insights: {} failed: {}", method, exc)
        return None


async def _read_lint(daemon: Daemon, wi: WorkspaceInsights) -> bool:
    ws_param = {"workspace": wi.ws.id}
    if daemon.registry.get("lint.report") is None:
        changed = bool(wi.lint)
        wi.lint, wi.lint_totals, wi.lint_summary, wi.sources["lint"] = (), {}, {}, False
        return changed
    # The last recorded run is cheap to read; the report is read only when it changed.
    history = await _call(daemon, "lint.history", {**ws_param, "limit": 1})
    runs = history.get("runs") if history is not None else None
    signature = None
    if isinstance(runs, list):
        last = runs[0] if runs else {}
        signature = tuple(last.get(k) for k in ("id", "finished_at", "issues", "status"))
    if signature is not None and signature == wi.lint_signature:
        return False
    read = await _read_lint_pages(daemon, ws_param)
    if read is None:
        return False
    summary, issues, totals, running = read
    changed = issues != wi.lint or totals != wi.lint_totals
    wi.lint, wi.lint_totals, wi.lint_summary = issues, totals, summary
    wi.sources["lint"] = True
    wi.lint_signature = None if running else signature
    return changed


async def _read_lint_pages(
    daemon: Daemon, ws_param: dict[str, Any]
) -> tuple[dict[str, int], tuple[LintIssue, ...], dict[str, int], bool] | None:
    """The lint counts by severity, the serious (high and critical) issues, all issues per
    file that has one, and whether a lint run was going: the whole-workspace tallies and then
    the serious issues page by page (a 50,000-file workspace has a million issues in all)."""
    head = await _call(daemon, "lint.report", {**ws_param, "limit": 0})
    if head is None:
        return None
    _, summary = gather.lint_from_report(head)
    issues: list[LintIssue] = []
    totals: dict[str, int] = {}
    cursor = None
    while True:
        params = {**ws_param, "min_severity": "high", "limit": LINT_PAGE_FILES}
        page = await _call(
            daemon, "lint.report", {**params, "cursor": cursor} if cursor else params
        )
        if page is None:
            return None
        found, counts = await background(gather.lint_page, page)
        issues += found
        totals.update(counts)
        cursor = page.get("next_cursor")
        if not isinstance(cursor, str):
            break
    issues.sort(key=lambda i: (i.path, SEVERITY_RANK[i.severity], i.rule))
    return summary, tuple(issues), totals, bool(head.get("running"))


async def _read_clones(daemon: Daemon, wi: WorkspaceInsights) -> tuple[bool, bool]:
    """(changed, settled)."""
    ws_param = {"workspace": wi.ws.id}
    if daemon.registry.get("similarity.report") is None:
        changed = wi.clones is not None
        wi.clones, wi.clones_signature, wi.sources["clones"] = None, None, False
        return changed, True
    # The clone index's version is cheap to read; while it is not ready, wait for it.
    signature: Any = wi.seen_clock
    if daemon.registry.get("similarity.status") is not None:
        status = await _call(daemon, "similarity.status", ws_param)
        # Not ready, or files still queued for it: its report is about to change.
        if status is None or not status.get("ready") or status.get("queued"):
            return False, False
        signature = status.get("version")
    if signature == wi.clones_signature:
        return False, True
    report = await _call(daemon, "similarity.report", {**ws_param, "limit": CLONES_READ})
    if report is None:
        return False, True
    clones = gather.clones_from_report(report)
    changed = clones != wi.clones
    wi.clones, wi.sources["clones"] = clones, clones is not None
    wi.clones_signature = None if report.get("pending") else signature
    return changed, True


# -- recomputing ----------------------------------------------------------------------------------


async def fresh(daemon: Daemon, wi: WorkspaceInsights) -> None:
    """`recompute` for a request: a request cancelled meanwhile (its client gone) leaves the
    recompute running (cancelling it would kill the worker and its incremental state)."""
    task = asyncio.ensure_future(recompute(daemon, wi))
    _keep(wi, task)
    await asyncio.shield(task)


def _keep(wi: WorkspaceInsights, task: asyncio.Task[None]) -> None:
    """Track a task a stop must cancel; its failure, when nobody awaits it, is taken (the
    recompute that follows reports its own)."""
    wi.asked.add(task)
    task.add_done_callback(_forget_task(wi))


def _forget_task(wi: WorkspaceInsights) -> Callable[[asyncio.Task[None]], None]:
    def forget(task: asyncio.Task[None]) -> None:
        wi.asked.discard(task)
        if not task.cancelled():
            task.exception()

    return forget


async def recompute(daemon: Daemon, wi: WorkspaceInsights) -> None:
    """Bring the set in line with the index, lint and clone data and the thresholds; store
    and publish the differences. Quick when none of those changed."""
    codemap = daemon.state.get(CODEMAP)
    index = codemap.indexes.get(wi.ws.id) if codemap is not None else None
    settings = settings_of(wi.ws)
    thresholds = settings.thresholds.to_thresholds()
    top = max(settings.max_prompt_insights, TOP_AT_LEAST)
    async with wi.lock:
        wi.dirty.clear()
        clock = wi.seen_clock
        version = index.version if index else 0
        key = (id(index), version, wi.external_version, thresholds, top)
        if key == wi.computed_key:
            wi.computed_clock = clock
            return
        wi.sources["index"] = index is not None
        job = evaluation.Job(
            db_path=daemon.store.path,
            indexed=index is not None,
            ws_id=wi.ws.id,
            unsaved=await _unsaved(index, thresholds.complexity_medium) if index else {},
            lint=wi.lint,
            clones=wi.clones,
            lint_totals=wi.lint_totals,
            thresholds=thresholds,
            package=index.package if index is not None else None,
            clock=clock,
            at=store.now_iso(),
            top=top,
            resync=wi.resync,
            memo_path=memo_path(daemon, wi.ws),
        )
        _cancel_idle(wi)
        outcome = await wi.evaluator.run(evaluation.evaluate_job, job)
        await _apply(daemon, wi, outcome, clock, job.at)
        if outcome.recycle:
            wi.evaluator.retire()
        else:
            wi.idle = asyncio.get_running_loop().call_later(IDLE_S, _on_idle, daemon, wi)
        wi.stage, wi.top, wi.computed_key, wi.computed_clock = (
            outcome.stage,
            outcome.top,
            key,
            clock,
        )


#: a prompt's source snippets come from the first complexity hotspots: at least these many
TOP_AT_LEAST = 5
#: a worker idle this long saves its memo and exits (the next recompute starts another)
IDLE_S = 30.0


def memo_path(daemon: Daemon, ws: Workspace) -> Path:
    """Where a workspace's worker keeps its memo between workers."""
    return daemon.config.data_path / "insights" / f"{ws.id}.memo"


def _cancel_idle(wi: WorkspaceInsights) -> None:
    if wi.idle is not None:
        wi.idle.cancel()
        wi.idle = None


def _on_idle(daemon: Daemon, wi: WorkspaceInsights) -> None:
    wi.idle = None
    _keep(wi, asyncio.ensure_future(_retire(daemon, wi)))


async def _retire(daemon: Daemon, wi: WorkspaceInsights) -> None:
    """Save the idle worker's memo and let it go (not if a recompute came meanwhile)."""
    async with wi.lock:
        if wi.idle is not None or not wi.evaluator.running:
            return
        try:
            await wi.evaluator.run(evaluation.save_memo, wi.ws.id, memo_path(daemon, wi.ws))
        except OSError as exc:  # the next worker evaluates from scratch
            logger.warning("insights {}: the memo was not saved: {}", wi.ws.id, exc)
        wi.evaluator.retire()


async def _unsaved(index: WorkspaceIndex, floor: int) -> dict[str, Unsaved]:
    """The files the code map applied and has not stored yet, for the worker (which reads
    the store): each with its hash and its outline and notable symbols only."""
    unsaved, facts = dict(index.unsaved), index.facts
    hashes = {p: facts[p].hash for p in unsaved if p in facts}
    return await background(_outlined, unsaved, hashes, floor) if unsaved else {}


def _outlined(
    unsaved: dict[str, FileExtract | None], hashes: dict[str, str], floor: int
) -> dict[str, Unsaved]:
    notable = gather.NotableSymbols(floor)
    found = {}
    for path, extract in unsaved.items():
        if extract is None or path not in hashes:
            found[path] = Unsaved("", None)
            continue
        kept = [s for s in extract.symbols if notable(s)]
        found[path] = Unsaved(hashes[path], replace(extract, symbols=kept, refs=None))
    return found


async def _apply(
    daemon: Daemon, wi: WorkspaceInsights, outcome: evaluation.Outcome, clock: int, at: str
) -> None:
    """Store and publish the changes page by page (each page one transaction and one event)."""
    changes, more = outcome.changes, outcome.more
    if not changes:
        return
    wi.resync = True  # until every page is stored: the worker assumes they are
    while changes:
        await daemon.store.run(
            store.apply_rows,
            daemon.store.db,
            wi.ws.id,
            clock,
            at,
            changes,
            settings_of(wi.ws).history_keep,
        )
        daemon.events.publish(
            "insights.updated",
            {"workspace": wi.ws.id, "clock": clock, **_event(changes)},
            workspace=wi.ws.id,
            clock=clock,
        )
        changes = await wi.evaluator.run(evaluation.take_page, wi.ws.id) if more else ()
    wi.resync = False


def _event(changes: tuple[evaluation.Change, ...]) -> dict[str, Any]:
    event: dict[str, Any] = {"added": [], "changed": [], "removed": []}
    for c in changes:
        if c.row is None:
            event["removed"].append(c.key)
        else:
            event[c.change].append(_row_json(c))
    return event


def _row_json(c: evaluation.Change) -> dict[str, Any]:
    assert c.row is not None
    kind, severity, title, detail, paths, symbols, metrics = c.row
    return {
        "key": c.key,
        "kind": kind,
        "severity": severity,
        "title": title,
        "detail": detail,
        "paths": json.loads(paths),
        "symbols": json.loads(symbols),
        "metrics": json.loads(metrics),
        "first_seen_clock": c.first_clock,
        "first_seen_at": c.first_at,
    }


def insight_json(i: Insight, seen: store.Seen) -> dict[str, Any]:
    """An insight as `insights.list` and `insights.updated` show it."""
    return {
        "key": i.key,
        "kind": i.kind,
        "severity": i.severity,
        "title": i.title,
        "detail": i.detail,
        "paths": list(i.paths),
        "symbols": list(i.symbols),
        "metrics": dict(i.metrics),
        "first_seen_clock": seen.clock,
        "first_seen_at": seen.at,
    }
