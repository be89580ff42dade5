"""The insights plugin's state, and how the set is kept in line with its inputs.

A recompute runs the detectors in a thread on the code map's index as it is (reading only
what changed since the last one, and of each file only the symbols detectors use), with the lint
and clone results last read from those plugins; when the set differs from the previous one the
differences are stored (current set and history) and `insights.updated` is published. Who
triggers recomputes is `follow`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp
from aegisd_codemap.service import CODEMAP
from loguru import logger

from aegisd.daemon import StateKey
from aegisd.rpc.errors import RpcError, Unavailable
from aegisd.threads import background
from aegisd_insights import gather, store
from aegisd_insights.breaker import CircuitBreaker
from aegisd_insights.inputs import SEVERITY_RANK, CloneData, LintIssue
from aegisd_insights.insight import Insight
from aegisd_insights.settings import InsightsSettings, settings_of
from aegisd_insights.stage import StageResult

if TYPE_CHECKING:
    from aegisd.daemon import Daemon
    from aegisd.workspace import ChangeBatch, Workspace

#: Clones and hotspots asked of `similarity.report` (its default is 100).
CLONES_READ = 1000
#: files per page of serious lint issues read
LINT_PAGE_FILES = 500
THREADED_DIFF_INSIGHTS = 200  # insights (before + after) above which a diff runs in a thread
_CANCEL_AGAIN_S = 0.5


@dataclass
class WorkspaceInsights:
    """One workspace's insights. `seen_clock` is the clock of the last batch the code map has
    processed (our batch hook runs after it), so a snapshot taken now is at least that fresh."""

    ws: Workspace
    seen_clock: int
    current: list[Insight] = field(default_factory=list)
    seen: dict[str, store.Seen] = field(default_factory=dict)
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
    #: inputs derived from the index at the last recompute (used under `lock` only)
    memo: gather.IndexMemo = field(default_factory=gather.IndexMemo)
    last_generation: store.Generation | None = None
    schedule_from: float = 0.0  # time.time() of the last answer or enabling; 0: disabled
    dirty: asyncio.Event = field(default_factory=asyncio.Event)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    generating: asyncio.Lock = field(default_factory=asyncio.Lock)
    task: asyncio.Task[None] | None = None
    generation_task: asyncio.Task[None] | None = None

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
        await _cancel(wi.task, wi.generation_task)


async def shutdown(daemon: Daemon) -> None:
    state = daemon.state.get(INSIGHTS)
    if state is None:  # the daemon stopped before plugins started
        return
    for ws_id in list(state.workspaces):
        wi = state.workspaces.pop(ws_id)
        await _cancel(wi.task, wi.generation_task)
    if state.session is not None:
        await state.session.close()


async def _cancel(*tasks: asyncio.Task[None] | None) -> None:
    """Cancel and await; cancel again while a task goes on (Python 3.11's wait_for, used by
    the store, can swallow a cancellation that lands as its operation completes)."""
    running = {t for t in tasks if t is not None}
    while running:
        for task in running:
            task.cancel()
        _, running = await asyncio.wait(running, timeout=_CANCEL_AGAIN_S)


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


async def recompute(daemon: Daemon, wi: WorkspaceInsights) -> None:
    """Bring the set in line with the index, lint and clone data and the thresholds; store
    and publish the differences. Quick when none of those changed."""
    codemap = daemon.state.get(CODEMAP)
    index = codemap.indexes.get(wi.ws.id) if codemap is not None else None
    thresholds = settings_of(wi.ws).thresholds.to_thresholds()
    async with wi.lock:
        wi.dirty.clear()
        clock = wi.seen_clock
        key = (id(index), index.version if index else 0, wi.external_version, thresholds)
        if key == wi.computed_key:
            wi.computed_clock = clock
            return
        wi.sources["index"] = index is not None
        package = index.package if index is not None else None
        # Reads the code map's store (what changed since the last time), off the loop.
        found, stage = await background(
            gather.evaluate,
            index if index is not None else {},
            wi.lint,
            wi.clones,
            thresholds,
            wi.memo,
            package,
            wi.lint_totals,
        )
        await _apply(daemon, wi, found, clock)
        wi.stage, wi.computed_key, wi.computed_clock = stage, key, clock


@dataclass
class _Diff:
    """What a recompute changed, with the rows to store and the event to publish."""

    seen: dict[str, store.Seen]
    at: str
    upserts: list[tuple[Insight, store.Seen]]
    history: list[tuple[str, Insight]]
    removed: list[str]
    event: dict[str, Any]


def _diff(
    current: list[Insight], seen_before: dict[str, store.Seen], found: list[Insight], clock: int
) -> _Diff | None:
    """None when `found` is what is current. Runs in a thread for large sets: a first
    recompute on the stdlib adds thousands, and comparing and rendering them held the loop."""
    before = {i.key: i for i in current}
    after = {i.key for i in found}
    added = [i for i in found if i.key not in before]
    changed = [i for i in found if i.key in before and before[i.key] != i]
    removed = [before[k] for k in before if k not in after]
    if not (added or changed or removed):
        return None
    at = store.now_iso()
    seen = {k: s for k, s in seen_before.items() if k in after}
    seen.update((i.key, store.Seen(clock, at)) for i in added)
    history = [
        *(("added", i) for i in added),
        *(("changed", i) for i in changed),
        *(("removed", i) for i in removed),
    ]
    event = {
        "added": [insight_json(i, seen[i.key]) for i in added],
        "changed": [insight_json(i, seen[i.key]) for i in changed],
        "removed": [i.key for i in removed],
    }
    upserts = [(i, seen[i.key]) for i in (*added, *changed)]
    return _Diff(seen, at, upserts, history, [i.key for i in removed], event)


async def _apply(daemon: Daemon, wi: WorkspaceInsights, found: list[Insight], clock: int) -> None:
    # wi.current and wi.seen change only here, under wi.lock: a thread may read them meanwhile
    if len(found) + len(wi.current) > THREADED_DIFF_INSIGHTS:
        diff = await background(_diff, wi.current, wi.seen, found, clock)
    else:
        diff = _diff(wi.current, wi.seen, found, clock)
    if diff is None:
        wi.current = found
        return
    await daemon.store.run(
        store.apply_changes,
        daemon.store.db,
        wi.ws.id,
        clock,
        diff.at,
        diff.upserts,
        diff.history,
        diff.removed,
        settings_of(wi.ws).history_keep,
    )
    wi.current, wi.seen = found, diff.seen
    daemon.events.publish(
        "insights.updated",
        {"workspace": wi.ws.id, "clock": clock, **diff.event},
        workspace=wi.ws.id,
        clock=clock,
    )


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
