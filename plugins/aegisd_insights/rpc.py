"""`insights.*` methods: params, results and handlers side by side."""

from __future__ import annotations

import asyncio
import contextlib
import math
from typing import cast

from pydantic import Field

from aegisd.rpc.context import RpcContext
from aegisd.rpc.errors import RpcError, Timeout, Unavailable
from aegisd.rpc.registry import FreshResult, Result, RpcMethod, WorkspaceParams
from aegisd_insights import generate, service, store
from aegisd_insights.breaker import CircuitBreaker
from aegisd_insights.errors import OllamaError, OllamaTimeout
from aegisd_insights.inputs import SEVERITY_RANK, Severity
from aegisd_insights.insight import InsightKind
from aegisd_insights.ollama import OllamaClient
from aegisd_insights.prompt import Focus
from aegisd_insights.settings import InsightsSettings, settings_of

#: Retry hint when Ollama gave none and the circuit is still closed.
DEFAULT_RETRY_MS = 5000
#: how long `insights.stage` waits for a first evaluation the code map is ready for
FIRST_EVALUATION_WAIT_S = 10.0


class InsightOut(Result):
    key: str = Field(description="Stable id of the finding's subject (kind plus path/symbol)")
    kind: InsightKind
    severity: Severity
    title: str
    detail: str
    paths: list[str]
    symbols: list[str]
    metrics: dict[str, int | float] = Field(description="The numbers behind the finding")
    first_seen_clock: int = Field(description="Workspace clock when it first appeared")
    first_seen_at: str


class HistoryOut(Result):
    id: int
    clock: int
    at: str
    change: str = Field(description='"added", "changed" (severity or numbers) or "removed"')
    key: str
    kind: str
    severity: str
    title: str


class GenerationOut(Result):
    id: int
    created_at: str
    trigger: str = Field(description='"request" (insights.generate) or "schedule"')
    model: str
    focus: str
    prompt_hash: str = Field(description="sha256 of the model and the messages sent")
    inputs_clock: int = Field(description="Workspace clock of the insights the prompt was built on")
    send_source: bool = Field(description="Whether source code was part of the prompt")
    content: str = Field(description="The model's answer (Markdown)")
    chunks: int
    done_reason: str | None
    prompt_tokens: int | None
    output_tokens: int | None
    duration_ms: int


def _generation_out(g: store.Generation) -> GenerationOut:
    return GenerationOut.model_validate(g, from_attributes=True)


class ListParams(WorkspaceParams):
    kind: InsightKind | None = Field(None, description="Only insights (and history) of this kind")
    limit: int = Field(50, ge=1, le=500, description="At most this many insights and history rows")


class ListResult(FreshResult):
    computed_clock: int = Field(description="Workspace clock the set was computed at")
    computing: bool = Field(description="A recompute is due or running: the set may lag")
    sources: dict[str, bool] = Field(description="Which inputs were available: index, lint, clones")
    total: int = Field(description="Current insights of the selected kind, before the limit")
    by_severity: dict[Severity, int]
    insights: list[InsightOut] = Field(description="Most severe first")
    history: list[HistoryOut] = Field(description="Changes of the set, newest first")
    generation: GenerationOut | None = Field(description="The latest stored LLM answer")


async def insights_list(params: ListParams, ctx: RpcContext) -> ListResult:
    daemon = ctx.daemon
    wi = service.workspace(daemon, ctx.workspace)
    if wi.ready.is_set():
        await service.fresh(daemon, wi)
    # Read before the set: a recompute storing its changes meanwhile may pair a newer set with
    # this clock (the next answer catches up), never an older set with a newer clock (seen
    # in CI: an empty set "computed" at 1).
    computed_clock, computing = wi.computed_clock, wi.computing
    db = daemon.store.db
    listed = await daemon.store.run(store.page, db, wi.ws.id, params.kind, params.limit)
    counts = await daemon.store.run(store.tally, db, wi.ws.id, params.kind)
    history = await daemon.store.run(
        store.history, daemon.store.db, wi.ws.id, params.kind, params.limit
    )
    latest = await daemon.store.run(store.latest_generation, daemon.store.db, wi.ws.id)
    return ListResult(
        computed_clock=computed_clock,
        computing=computing,
        sources=dict(wi.sources),
        total=sum(counts.values()),
        by_severity=dict(
            sorted(counts.items(), key=lambda kv: -SEVERITY_RANK[cast(Severity, kv[0])])
        ),
        insights=[InsightOut.model_validate(service.insight_json(i, seen)) for i, seen in listed],
        history=[HistoryOut.model_validate(h, from_attributes=True) for h in history],
        generation=_generation_out(latest) if latest is not None else None,
        pending=not wi.ready.is_set(),  # before the first computation: nothing is final
    )


class StageMetricsOut(Result):
    code_files: int
    loc: int = Field(description="Lines of the code files")
    patterns: list[str]
    layers: list[str]


