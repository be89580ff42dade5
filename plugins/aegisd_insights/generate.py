"""LLM insights: a prompt built from the deterministic set, a cache of stored answers, the call.

The prompt carries the insights, the lint counts, the stage and recently changed paths: names,
paths and numbers only. With `send_source` the source of the worst complexity hotspots is
added. An identical prompt for the same model is answered from the store without calling Ollama.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from aegisd_codemap.service import CODEMAP
from loguru import logger

from aegisd.rpc.errors import RpcError
from aegisd.safeio import read_text
from aegisd.threads import interactive
from aegisd_insights import service, store
from aegisd_insights.errors import OllamaError
from aegisd_insights.ollama import ChatProgress, OllamaClient, ProgressCallback
from aegisd_insights.prompt import Focus, build_prompt, prompt_hash
from aegisd_insights.settings import InsightsSettings, settings_of

if TYPE_CHECKING:
    from aegisd.daemon import Daemon
    from aegisd.workspace import Workspace

_SNIPPETS = 5
_SNIPPET_LINES = 80
_SNIPPET_CHARS = 4000
_PROGRESS_EVERY = 16
_tokens = itertools.count(1)


def recent_paths(ws: Workspace, clock: int, batches: int) -> list[str]:
    """Paths changed since the batch `batches` before `clock` (as far back as retained)."""
    if batches == 0:
        return []
    changes = ws.changes_since(max(ws.retained_from, clock - batches)) or {}
    return sorted(changes)


def _read_snippets(
    root: Path, wanted: list[tuple[str, str, int, int]], max_bytes: int
) -> dict[str, str]:
    """Source of (path, qualname, first line, last line), cut short; never outside `root`."""
    found: dict[str, str] = {}
    for path, qualname, start, end in wanted:
        try:
            lines = read_text(root, path, max_bytes).splitlines()
        except OSError:  # gone, skipped, or leading out of the root
            continue
        last = min(end, start + _SNIPPET_LINES - 1)
        found[f"{path}::{qualname}"] = "\n".join(lines[start - 1 : last])[:_SNIPPET_CHARS]
    return found


async def _snippets(daemon: Daemon, wi: service.WorkspaceInsights) -> dict[str, str]:
    codemap = daemon.state.get(CODEMAP)
    index = codemap.indexes.get(wi.ws.id) if codemap is not None else None
    if index is None:
        return {}
    wanted: list[tuple[str, str, int, int]] = []
    worst = [i for i in wi.top if i.kind == "complexity_hotspot"][:_SNIPPETS]
    for insight in worst:
        path, qualname = insight.paths[0], insight.symbols[0]
        extract = index.files.get(path)
        symbol = (
            next((s for s in extract.symbols if s.qualname == qualname), None) if extract else None
        )
        if symbol is not None:
            wanted.append((path, qualname, symbol.line, symbol.end_line))
    return await interactive(_read_snippets, wi.ws.root, wanted, wi.ws.settings.max_file_bytes)


async def generate(
    daemon: Daemon,
    wi: service.WorkspaceInsights,
    *,
    focus: Focus,
    model: str | None,
    trigger: str,
    on_progress: ProgressCallback | None = None,
) -> tuple[store.Generation, bool]:
    """The answer for the current insights, and whether it came from the store. Raises
    OllamaUnavailable / OllamaTimeout; resolving the model and chatting count in the breaker."""
    settings = settings_of(wi.ws)
    state = service.get(daemon)
    breaker = state.breaker(settings)
    client = OllamaClient(state.http(), settings, breaker)
    chosen = model or settings.model
    if chosen is None:
        with breaker.guard():
            chosen = await client.resolve_model()
    if wi.ready.is_set():
        await service.fresh(daemon, wi)
    inputs_clock = wi.computed_clock
    snippets = await _snippets(daemon, wi) if settings.send_source else None
    messages = build_prompt(
        wi.top,  # the first insights of each kind: what a prompt lists of the whole set
        wi.lint_summary,
        wi.stage,
        recent_paths(wi.ws, inputs_clock, settings.recent_batches),
        focus,
        settings.send_source,
        snippets,
        max_insights=settings.max_prompt_insights,
    )
    digest = prompt_hash(chosen, messages)
    async with wi.generating:  # one call at a time; a twin request then finds the answer
        found = await daemon.store.run(store.find_generation, daemon.store.db, wi.ws.id, digest)
        if found is not None:
            return found, True
        started = time.monotonic()
        answer = await client.chat(chosen, messages, on_progress)
        record = store.Generation(
            id=0,
            created_at=store.now_iso(),
            trigger=trigger,
            model=chosen,
            focus=focus,
            prompt_hash=digest,
            inputs_clock=inputs_clock,
            send_source=settings.send_source,
            content=answer.content,
            chunks=answer.chunks,
            done_reason=answer.done_reason,
            prompt_tokens=answer.prompt_tokens,
            output_tokens=answer.output_tokens,
            duration_ms=round((time.monotonic() - started) * 1000),
        )
        record = await daemon.store.run(
            store.save_generation, daemon.store.db, wi.ws.id, record, settings.generations_keep
        )
    wi.last_generation = record
    wi.schedule_from = time.time()
    return record, False


def throttled(report: Callable[[int], None]) -> ProgressCallback:
    """Report the characters received so far on the first and every 16th chunk."""

    def on_chunk(p: ChatProgress) -> None:
        if p.chunks == 1 or p.chunks % _PROGRESS_EVERY == 0:
            report(p.chars)

    return on_chunk


def _publisher(daemon: Daemon, ws: Workspace, title: str) -> Callable[[int], None]:
    token = f"insights-{ws.id}-{next(_tokens)}"

    def publish(done: int) -> None:
        params = {"token": token, "title": title, "done": done, "total": None}
        daemon.events.publish("progress", params, workspace=ws.id)

    return publish


async def scheduled(
    daemon: Daemon, wi: service.WorkspaceInsights, settings: InsightsSettings
) -> None:
    """One scheduled generation; a failure is logged (the next try is an interval later)."""
    report = _publisher(daemon, wi.ws, f"generating insights for {wi.ws.name}")
    try:
        record, cached = await generate(
            daemon,
            wi,
            focus=settings.focus,
            model=None,
            trigger="schedule",
            on_progress=throttled(report),
        )
    except OllamaError as exc:
        logger.warning("insights {}: scheduled generation failed: {}", wi.ws.id, exc.message)
        return
    except RpcError as exc:
        logger.warning("insights {}: scheduled generation not stored: {}", wi.ws.id, exc)
        return
    if not cached:
        report(len(record.content))
        daemon.events.publish(
            "insights.updated",
            {
                "workspace": wi.ws.id,
                "clock": record.inputs_clock,
                "added": [],
                "changed": [],
                "removed": [],
                "generation": {"id": record.id, "model": record.model, "trigger": "schedule"},
            },
            workspace=wi.ws.id,
            clock=record.inputs_clock,
        )
