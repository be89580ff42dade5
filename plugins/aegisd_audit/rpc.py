"""`audit.*` methods: params, results and handlers side by side."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, field_validator

from aegisd.daemon import Daemon
from aegisd.rpc.context import RpcContext
from aegisd.rpc.registry import Params, Result, RpcMethod
from aegisd.rpc.schemas import FREE_FORM
from aegisd.threads import interactive
from aegisd_audit import gitlink, lintlink, rundiff, service, store
from aegisd_audit.events import Actor, Phase, Status
from aegisd_audit.limits import DETAIL_MAX_BYTES, TITLE_MAX_CHARS
from aegisd_audit.redact import redact_optional, redact_text

RunId = Annotated[int, Field(ge=1, description="A run id, as audit.start_run returned it")]


class RunOut(Result):
    id: int
    workspace: str | None = Field(description="Id of the workspace the run is in, when open")
    root: str | None = Field(description="The directory the run was started for")
    external_id: str | None = Field(description="The agent's session id, e.g. claude-code:<id>")
    name: str
    actor: str
    notes: str | None
    status: str = Field(description='"open", "closed" or the label given to audit.end_run')
    capture: bool = Field(description="Whether file changes become file_change events")
    created_at: str
    updated_at: str = Field(description="Time of the last event (or of the start or end)")
    closed_at: str | None
    event_count: int


class StartRunParams(Params):
    name: str = Field("run", min_length=1, max_length=TITLE_MAX_CHARS)
    workspace: str | None = Field(
        None,
        description="An open workspace's id or an absolute directory (the run belongs to the "
        "open workspace containing it); omitted: the only open workspace, if exactly one is.",
    )
    external_id: str | None = Field(
        None,
        min_length=1,
        max_length=TITLE_MAX_CHARS,
        description="A session id: the open run with it is returned instead of a new one.",
    )
    actor: Actor = "agent"
    notes: str | None = Field(None, max_length=DETAIL_MAX_BYTES)
    capture: bool | None = Field(
        None, description="Record file changes (default: the workspace's audit.capture)"
    )


class StartRunResult(RunOut):
    created: bool = Field(description="False when an open run with external_id was returned")


async def start_run(params: StartRunParams, ctx: RpcContext) -> StartRunResult:
    run, created = await service.get(ctx.daemon).start_run(
        params.name, params.actor, params.workspace, params.external_id, params.notes,
        params.capture,
    )  # fmt: skip
    return StartRunResult(**run, created=created)


class LogEventParams(Params):
    run: RunId
    type: str = Field(
        min_length=1,
        max_length=64,
        description="session, thought, command, command_result, file_change, git, phase, "
        "error, note, tool_call, or any other word",
    )
    title: str = Field(min_length=1, max_length=TITLE_MAX_CHARS)
    detail: str | None = Field(None, description="Capped at 16 KiB (then `truncated`)")
    actor: Actor = "agent"
    phase: Phase | None = None
    status: Status = "ok"
    ref: str | None = Field(None, max_length=TITLE_MAX_CHARS, description="e.g. a tool call id")
    payload: dict[str, Any] | None = Field(
        None,
        description="Any JSON object the client keeps with the event (redacted); capped at "
        "64 KiB (then `truncated`)",
        json_schema_extra=FREE_FORM,
    )
    at: AwareDatetime | None = Field(None, description="When it happened (default: now)")


class EventOut(Result):
    id: int
    run: int
    type: str
    title: str
    detail: str | None
    actor: str
    phase: str | None
    status: str
    ref: str | None
    payload: dict[str, Any] | None = Field(
        description="The JSON object given to audit.log_event (redacted)",
        json_schema_extra=FREE_FORM,
    )
    truncated: bool = Field(description="True when detail or payload was cut to its cap")
    created_at: str


async def log_event(params: LogEventParams, ctx: RpcContext) -> EventOut:
    fields: dict[str, Any] = {
        "detail": params.detail,
        "payload": params.payload,
        "actor": params.actor,
        "phase": params.phase,
        "status": params.status,
        "ref": params.ref,
        "created_at": service.iso(params.at) if params.at is not None else None,
    }
    if _larger_than(params.detail, DETAIL_MAX_BYTES) or _larger_than(params.payload, 16384):
        # Redacting and capping a large event takes a while: not on the event loop.
        event = await interactive(service.new_event, params.type, params.title, **fields)
    else:
        event = service.new_event(params.type, params.title, **fields)
    return EventOut(**await service.get(ctx.daemon).log(params.run, event))


def _larger_than(value: Any, budget: int) -> bool:
    """Whether the strings in `value` hold more than `budget` characters (stops early)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            budget -= len(item)
        elif isinstance(item, dict):
            budget -= len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            budget -= len(item)
            stack.extend(item)
        if budget < 0:
            return True
    return False