class StageResultOut(FreshResult):
    stage: int = Field(description="1 prototype, 2 structured, 3 architected")
    confidence: float
    reasons: list[str]
    metrics: StageMetricsOut
    computed_clock: int
    computing: bool


async def insights_stage(params: WorkspaceParams, ctx: RpcContext) -> StageResultOut:
    wi = service.workspace(ctx.daemon, ctx.workspace)
    if wi.ready.is_set():
        await service.fresh(ctx.daemon, wi)
    elif service.indexed(ctx.daemon, wi.ws):
        # The first evaluation is due or running (in a worker just started): worth a wait.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FIRST_EVALUATION_WAIT_S):
                await wi.ready.wait()
    if wi.stage is None:
        raise Unavailable("the code map is still indexing this workspace", retry_after_ms=500)
    s = wi.stage
    return StageResultOut(
        stage=s.stage,
        confidence=s.confidence,
        reasons=list(s.reasons),
        metrics=StageMetricsOut.model_validate(s.metrics, from_attributes=True),
        computed_clock=wi.computed_clock,
        computing=wi.computing,
    )


class OllamaStatusResult(FreshResult):
    enabled: bool = Field(description="insights.enabled: whether the daemon may call Ollama")
    base_url: str
    reachable: bool
    version: str | None
    models: list[str] = Field(description="Installed models, as GET /api/tags lists them")
    model: str | None = Field(description="The configured model (None: the first listed)")
    error: str | None = Field(description="Why it is not reachable")
    breaker: str = Field(description="closed, open or half_open")
    consecutive_failures: int


async def ollama_status(params: WorkspaceParams, ctx: RpcContext) -> OllamaStatusResult:
    settings = settings_of(ctx.workspace)
    state = service.get(ctx.daemon)
    breaker = state.breaker(settings)
    status = await OllamaClient(state.http(), settings).status()
    return OllamaStatusResult(
        enabled=settings.enabled,
        base_url=status.base_url,
        reachable=status.reachable,
        version=status.version,
        models=list(status.models),
        model=settings.model,
        error=status.error,
        breaker=breaker.state,
        consecutive_failures=breaker.consecutive_failures,
    )


class GenerateParams(WorkspaceParams):
    focus: Focus | None = Field(None, description="Default: insights.focus")
    model: str | None = Field(
        None, min_length=1, max_length=200, description="Default: insights.model"
    )


class GenerateResult(GenerationOut, FreshResult):
    cached: bool = Field(description="Answered from the store: the same prompt for the model")


def rpc_error(exc: OllamaError, settings: InsightsSettings, breaker: CircuitBreaker) -> RpcError:
    """TIMEOUT or UNAVAILABLE, always with a retry hint: Ollama's own (Retry-After, the
    breaker's remaining cool-down), else the cool-down when this failure opened the circuit."""
    hint = getattr(exc, "retry_after_ms", None)
    if hint is None:
        open_ms = math.ceil(settings.breaker_cooldown_s * 1000)
        hint = open_ms if breaker.state == "open" else DEFAULT_RETRY_MS
    if isinstance(exc, OllamaTimeout):
        return Timeout(exc.message, retry_after_ms=hint)
    return Unavailable(exc.message, retry_after_ms=hint)


async def insights_generate(params: GenerateParams, ctx: RpcContext) -> GenerateResult:
    ws = ctx.workspace
    settings = settings_of(ws)
    if not settings.enabled:
        raise Unavailable("LLM insights are off: set insights.enabled (settings.update) first")
    reporter = ctx.progress(f"generating insights for {ws.name}")
    try:
        record, cached = await generate.generate(
            ctx.daemon,
            service.workspace(ctx.daemon, ws),
            focus=params.focus or settings.focus,
            model=params.model,
            trigger="request",
            on_progress=generate.throttled(reporter.report),
        )
    except OllamaError as exc:
        raise rpc_error(exc, settings, service.get(ctx.daemon).breaker(settings)) from None
    if not cached:
        reporter.report(len(record.content))
    return GenerateResult(cached=cached, **_generation_out(record).model_dump())


def methods() -> list[RpcMethod]:
    ws = ("NOT_FOUND",)
    llm = ("NOT_FOUND", "UNAVAILABLE", "TIMEOUT")
    return [
        RpcMethod("insights.list", ListParams, insights_list, summary="Current insights, their history and the latest LLM answer", errors=ws),
        RpcMethod("insights.stage", WorkspaceParams, insights_stage, summary="Maturity stage (1-3) with confidence, reasons and metrics", errors=("NOT_FOUND", "UNAVAILABLE")),
        RpcMethod("insights.ollama_status", WorkspaceParams, ollama_status, summary="Whether Ollama answers, its version and models", errors=ws),
        RpcMethod("insights.generate", GenerateParams, insights_generate, summary="LLM advice from the insights through Ollama (stored; repeated prompts cached)", errors=llm, cost="heavy"),
    ]  # fmt: skip
