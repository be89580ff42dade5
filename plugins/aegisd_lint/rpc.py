"""`lint.*` methods: params, results and handlers side by side."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from aegisd.budget import BudgetedCache
from aegisd.overlays import overlay_text
from aegisd.rpc.context import RpcContext
from aegisd.rpc.errors import InternalError, InvalidParams, NotFound
from aegisd.rpc.registry import FreshResult, PathText, Result, RpcMethod, WorkspaceParams
from aegisd.skipped import refuse_skipped
from aegisd.threads import interactive
from aegisd.workspace import Workspace
from aegisd_lint import model, queries, runs, service, store
from aegisd_lint.discovery import workspace_env
from aegisd_lint.issues import Severity, Status
from aegisd_lint.overlay import overlay_report
from aegisd_lint.plan import RunRequest
from aegisd_lint.report import (
    FileReport,
    RunInfo,
    Selection,
    Summary,
    Tally,
    summarize,
    tool_status,
)
from aegisd_lint.runner import trust_reason
from aegisd_lint.tool import CommandTool, InProcessTool

#: reports of at most this many files are kept in the `lint.reports` cache, counted at
#: about these sizes
CACHED_REPORT_FILES = 2000
REPORT_BYTES, FILE_BYTES, ISSUE_BYTES = 2048, 600, 900


class ToolInfo(Result):
    name: str
    enabled: bool
    installed: bool
    version: str | None
    command: list[str] | None = Field(description="How it is started; None for in-process tools")
    per_file: bool
    heavy: bool
    config_files: list[str]
    timeout_s: float
    args: list[str]
    status: Status | None = Field(description="Merged status in this workspace; None: never ran")
    not_trusted: str | None = Field(
        description="Why it does not run here: it would execute the code of this workspace, "
        "which is not trusted (None: it may run)"
    )


class ToolsResult(FreshResult):
    tools: list[ToolInfo]
    problems: list[str] = Field(description="Contributed tools that were ignored, and why")
    trusted: bool = Field(description="Whether the workspace is trusted (see workspace.trust)")


async def lint_tools(params: WorkspaceParams, ctx: RpcContext) -> ToolsResult:
    ws = ctx.workspace
    linters = model.get(ctx.daemon)
    lw = model.workspace_lint(ctx.daemon, ws)
    await lw.loaded.wait()
    settings = model.settings_of(ws)
    env = workspace_env(ws.root, ws.trusted, settings.python)
    infos = []
    for name, tool in linters.tools.items():
        command: list[str] | None = None
        version: str | None = None
        refused = trust_reason(tool, ws.root, ws.trusted)
        if isinstance(tool, CommandTool) and refused is None:
            # (never probed where it may not run: probing pytest loads the workspace's plugins)
            resolved = await linters.versions.resolve(tool, env)
            if resolved is not None:
                command, version = list(resolved.command), resolved.version
        elif isinstance(tool, InProcessTool):
            version = tool.version
        infos.append(
            ToolInfo(
                name=name,
                enabled=settings.enabled(name),
                installed=version is not None,
                version=version,
                command=command,
                per_file=tool.per_file,
                heavy=tool.heavy,
                config_files=list(tool.config_files),
                timeout_s=settings.timeout_s(name),
                args=settings.tool(name).args,
                status=tool_status(lw.results, name, settings.thresholds),
                not_trusted=refused,
            )
        )
    return ToolsResult(tools=infos, problems=linters.problems, trusted=ws.trusted)


class ReportParams(WorkspaceParams):
    path: PathText | None = Field(None, description="A file or directory (default: the workspace)")
    tool: str | None = Field(None, description="Only this tool")
    severity: Severity | None = Field(None, description="Only issues of exactly this severity")
    min_severity: Severity | None = Field(None, description="Only issues this severe or more")
    limit: int | None = Field(
        None,
        ge=0,
        le=100_000,
        description="At most this many files (0: the summary only; default: all of them)",
    )
    cursor: PathText | None = Field(
        None, description="The next_cursor of the previous page: the files after it"
    )


class ReportResult(FreshResult):
    status: Status = Field(
        description="Overall status of the selected tools on the selected files and issues; "
        "pending before any tool has run"
    )
    running: bool = Field(description="A lint run is going or due: results may lag the files")
    linted_clock: int = Field(description="Workspace clock of the last recorded run")
    last_run: int | None = Field(description="Id of the last recorded run")
    summary: Summary
    files: list[FileReport] = Field(description="Files with selected issues, by path")
    next_cursor: str | None = Field(
        None, description="More files follow: pass it as cursor for the next page"
    )
    full_pass: bool = Field(
        True,
        description="Whether the automatic whole-workspace pass runs here: false above the "
        "workspace setting full_pass_max_files, where only changed files are linted "
        "automatically and lint.run lints the rest on request",
    )
    backlog_files: int = Field(
        0,
        description="Files the background lane (the first pass, files left unchecked or "
        "stale) still has to check, as last counted",
    )
    message: str | None = Field(
        None, description="Why the results may not cover the whole workspace"
    )
    overlay: bool = Field(
        False,
        description="The report is of this connection's unsaved buffer of `path` "
        "(`workspace.overlay`): only tools that check text (ruff) ran on it, nothing is "
        "stored, and `message` names the tools left out",
    )


async def _report(
    ctx: RpcContext, lw: model.WorkspaceLint, params: ReportParams, path: str | None
) -> ReportResult:
    linters = model.get(ctx.daemon)
    settings = model.settings_of(lw.ws)
    enabled = [name for name in linters.tools if settings.enabled(name)]
    tools = [params.tool] if params.tool in enabled else [] if params.tool else enabled
    selection = Selection(path, params.severity, params.min_severity)
    running, why_not = lw.running, service.large(lw.ws)
    # a skipped tool's stored results are history, not part of the report
    states = lw.results.tools
    visible = tuple(
        name for name in tools if name not in states or states[name].outcome != "skipped"
    )
    read = await _read(ctx, lw, visible, selection, params.limit, params.cursor)
    tallies, files, following = read
    summary = summarize(lw.results, tools, settings.thresholds, selection, tallies)
    return ReportResult(
        status=summary.status,
        running=running,
        linted_clock=lw.linted_clock,
        last_run=lw.last_run,
        summary=summary,
        files=files,
        next_cursor=following,
        full_pass=why_not is None,
        backlog_files=lw.backlog.files,
        message=why_not,
    )


StoreRead = tuple[dict[str, Tally] | None, list[FileReport], str | None]


async def _read(
    ctx: RpcContext,
    lw: model.WorkspaceLint,
    tools: tuple[str, ...],
    selection: Selection,
    limit: int | None,
    cursor: str | None,
) -> StoreRead:
    """The selected tallies (a path selection: whole-workspace ones are in memory) and page of
    files, read from the store in a thread; recent small answers come from the `lint.reports`
    cache, whose keys hold the generation of the results (a write makes them unreachable)."""
    cache: BudgetedCache[Any, StoreRead] = ctx.daemon.memory.cache("lint.reports", "lint")
    key = (lw.ws.id, lw.generation, tools, selection, limit, cursor)
    found = cache.get(key)
    if found is not None:
        return found
    db_path, ws_id = ctx.daemon.store.path, lw.ws.id

    def read() -> StoreRead:
        tallies = queries.tallies(db_path, ws_id, tools, selection) if selection.path else None
        files, following = queries.file_page(db_path, ws_id, tools, selection, limit, cursor)
        return tallies, files, following

    found = await interactive(read)
    files = found[1]
    if len(files) <= CACHED_REPORT_FILES:
        issues = sum(len(report.issues) for report in files)
        cache.put(key, found, REPORT_BYTES + FILE_BYTES * len(files) + ISSUE_BYTES * issues)
    return found


def _known_path(ws: Workspace, raw: str) -> str | None:
    """A client's path as a root-relative file or directory with files; None for the root."""
    rel = ws.relative(raw)
    if not rel:
        return None
    known = ws.live.known if ws.live is not None else {}
    if rel not in known and not any(path.startswith(rel + "/") for path in known):
        refuse_skipped(ws, rel)  # a file no plugin reads says why
        raise NotFound(f"no such file or directory in the workspace: {raw}", path=rel)
    return rel


