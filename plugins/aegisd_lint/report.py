"""What the linters report: summaries, the per-file picture and run records, built from
`Results` (the models are the shapes of `lint.report`, `lint.history` and `lint.updated`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import Field

from aegisd.rpc.registry import Result
from aegisd_lint.issues import Issue, Severity, Status, Totals
from aegisd_lint.settings import Thresholds
from aegisd_lint.state import FileResult, Results, ToolState, overall, status_of


class ToolSummary(Result):
    status: Status = Field(description="The tool's status on what the report's filters select")
    issues: int = Field(description="Issues the report's filters select")
    files: int = Field(description="Selected files with a current result of this tool")
    by_severity: dict[Severity, int]
    version: str | None = None
    error_code: str | None = Field(
        None, description="TIMEOUT, OUT_OF_MEMORY, TOOL_FAILED, INCOMPLETE or BAD_OUTPUT"
    )
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
    deferred_files: int = Field(
        0, description="Files due a run that were left to the background lane (a later run)"
    )
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


@dataclass(frozen=True)
class Selection:
    """What a report is about: a file or directory (`path`, relative to the root; None: the
    whole workspace), and issues of a severity or from one up. A tool's status in the report
    is its status on what is selected, not on the workspace."""

    path: str | None = None
    severity: Severity | None = None
    min_severity: Severity | None = None

    @property
    def everything(self) -> bool:
        return not self.path and self.severity is None and self.min_severity is None

    def covers(self, path: str) -> bool:
        return not self.path or path == self.path or path.startswith(self.path + "/")

    def keeps(self, issue: Issue) -> bool:
        return (
            self.covers(issue.path)
            and (self.severity is None or issue.severity is self.severity)
            and (self.min_severity is None or issue.severity.rank >= self.min_severity.rank)
        )

    def results(self, files: dict[str, FileResult]) -> dict[str, FileResult]:
        """The results of the selected files."""
        if not self.path:
            return files
        exact = files.get(self.path)
        if exact is not None:
            return {self.path: exact}
        prefix = self.path + "/"
        return {path: result for path, result in files.items() if path.startswith(prefix)}


EVERYTHING = Selection()


def tool_status(results: Results, tool: str, thresholds: Thresholds) -> Status | None:
    """The tool's merged status on the whole workspace; None when it never ran in it."""
    return _status_on(results, tool, thresholds, EVERYTHING, results.files.get(tool, {}))


def _status_on(
    results: Results,
    tool: str,
    thresholds: Thresholds,
    selection: Selection,
    files: dict[str, FileResult],
    severities: Counter[Severity] | None = None,
) -> Status | None:
    """The tool's status on the selected `files` (with their selected issues' `severities`,
    counted here when not given); None when the tool never ran in this workspace."""
    state = results.tools.get(tool)
    if state is None and not results.files.get(tool):
        return None
    if state is not None and state.outcome == "skipped":
        return Status.SKIPPED
    if state is not None and state.outcome == "error" and not state.unverified:
        return Status.ERROR  # the whole tool failed, not some files
    if state is not None and any(selection.covers(path) for path in state.unverified):
        return Status.ERROR  # a selected file has no verdict
    if not files:
        return Status.SKIPPED
    if severities is None:
        severities = _severities(results, tool, selection, files)
    present = [severity for severity, count in severities.items() if count > 0]
    return status_of(present, thresholds.fail_at, thresholds.warn_at)


def _severities(
    results: Results, tool: str, selection: Selection, files: dict[str, FileResult]
) -> Counter[Severity]:
    if selection.everything:
        return results.count(tool)
    return Counter(
        issue.severity
        for result in files.values()
        for issue in result.issues
        if selection.keeps(issue)
    )


def summarize(
    results: Results,
    tools: Sequence[str],
    thresholds: Thresholds,
    selection: Selection = EVERYTHING,
) -> Summary:
    """Counts of the selected issues by tool and severity, and every tool's status on what is
    selected."""
    by_tool: dict[str, ToolSummary] = {}
    for name in tools:
        state = results.tools.get(name) or ToolState()  # (never one made for a tool that never ran)
        # a tool that is not installed has no current verdict; its stored results are history
        skipped = state.outcome == "skipped"
        files = {} if skipped else selection.results(results.files.get(name, {}))
        severities = _severities(results, name, selection, files) if files else Counter()
        status = _status_on(results, name, thresholds, selection, files, severities)
        if status is None:
            continue
        if status is Status.SKIPPED:
            message = state.message if skipped else "no files to check"
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
            totals=_totals(results, name, selection, files) if files else None,
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


def _totals(
    results: Results, tool: str, selection: Selection, files: dict[str, FileResult]
) -> Totals | None:
    if not selection.path:
        return results.test_totals(tool)
    return Totals.sum(result.totals for result in files.values())


def file_reports(
    results: Results, tools: Sequence[str], selection: Selection = EVERYTHING
) -> list[FileReport]:
    """Files with selected issues (and the file a path selection names even when clean),
    sorted by path; a skipped tool's stored results are left out."""
    visible = [name for name in tools if results.state(name).outcome != "skipped"]
    issues: dict[str, list[Issue]] = {}
    for name in visible:
        for path, result in selection.results(results.files.get(name, {})).items():
            kept = [issue for issue in result.issues if selection.keeps(issue)]
            if kept:
                issues.setdefault(path, []).extend(kept)
    exact = selection.path
    if exact and any(exact in results.files.get(name, {}) for name in visible):
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
