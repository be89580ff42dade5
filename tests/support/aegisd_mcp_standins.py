"""Stand-ins for the lint, similarity, insights and audit methods, as DESIGN.md names them.

Loaded through `plugins.extra` (with the real plugins disabled) so the MCP tests can light up
every tool and check the audit recording while those plugins are not wired into the daemon.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from aegisd import hookimpl
from aegisd.rpc.context import RpcContext
from aegisd.rpc.errors import Conflict, NotFound
from aegisd.rpc.registry import FreshResult, Params, Result, RpcMethod, WorkspaceParams

_runs: dict[int, dict[str, Any]] = {}
_events: dict[int, list[dict[str, Any]]] = {}
_lint_runs: list[dict[str, Any]] = []


class LintReportParams(WorkspaceParams):
    path: str | None = Field(None, description="Only this file")
    tool: str | None = None
    severity: str | None = None


class LintReport(FreshResult):
    status: str
    issues: list[dict[str, Any]]
    runs: list[dict[str, Any]] = Field(description="lint.run calls seen, with their scope")


async def lint_report(params: LintReportParams, ctx: RpcContext) -> LintReport:
    issue = {"path": "pkg/app.py", "line": 1, "tool": "ruff", "code": "F401", "severity": "low"}
    issues = [issue] if params.path in (None, "pkg/app.py") else []
    return LintReport(status="warn" if issues else "pass", issues=issues, runs=_lint_runs)


class LintRunParams(WorkspaceParams):
    tools: list[str] | None = None
    paths: list[str] | None = None


async def lint_run(params: LintRunParams, ctx: RpcContext) -> LintReport:
    _lint_runs.append({"tools": params.tools, "paths": params.paths})
    return await lint_report(LintReportParams(), ctx)


class CheckParams(WorkspaceParams):
    code: str | None = Field(None, description="A snippet")
    path: str | None = Field(None, description="A file")


class CheckResult(FreshResult):
    clones: list[dict[str, Any]]


async def similarity_check(params: CheckParams, ctx: RpcContext) -> CheckResult:
    found = params.code is not None and "parse_config" in params.code
    clone = {"type": 2, "similarity": 0.9, "path": "pkg/config.py", "start_line": 6}
    return CheckResult(clones=[clone] if found else [])


class InsightsParams(WorkspaceParams):
    kind: str | None = None
    limit: int = Field(50, ge=1, le=500)


class InsightsResult(FreshResult):
    insights: list[dict[str, Any]]


async def insights_list(params: InsightsParams, ctx: RpcContext) -> InsightsResult:
    cycle = {"kind": "import_cycle", "severity": "medium", "paths": ["pkg/config.py"]}
    return InsightsResult(insights=[cycle])


class StartRunParams(WorkspaceParams):
    name: str
    external_id: str | None = None
    notes: str | None = None


class RunOut(Result):
    id: int
    workspace: str
    name: str
    status: str
    external_id: str | None


async def start_run(params: StartRunParams, ctx: RpcContext) -> RunOut:
    for run in _runs.values():
        if params.external_id and (run["external_id"], run["status"]) == (
            params.external_id,
            "open",
        ):
            return RunOut(**run)
    run = {
        "id": len(_runs) + 1,
        "workspace": ctx.workspace.id,
        "name": params.name,
        "status": "open",
        "external_id": params.external_id,
    }
    _runs[run["id"]] = run
    _events[run["id"]] = []
    return RunOut(**run)


class LogEventParams(Params):
    run: int
    type: str
    title: str = Field(max_length=200)
    actor: str = "agent"
    detail: str | None = None
    phase: str | None = None
    status: str | None = None
    payload: dict[str, Any] | None = None


class EventOut(Result):
    id: int
    run: int
    type: str
    title: str
    actor: str
    status: str | None
    payload: dict[str, Any] | None


def _run(run: int) -> dict[str, Any]:
    if run not in _runs:
        raise NotFound(f"no run {run}", run=run)
    return _runs[run]


async def log_event(params: LogEventParams, ctx: RpcContext) -> EventOut:
    if _run(params.run)["status"] != "open":
        raise Conflict(f"run {params.run} is closed", run=params.run)
    event = {"id": len(_events[params.run]) + 1, **params.model_dump()}
    _events[params.run].append(event)
    return EventOut(**event)


class RunParams(Params):
    run: int


async def end_run(params: RunParams, ctx: RpcContext) -> RunOut:
    run = _run(params.run)
    run["status"] = "closed"
    return RunOut(**run)


class ListRunsParams(WorkspaceParams):
    status: str | None = None


class ListRunsResult(Result):
    runs: list[RunOut]


async def list_runs(params: ListRunsParams, ctx: RpcContext) -> ListRunsResult:
    runs = [
        RunOut(**r)
        for r in _runs.values()
        if r["workspace"] == ctx.workspace.id and params.status in (None, r["status"])
    ]
    return ListRunsResult(runs=runs)


class ListEventsResult(Result):
    events: list[EventOut]


async def list_events(params: RunParams, ctx: RpcContext) -> ListEventsResult:
    _run(params.run)
    return ListEventsResult(events=[EventOut(**e) for e in _events[params.run]])


@hookimpl
def aegisd_rpc_methods() -> list[RpcMethod]:
    """The methods of the plugins still being wired, with the shapes DESIGN.md gives them."""
    return [
        RpcMethod("lint.report", LintReportParams, lint_report),
        RpcMethod("lint.run", LintRunParams, lint_run, cost="heavy"),
        RpcMethod("similarity.check", CheckParams, similarity_check),
        RpcMethod("insights.list", InsightsParams, insights_list),
        RpcMethod("audit.start_run", StartRunParams, start_run, cost="write"),
        RpcMethod("audit.log_event", LogEventParams, log_event, cost="write"),
        RpcMethod("audit.end_run", RunParams, end_run, cost="write"),
        RpcMethod("audit.list_runs", ListRunsParams, list_runs),
        RpcMethod("audit.list_events", RunParams, list_events),
    ]
