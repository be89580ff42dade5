"""`lint.report` for a file with an unsaved buffer laid over it (`workspace.overlay`).

Only tools that check a file's text through stdin run on a buffer: ruff (`--stdin-filename`).
mypy, bandit and pytest read the files on disk (mypy also every module they import), and
max_file_length is an in-process check of the disk file: their stored results describe text
that is not the buffer's, so the report leaves them out and names them in `message`, rather
than show findings for lines that are not there. Nothing is stored: the buffer belongs to the
connection, and the stored results stay those of the disk.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from aegisd.rpc.context import RpcContext
from aegisd_lint import model
from aegisd_lint.issues import Issue, Severity, Status, status_for
from aegisd_lint.report import FileReport, Selection, Summary, ToolSummary
from aegisd_lint.state import overall

if TYPE_CHECKING:
    from aegisd_lint.rpc import ReportParams, ReportResult

#: tools that check an unsaved buffer's text
OVERLAY_TOOLS = ("ruff",)
_NO_VERDICT = (Status.SKIPPED, Status.ERROR)


async def overlay_report(
    ctx: RpcContext, lw: model.WorkspaceLint, params: ReportParams, rel: str, text: str
) -> ReportResult:
    from aegisd_lint.rpc import ReportResult

    linters = model.get(ctx.daemon)
    settings = model.settings_of(lw.ws)
    enabled = [name for name in linters.tools if settings.enabled(name)]
    chosen = [params.tool] if params.tool else enabled
    selection = Selection(rel, params.severity, params.min_severity)
    by_tool: dict[str, ToolSummary] = {}
    issues: list[Issue] = []
    checked: dict[str, int] = {}
    for name in chosen:
        tool = linters.tools[name]
        if name not in OVERLAY_TOOLS or not tool.applies_to(rel):
            continue
        result = await lw.scheduler.run(
            tool,
            lw.ws.root,
            [rel],
            settings.timeout_s(name),
            settings.tool(name).args,
            cache_dir=model.tool_cache_dir(ctx.daemon, lw.ws, name),
            scratch_root=model.scratch_root(ctx.daemon),
            exclude_dirs=lw.ws.settings.exclude_dirs,
            max_file_bytes=lw.ws.settings.max_file_bytes,
            trusted=lw.ws.trusted,
            python=settings.python,
            max_memory_mb=settings.memory_mb(name),
            overlay=text.encode("utf-8", "surrogateescape"),
        )
        found = [i for i in result.issues if i.path == rel and _selected(i, selection)]
        issues.extend(found)
        if result.status not in _NO_VERDICT:
            checked[name] = 0  # no stored run: the buffer's check is not recorded
        severities = Counter(issue.severity for issue in found)
        by_tool[name] = ToolSummary(
            status=result.status if result.status in _NO_VERDICT else status_for(found),
            issues=len(found),
            files=1,
            by_severity={severity: severities[severity] for severity in Severity},
            version=result.version,
            error_code=result.error_code,
            message=result.message,
        )
    omitted = [name for name in chosen if name not in by_tool]
    severities = Counter(issue.severity for issue in issues)
    statuses = Counter(summary.status for summary in by_tool.values())
    summary = Summary(
        status=overall(statuses),
        issues=len(issues),
        by_severity={severity: severities[severity] for severity in Severity},
        by_tool=by_tool,
        by_status={status: statuses[status] for status in Status},
    )
    message = "unsaved buffer: checked by " + (", ".join(by_tool) or "no tool")
    if omitted:
        message += f"; {', '.join(omitted)} check the file on disk only and are left out"
    return ReportResult(
        status=summary.status,
        running=False,
        linted_clock=lw.linted_clock,
        last_run=lw.last_run,
        summary=summary,
        files=[FileReport(path=rel, issues=issues, checked=checked, total_issues=len(issues))]
        if issues or checked
        else [],
        overlay=True,
        message=message,
    )


def _selected(issue: Issue, selection: Selection) -> bool:
    return issue.severity in selection.severities()