async def lint_report(params: ReportParams, ctx: RpcContext) -> ReportResult:
    ws = ctx.workspace
    lw = model.workspace_lint(ctx.daemon, ws)
    if params.tool is not None and params.tool not in model.get(ctx.daemon).tools:
        raise NotFound(f"no lint tool named {params.tool!r}", tool=params.tool)
    if params.path:
        rel = ws.relative(params.path)
        text = overlay_text(ctx, rel) if rel else None
        if text is not None:
            await lw.loaded.wait()
            return await overlay_report(ctx, lw, params, rel, text)
    path = _known_path(ws, params.path) if params.path else None
    await lw.loaded.wait()
    report = await _report(ctx, lw, params, path)
    if report.running and not report.summary.by_tool:
        # No tool has run here yet, and the first pass is due (it waits for the workspace's
        # first index): no verdict, which `skipped` would pass off as final.
        report.status, report.pending = Status.PENDING, True
    elif lw.first_pass:
        report.pending = True  # some files have no verdict yet: not a final one
    return report


class RunParams(WorkspaceParams):
    tools: list[str] | None = Field(
        None, min_length=1, description="Tool names (default: every enabled tool)"
    )
    paths: list[PathText] | None = Field(
        None,
        min_length=1,
        max_length=100_000,
        description="Files or directories (default: the workspace); pytest also runs the "
        "tests importing them",
    )
    force: bool = Field(False, description="Run even where a stored result is still valid")


