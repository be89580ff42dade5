"""`similarity.*` methods: params, results and handlers side by side.

Every query waits until the workspace's index has caught up with its settled changes, then
runs in a thread while holding the index's lock, so the event loop keeps answering.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from aegisd.cache import ANY_PATH
from aegisd.rpc.context import RpcContext
from aegisd.rpc.errors import NotFound, Unsupported
from aegisd.rpc.registry import FreshResult, PathText, Result, RpcMethod, WorkspaceParams
from aegisd.safeio import Skip, read_bytes
from aegisd.skipped import error_for, refuse_skipped
from aegisd.threads import interactive
from aegisd_similarity import service
from aegisd_similarity.index import SNIPPET_PATH, CloneIndex
from aegisd_similarity.lexicon import FAMILIES
from aegisd_similarity.match import CloneParams
from aegisd_similarity.models import Clone
from aegisd_similarity.report import Report, build_report
from aegisd_similarity.settings import SimilaritySettings
from aegisd_similarity.tokens import FileTokens, language_for, tokenize_file


class LocationOut(Result):
    path: str = Field(description="Root-relative path; '<snippet>' for the code given to check")
    start_line: int
    end_line: int


class CloneOut(Result):
    type: int = Field(description="1 identical, 2 renamed identifiers/literals, 3 with gaps")
    similarity: float = Field(description="1.0 for types 1 and 2; aligned-token share for type 3")
    tokens: int = Field(description="Size of the smaller region in tokens (layout not counted)")
    a: LocationOut
    b: LocationOut
    preview: str = Field(description="The first lines of region a")


class HotspotOut(Result):
    path: str
    lines: int
    duplicated_lines: int
    ratio: float = Field(description="duplicated_lines / lines")


class SummaryOut(Result):
    files: int
    lines: int
    duplicated_lines: int
    percent: float = Field(description="duplicated_lines / lines * 100")
    clones: int = Field(description="Every clone found, before the limit")


def _clone(c: Clone) -> CloneOut:
    return CloneOut.model_validate(c, from_attributes=True)


def _params(
    ws_settings: SimilaritySettings,
    min_tokens: int | None,
    min_similarity: float | None,
    type3: bool = True,
) -> CloneParams:
    """The query's parameters, the workspace's settings filling in what it leaves out."""
    return CloneParams(
        min_tokens if min_tokens is not None else ws_settings.min_tokens,
        min_similarity if min_similarity is not None else ws_settings.min_similarity,
        ws_settings.max_gap,
        type3,
    )


class ReportParams(WorkspaceParams):
    paths: list[PathText] | None = Field(
        None,
        max_length=10_000,
        description="Only clones touching these files or directories (root-relative or absolute)",
    )
    min_tokens: int | None = Field(None, ge=5, le=100_000, description="Default: settings")
    min_similarity: float | None = Field(None, ge=0.0, le=1.0, description="Default: settings")
    type3: bool = Field(True, description="Also report clones with gaps (type 3)")
    limit: int = Field(100, ge=1, le=10_000, description="Most clones and hotspots listed")


class ReportResult(FreshResult):
    clones: list[CloneOut] = Field(description="Largest first")
    hotspots: list[HotspotOut] = Field(description="Most duplicated files (by share) first")
    summary: SummaryOut


async def report(params: ReportParams, ctx: RpcContext) -> ReportResult:
    ws = ctx.workspace
    paths = None if params.paths is None else sorted({ws.relative(p) for p in params.paths})
    query = _params(service.settings_of(ws), params.min_tokens, params.min_similarity, params.type3)
    live = service.get(ctx.daemon).workspaces.get(ws.id)
    # A large workspace analyzes what a client's report covers; another plugin's read (the
    # insights' inputs) gets what is analyzed, or it would analyze everything unasked.
    if live is not None and ctx.caller.transport != "internal":
        live.ask([""] if paths is None else paths)
    state, index = await service.caught_up(ctx.daemon, ws)
    cache = ctx.daemon.cache
    key = ("report", None if paths is None else tuple(paths), query, params.limit)
    found: ReportResult | None = cache.get(service.CACHE_NAMESPACE, ws.id, (*key, state.version))
    if found is None:
        async with state.lock:
            version = state.version
            built = await interactive(build_report, index, paths, query, params.limit)
        found = _result(built)
        cache.put(service.CACHE_NAMESPACE, ws.id, (*key, version), found, paths=(ANY_PATH,))
    return found.model_copy()  # the dispatcher stamps clock and pending on its copy


def _result(built: Report) -> ReportResult:
    return ReportResult(
        clones=[_clone(c) for c in built.clones],
        hotspots=[HotspotOut.model_validate(h, from_attributes=True) for h in built.hotspots],
        summary=SummaryOut.model_validate(built.summary, from_attributes=True),
    )


class CheckParams(WorkspaceParams):
    code: str | None = Field(
        None, max_length=1_000_000, description="A snippet, e.g. a function about to be written"
    )
    path: PathText | None = Field(None, description="A workspace file (root-relative or absolute)")
    language: str | None = Field(
        None, description="python, javascript, typescript, tsx, c or cpp; default: from the "
        "path's extension, python for code",
    )  # fmt: skip
    min_tokens: int | None = Field(None, ge=5, le=100_000, description="Default: settings")
    min_similarity: float | None = Field(None, ge=0.0, le=1.0, description="Default: settings")
    limit: int = Field(20, ge=1, le=1_000)

    @model_validator(mode="after")
    def _one_source(self) -> CheckParams:
        if (self.code is None) == (self.path is None):
            raise ValueError("give exactly one of 'code' and 'path'")
        return self


class CheckResult(FreshResult):
    clones: list[CloneOut] = Field(
        description="Largest first; a is the indexed code, b the snippet or the file checked"
    )
    tokens: int = Field(description="Size of the code checked, in tokens (layout not counted)")


def _read(root: Path, rel: str, limit: int) -> bytes:
    try:
        data = read_bytes(root, rel, limit)
    except FileNotFoundError:
        raise NotFound(f"no such file: {rel}", path=rel) from None
    except Skip as skip:
        raise error_for(rel, skip.kind, skip.reason, skipped=False) from None
    if b"\0" in data[:8192]:
        raise Unsupported(f"binary file: {rel}", path=rel)
    return data


async def check(params: CheckParams, ctx: RpcContext) -> CheckResult:
    ws = ctx.workspace
    settings = service.settings_of(ws)
    if params.path is not None:
        rel = ws.relative(params.path)
        refuse_skipped(ws, rel)
        language = params.language or language_for(rel)
        data = await interactive(_read, ws.root, rel, ws.settings.max_file_bytes)
        label = rel
    else:
        language = params.language or "python"
        data = (params.code or "").encode("utf-8", "surrogatepass")
        label = SNIPPET_PATH
    if language not in FAMILIES:
        raise Unsupported(f"no tokenizer for {label!r} (language {language})", language=language)
    if language not in settings.languages:
        raise Unsupported(
            f"{language} is not indexed in this workspace (settings: similarity.languages)",
            language=language,
        )
    query = _params(settings, params.min_tokens, params.min_similarity)
    tokens = await interactive(tokenize_file, label, data, language)
    state, index = await service.caught_up(ctx.daemon, ws)
    async with state.lock:
        clones = await interactive(_check, index, tokens, query, params.limit)
    return CheckResult(clones=[_clone(c) for c in clones], tokens=tokens.size(0, len(tokens)))


def _check(index: CloneIndex, tokens: FileTokens, query: CloneParams, limit: int) -> list[Clone]:
    return index.check(
        tokens,
        min_tokens=query.min_tokens,
        min_similarity=query.min_similarity,
        type3=query.type3,
        limit=limit,
        max_gap=query.max_gap,
    )


class StatusResult(FreshResult):
    ready: bool = Field(description="The first full analysis is done")
    files: int = Field(description="Files in the clone index")
    skipped: int = Field(description="Files analyzed but not indexed (too large or binary)")
    analyzed: int = Field(description="Files analyzed by this daemon instance")
    loaded: int = Field(description="Files in the index at start (not analyzed)")
    queued: int = Field(description="Changed paths not applied yet (waiting or being applied)")
    version: int = Field(description="Bumped whenever the index changes")
    mode: Literal["full", "changes"] = Field(
        "full",
        description="full: every file is analyzed; changes: a large workspace, where only files"
        " that change, and those a report covers, are",
    )
    reason: str = Field("", description="Why the workspace is in this mode")
    missing: int = Field(0, description="Known files not analyzed yet (mode changes)")


async def status(params: WorkspaceParams, ctx: RpcContext) -> StatusResult:
    ws = ctx.workspace
    state = service.get(ctx.daemon).workspaces.get(ws.id)
    if state is None or state.index is None:
        return StatusResult(
            ready=False, files=0, skipped=0, analyzed=0, loaded=0, queued=0, version=0
        )
    index = state.index
    limit = ws.settings.full_pass_max_files
    if state.large:
        mode, reason = (
            "changes",
            (
                f"{ws.file_count} files, over full_pass_max_files ({limit}): only files that change"
                " and those a report covers are analyzed; similarity.report analyzes the rest"
            ),
        )
    elif "" in state.want:
        mode, reason = "full", f"over full_pass_max_files ({limit}), but a report asked for all"
    else:
        mode, reason = "full", f"{ws.file_count} files, at most full_pass_max_files ({limit})"
    return StatusResult(
        ready=state.ready,
        files=index.files_indexed,
        skipped=index.files_skipped,
        analyzed=state.analyzed,
        loaded=state.loaded,
        queued=state.queued,
        version=state.version,
        mode=mode,
        reason=reason,
        missing=state.missing,
    )


def methods() -> list[RpcMethod]:
    waits = ("UNAVAILABLE",)
    return [
        RpcMethod("similarity.report", ReportParams, report, errors=("INVALID_PATH", *waits),
                  summary="Clones (types 1-3), per-file hotspots and duplication summary"),
        RpcMethod("similarity.check", CheckParams, check,
                  errors=("INVALID_PATH", "NOT_FOUND", "TOO_LARGE", "UNSUPPORTED", *waits),
                  summary="Clones of a snippet or of one file in the whole index"),
        RpcMethod("similarity.status", WorkspaceParams, status, instant=True, probe=True,
                  summary="Files indexed, analyzed and loaded; whether the index is ready"),
    ]  # fmt: skip
