"""What the linters report: summaries, the per-file picture and run records, built from
`Results` (the models are the shapes of `lint.report`, `lint.history` and `lint.updated`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from pydantic import Field

from aegisd.rpc.registry import Result
from aegisd_lint.issues import Issue, Severity, Status, Totals
from aegisd_lint.settings import Thresholds
from aegisd_lint.state import Results, overall, status_of

IssueFilter = Callable[[Issue], bool]


class ToolSummary(Result):
    status: Status
    issues: int = Field(description="Issues the report's filters select")
    files: int = Field(description="Files with a current result of this tool")
    by_severity: dict[Severity, int]
    version: str | None = None
    error_code: str | None = Field(None, description="TIMEOUT, TOOL_FAILED or BAD_OUTPUT")
    message: str | None = Field(None, description="Why it was skipped or failed")
    totals: Totals | None = Field(None, description="A test runner's outcome counts")


class Summary(Result):
    status: Status = Field(description="fail > error > warn > pass; skipped when nothing ran")
    issues: int
    by_severity: dict[Severity, int]
    by_tool: dict[str, ToolSummary]
    by_status: dict[Status, int] = Field(description="Number of tools per status")


class FileReport(Result):
    path: str
    issues: list[Issue]
    checked: dict[str, int] = Field(
        description="Tool name -> id of the run whose result for this file is current"
    )


class ToolRun(Result):
    """One tool's pass in a run."""

    tool: str
    status: Status = Field(description="The tool's merged status after the pass")
    started: bool = Field(description="Whether the tool was started at all")
    files_run: int = Field(0, description="Files the tool was run on")
    cached_files: int = Field(0, description="Files whose stored result was still valid")
    dropped_files: int = Field(0, description="Files whose results were removed")
    duration_ms: int = Field(0, description="How long the tool ran (0 when not started)")
    version: str | None = None
    error_code: str | None = None
    message: str | None = None
    new: int = 0
    fixed: int = 0


class RunInfo(Result):
    """One recorded run, with totals after it and what changed against the state before it."""

    id: int
    trigger: str = Field(description='"run" (lint.run), "change" (a change batch) or "open"')
    clock: int = Field(description="Workspace clock the run linted")
    started_at: str
    finished_at: str
    status: Status | None = Field(None, description="Overall status after the run")
    issues: int = 0
    by_severity: dict[Severity, int] = Field(default_factory=dict)
    new: int = 0
    fixed: int = 0
    tools_started: int = 0
    files_run: int = 0
    cached_files: int = 0
    dropped_files: int = 0
    duration_ms: int = 0
    tools: list[ToolRun] = Field(default_factory=list)


def keep_all(issue: Issue) -> bool:
    return True


def issue_filter(
    path: str | None,
    tool: str | None,
    severity: Severity | None,
    min_severity: Severity | None,
) -> IssueFilter:
    """`path` is a file or a directory ("" is the root), relative to the root."""

    def keep(issue: Issue) -> bool:
        return (
            (not path or issue.path == path or issue.path.startswith(path + "/"))
            and (tool is None or issue.tool == tool)
            and (severity is None or issue.severity is severity)
            and (min_severity is None or issue.severity.rank >= min_severity.rank)
        )

    return keep


def tool_status(results: Results, tool: str, thresholds: Thresholds) -> Status | None:
    """The tool's merged status; None when it never ran in this workspace."""
    state = results.tools.get(tool)
    files = results.files.get(tool, {})
    if state is None and not files:
        return None
    if state is not None and state.outcome == "skipped":
        return Status.SKIPPED
    if state is not None and (state.outcome == "error" or state.unverified):
        return Status.ERROR
    if not files:
        return Status.SKIPPED
    present = [severity for severity, count in results.count(tool).items() if count > 0]
    return status_of(present, thresholds.fail_at, thresholds.warn_at)


def summarize(
    results: Results, tools: Sequence[str], thresholds: Thresholds, keep: IssueFilter = keep_all
) -> Summary:
    """Counts of the issues `keep` selects, by tool and severity, and every tool's status."""
    by_tool: dict[str, ToolSummary] = {}
    for name in tools:
        status = tool_status(results, name, thresholds)
        if status is None:
            continue
        state = results.state(name)
        # a tool that is not installed has no current verdict; its stored results are history
        files = {} if state.outcome == "skipped" else results.files.get(name, {})
        if not files:
            severities = Counter[Severity]()
        elif keep is keep_all:
            severities = results.count(name)
        else:
            severities = Counter(
                issue.severity
                for result in files.values()
                for issue in result.issues
                if keep(issue)
            )
        if status is Status.SKIPPED:
            message = state.message if state.outcome == "skipped" else "no files to check"
        else:
            message = state.message if status is Status.ERROR else None
        by_tool[name] = ToolSummary(
            status=status,
            issues=sum(severities.values()),
            files=len(files),
            by_severity=_every_severity(severities),
            version=state.version,
            error_code=state.error_code if status is Status.ERROR else None,
            message=message,
            totals=results.test_totals(name) if files else None,
        )
    severities = Counter[Severity]()
    for summary in by_tool.values():
        severities.update(summary.by_severity)
    statuses = Counter(summary.status for summary in by_tool.values())
    return Summary(
        status=overall(statuses),
        issues=sum(severities.values()),
        by_severity=_every_severity(severities),
        by_tool=by_tool,
        by_status={status: statuses[status] for status in Status},
    )


def file_reports(
    results: Results, tools: Sequence[str], keep: IssueFilter, exact: str | None = None
) -> list[FileReport]:
    """Files with selected issues (and the file `exact` even when clean), sorted by path;
    a skipped tool's stored results are left out."""
    visible = [name for name in tools if results.state(name).outcome != "skipped"]
    issues: dict[str, list[Issue]] = {}
    for name in visible:
        for path, result in results.files.get(name, {}).items():
            kept = [issue for issue in result.issues if keep(issue)]
            if kept:
                issues.setdefault(path, []).extend(kept)
    if exact is not None and any(exact in results.files.get(name, {}) for name in visible):
        issues.setdefault(exact, [])
    return [
        FileReport(
            path=path,
            issues=sorted(issues[path], key=_position),
            checked={
                name: results.files[name][path].run
                for name in sorted(visible)
                if path in results.files.get(name, {})
            },
        )
        for path in sorted(issues)
    ]


def _position(issue: Issue) -> tuple[int, int, str, str]:
    return issue.line, issue.column, issue.tool, issue.code or ""


def _every_severity(counts: Counter[Severity]) -> dict[Severity, int]:
    return {severity: counts[severity] for severity in Severity}
