"""Each open workspace's task: what makes the insights recompute, and scheduled generation.

The task loads the stored set, waits for the code map's first index, then recomputes after
each change batch the code map has taken (debounced, and no sooner than 5 times what the last
recompute took) and whenever lint or clone results changed (re-read after batches, at most
every 2 s or 20 times what the last read took, and every `poll_s`). When Ollama is enabled it
also starts a generation `interval_s` after the last one, only if the workspace changed since
then.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from aegisd_codemap.service import CODEMAP
from loguru import logger

from aegisd.rpc.errors import RpcError
from aegisd_insights import generate, service, store
from aegisd_insights.settings import InsightsSettings, settings_of

if TYPE_CHECKING:
    from aegisd.daemon import Daemon
    from aegisd.workspace import Workspace

T = TypeVar("T")

_ERROR_BACKOFF_S = 5.0
#: a batch re-reads lint and clone results no sooner than this after the last read: a whole
#: lint report is large (9,700 issues on a 2,000-file project) and during a burst of edits
#: reading it after each one took the interpreter from the edits themselves
_BATCH_READ_MIN_S = 2.0
#: and no sooner than this many times the last read took: re-reading the stdlib's report while
#: its first lint pass streams in (~0.5 s of interpreter time each) starved edits and searches
_READ_COST_FACTOR = 20.0
#: after a batch, a recompute waits the debounce or this many times what the last one took,
#: whichever is longer, so that recomputes never follow each other back to back. (When they
#: ran in the daemon, 5 times: each took the interpreter from the edits themselves; in the
#: worker, at a lower priority, a recompute costs the daemon its store writes alone.)
_RECOMPUTE_COST_FACTOR = 1.0


def opened(daemon: Daemon, ws: Workspace) -> None:
    wi = service.get(daemon).workspaces[ws.id] = service.WorkspaceInsights(ws, ws.clock)
    wi.task = asyncio.create_task(_follow(daemon, wi), name=f"insights-{ws.id}")


async def _follow(daemon: Daemon, wi: service.WorkspaceInsights) -> None:
    loaded = False
    while not loaded:  # _attempt backs off after a failure
        loaded = await _attempt(wi, _load_stored(daemon, wi))
    await _codemap_ready(daemon, wi.ws)
    last_read: float | None = None
    read_cost = 0.0
    settled = batch = False
    while _still_open(daemon, wi.ws):  # a closing workspace: our closed hook comes soon
        settings = settings_of(wi.ws)
        since = None if last_read is None else time.monotonic() - last_read
        gap = max(_BATCH_READ_MIN_S, _READ_COST_FACTOR * read_cost)
        # Unsettled (a failure, clones warming up): read again as soon as the gap allows.
        soon = batch or not settled
        if since is None or since >= max(settings.poll_s, gap) or (soon and since >= gap):
            cost: list[float] = []
            settled = await _attempt(wi, _timed(service.read_sources(daemon, wi), cost))
            last_read = time.monotonic()
            read_cost = cost[0] if cost else read_cost  # a failure's back-off is no cost
        spent: list[float] = []
        if await _attempt(wi, _timed(service.recompute(daemon, wi), spent)):
            wi.ready.set()
            _maybe_schedule(daemon, wi, settings)
        batch = await _next_round(wi, settings, _RECOMPUTE_COST_FACTOR * sum(spent))


async def _timed(step: Awaitable[T], cost: list[float]) -> T:
    """`step`, appending how long it took to `cost` when it returns (not when it raises)."""
    started = time.monotonic()
    outcome = await step
    cost.append(time.monotonic() - started)
    return outcome


async def _attempt(wi: service.WorkspaceInsights, step: Awaitable[bool | None]) -> bool:
    """Run one step; False when it failed (logged, after a back-off) or said False."""
    try:
        outcome = await step
    except (RpcError, OSError) as exc:
        logger.warning("insights {}: {}", wi.ws.id, exc)
    except Exception as exc:
        logger.opt(exception=exc).error("insights {}: unexpected error", wi.ws.id)
    else:
        return outcome is not False
    await asyncio.sleep(_ERROR_BACKOFF_S)
    return False


async def _next_round(
    wi: service.WorkspaceInsights, settings: InsightsSettings, quiet_s: float = 0.0
) -> bool:
    """Wait for a change batch (True, after the debounce) or a short tick (False), so a
    changed poll_s or enabled takes effect soon."""
    try:
        async with asyncio.timeout(min(settings.poll_s, 1.0)):
            await wi.dirty.wait()
    except TimeoutError:
        return False
    await asyncio.sleep(max(settings.debounce_ms / 1000, quiet_s))
    return True


async def _load_stored(daemon: Daemon, wi: service.WorkspaceInsights) -> None:
    last = await daemon.store.run(store.latest_generation, daemon.store.db, wi.ws.id)
    wi.last_generation = last
    if last is not None:
        wi.schedule_from = datetime.fromisoformat(last.created_at).timestamp()


def _still_open(daemon: Daemon, ws: Workspace) -> bool:
    try:
        return daemon.workspaces.resolve(ws.id) is ws
    except RpcError:
        return False


async def _codemap_ready(daemon: Daemon, ws: Workspace) -> None:
    codemap = daemon.state.get(CODEMAP)
    event = codemap.ready.get(ws.id) if codemap is not None else None
    if event is not None:
        await event.wait()


def _maybe_schedule(
    daemon: Daemon, wi: service.WorkspaceInsights, settings: InsightsSettings
) -> None:
    """Start a scheduled generation when enabled, `interval_s` after the last answer (or after
    Ollama was enabled), and only if the workspace changed since the last answer."""
    if not settings.enabled:
        wi.schedule_from = 0.0
        return
    now = time.time()
    if wi.schedule_from == 0.0:
        wi.schedule_from = now
    if wi.generation_task is not None and not wi.generation_task.done():
        return
    last = wi.last_generation
    if now < wi.schedule_from + settings.interval_s or (
        last is not None and last.inputs_clock == wi.computed_clock
    ):
        return
    wi.schedule_from = now
    wi.generation_task = asyncio.create_task(
        generate.scheduled(daemon, wi, settings), name=f"insights-generate-{wi.ws.id}"
    )