class EndRunParams(Params):
    run: RunId
    status: str = Field(
        "closed", min_length=1, max_length=32, description='"closed" or a label such as "failed"'
    )
    notes: str | None = Field(None, max_length=DETAIL_MAX_BYTES, description="Replaces the notes")

    @field_validator("status")
    @classmethod
    def _not_open(cls, value: str) -> str:
        if value == store.OPEN:
            raise ValueError('an ended run cannot be "open"')
        return value


async def end_run(params: EndRunParams, ctx: RpcContext) -> RunOut:
    return RunOut(**await service.get(ctx.daemon).end_run(params.run, params.status, params.notes))


class ListRunsParams(Params):
    workspace: str | None = Field(
        None, description="Only runs in this workspace (open workspace id or absolute directory)"
    )
    status: str | None = Field(None, description='"open", "closed" (any ended run) or a label')
    external_id: str | None = None
    before_id: int | None = Field(None, description="Page back: runs with smaller ids")
    limit: int = Field(50, ge=1, le=500)


class ListRunsResult(Result):
    runs: list[RunOut] = Field(description="Newest first")


async def list_runs(params: ListRunsParams, ctx: RpcContext) -> ListRunsResult:
    scope = None
    if params.workspace is not None:
        ws, root = service.get(ctx.daemon).resolve(params.workspace)
        scope = (ws.id if ws is not None else None, str(ws.root) if ws is not None else root)
    # Stored values are redacted: so are the values they are matched against.
    rows = await _read(
        ctx.daemon, store.list_runs, scope, redact_optional(params.status),
        redact_optional(params.external_id), params.before_id, params.limit,
    )  # fmt: skip
    return ListRunsResult(runs=[RunOut(**row) for row in rows])


class RunParams(Params):
    run: RunId


class GetRunResult(RunOut):
    event_types: dict[str, int] = Field(description="How many events of each type")


async def get_run(params: RunParams, ctx: RpcContext) -> GetRunResult:
    run = await _read(ctx.daemon, store.get_run, params.run)
    return GetRunResult(**run, event_types=await _read(ctx.daemon, store.event_types, params.run))


class ListEventsParams(Params):
    run: RunId
    after_id: int | None = Field(None, description="Only events after this one (a cursor)")
    types: list[str] | None = Field(None, max_length=32, description="Only these event types")
    limit: int = Field(200, ge=1, le=1000)


class ListEventsResult(Result):
    events: list[EventOut] = Field(description="Oldest first")
    next_after_id: int | None = Field(
        description="Pass as after_id for the next page; null when this page was the last"
    )


async def list_events(params: ListEventsParams, ctx: RpcContext) -> ListEventsResult:
    types = None if params.types is None else [redact_text(t) for t in params.types]
    rows = await _read(
        ctx.daemon, store.list_events, params.run, params.after_id, types, params.limit
    )
    more = len(rows) == params.limit
    return ListEventsResult(
        events=[EventOut(**row) for row in rows], next_after_id=rows[-1]["id"] if more else None
    )


class FileDiff(Result):
    path: str
    change: Literal["created", "modified", "deleted"]
    lines_added: int
    lines_removed: int
    binary: bool
    events: int = Field(description="How many file_change events the file had")