class RunResult(ReportResult):
    run: RunInfo


async def lint_run(params: RunParams, ctx: RpcContext) -> RunResult:
    ws = ctx.workspace
    lw = model.workspace_lint(ctx.daemon, ws)
    settings = model.settings_of(ws)
    enabled = [name for name in model.get(ctx.daemon).tools if settings.enabled(name)]
    if params.tools is not None:
        wrong = [name for name in params.tools if name not in enabled]
        if wrong:
            raise InvalidParams(
                f"unknown or disabled lint tools: {', '.join(wrong)}",
                errors=[
                    {"loc": ["params", "tools"], "msg": f"not an enabled tool: {name}"}
                    for name in wrong
                ],
                enabled=enabled,
            )
    paths: tuple[str, ...] | None = None
    if params.paths is not None:
        if ws.live is not None:
            await ws.live.ready.wait()
        selected = [_known_path(ws, raw) for raw in params.paths]
        if None not in selected:
            paths = tuple(_expand([p for p in selected if p is not None], ws))
    await lw.loaded.wait()
    tools = tuple(params.tools) if params.tools is not None else None
    progress = ctx.progress(f"linting {ws.name}", total=len(tools or enabled))
    async with lw.lock:
        info = await runs.execute(
            ctx.daemon, lw, RunRequest("run", tools, paths, force=params.force), progress.report
        )
    if info is None:  # a "run" is always recorded
        raise InternalError("the lint run was not recorded")
    report = await _report(ctx, lw, ReportParams(), None)
    return RunResult(**dict(report), run=info)


def _expand(selected: list[str], ws: Workspace) -> list[str]:
    """Directories as the known files under them."""
    known = ws.live.known if ws.live is not None else {}
    files: set[str] = set()
    for rel in selected:
        if rel in known:
            files.add(rel)
        else:
            files.update(path for path in known if path.startswith(rel + "/"))
    return sorted(files)


class HistoryParams(WorkspaceParams):
    limit: int = Field(20, ge=1, le=1000)


class HistoryResult(FreshResult):
    runs: list[RunInfo] = Field(description="Recorded runs, the last finished first")


async def lint_history(params: HistoryParams, ctx: RpcContext) -> HistoryResult:
    ws = ctx.workspace
    rows = await ctx.daemon.store.run(store.history, ctx.daemon.store.db, ws.id, params.limit)
    return HistoryResult(
        runs=[
            RunInfo(
                id=row.id,
                trigger=row.trigger,
                clock=row.clock,
                started_at=row.started_at,
                finished_at=row.finished_at,
                **row.detail,
            )
            for row in rows
        ]
    )


def methods() -> list[RpcMethod]:
    found = ("NOT_FOUND",)
    paths = ("NOT_FOUND", "INVALID_PATH", "INVALID_PARAMS", "TOO_LARGE", "UNSUPPORTED")
    return [
        RpcMethod("lint.tools", WorkspaceParams, lint_tools, summary="Lint tools: installed, version, enabled", errors=found),
        RpcMethod("lint.run", RunParams, lint_run, summary="Lint now (what is not cached) and return the report", errors=paths, cost="heavy"),
        RpcMethod("lint.report", ReportParams, lint_report, summary="Current lint results per file, with counts", errors=paths),
        RpcMethod("lint.history", HistoryParams, lint_history, summary="Recorded lint runs, newest first", errors=found),
    ]  # fmt: skip