class IssueOut(Result):
    tool: str
    code: str | None
    severity: str | None
    path: str
    line: int | None
    message: str


class LintChanges(Result):
    introduced: list[IssueOut]
    fixed: list[IssueOut]
    until: Literal["end", "now"] = Field(description="Compared with the run's end or with now")


class RunCommit(Result):
    hash: str
    short: str
    subject: str
    files: list[str]


class DiffResult(Result):
    run: int
    status: str
    files: list[FileDiff] = Field(description="Net change per file over the run, by path")
    created: int
    modified: int
    deleted: int
    lines_added: int
    lines_removed: int
    lint: LintChanges | None = Field(
        description="Issues introduced and fixed since the run started; null when no linter "
        "was active at its start"
    )
    commits: list[RunCommit] | None = Field(
        None,
        description="Commits of HEAD's history made while the run was open, newest first; "
        "null without git history (no git plugin, no repository, or the run's workspace is "
        "not open)",
    )


async def diff(params: RunParams, ctx: RpcContext) -> DiffResult:
    run = await _read(ctx.daemon, store.get_run, params.run)
    files = rundiff.summarize(await _read(ctx.daemon, store.file_changes, params.run))
    kinds = [f.change for f in files]
    return DiffResult(
        run=run["id"],
        status=run["status"],
        files=[FileDiff(**vars(f)) for f in files],
        created=kinds.count("created"),
        modified=kinds.count("modified"),
        deleted=kinds.count("deleted"),
        lines_added=sum(f.lines_added for f in files),
        lines_removed=sum(f.lines_removed for f in files),
        lint=await _lint_changes(ctx.daemon, run),
        commits=await _commits(ctx.daemon, run),
    )


async def _commits(daemon: Daemon, run: dict[str, Any]) -> list[RunCommit] | None:
    ws = next((ws for ws in daemon.workspaces if ws.id == run["workspace"]), None)
    found = await gitlink.commits_during(daemon, ws, run) if ws is not None else None
    return None if found is None else [RunCommit(**c) for c in found]


async def _lint_changes(daemon: Daemon, run: dict[str, Any]) -> LintChanges | None:
    before, after = await _read(daemon, store.lint_snapshots, run["id"])
    if before is None:
        return None
    until: Literal["end", "now"] = "end"
    if after is None:
        ws = next((ws for ws in daemon.workspaces if ws.id == run["workspace"]), None)
        after = await lintlink.current_issues(daemon, ws) if ws is not None else None
        until = "now"
        if after is None:
            return None
    introduced, fixed = lintlink.compare(before, after)
    return LintChanges(
        introduced=[IssueOut(**i) for i in introduced],
        fixed=[IssueOut(**i) for i in fixed],
        until=until,
    )


async def _read(daemon: Daemon, fn: Any, *args: Any) -> Any:
    return await daemon.store.run(fn, daemon.store.db, *args)


def methods() -> list[RpcMethod]:
    missing = ("NOT_FOUND",)
    return [
        RpcMethod("audit.start_run", StartRunParams, start_run, cost="write", errors=("INVALID_PATH",),
                  summary="Start a run (or find the open one of an agent session)"),
        RpcMethod("audit.log_event", LogEventParams, log_event, cost="write", errors=(*missing, "CONFLICT"),
                  summary="Record an event in an open run (answered once it is on disk)"),
        RpcMethod("audit.end_run", EndRunParams, end_run, cost="write", errors=(*missing, "CONFLICT"),
                  summary="Close a run"),
        RpcMethod("audit.list_runs", ListRunsParams, list_runs, errors=("INVALID_PATH",),
                  summary="Runs, newest first"),
        RpcMethod("audit.get_run", RunParams, get_run, errors=missing, summary="One run"),
        RpcMethod("audit.list_events", ListEventsParams, list_events, errors=missing,
                  summary="Events of a run, oldest first"),
        RpcMethod("audit.diff", RunParams, diff, errors=missing,
                  summary="Files a run changed, and lint issues it introduced and fixed"),
    ]  # fmt: skip
