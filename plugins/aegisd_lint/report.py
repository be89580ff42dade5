"""What the linters report: summaries and run records, from the tallies in `Results` or, for
a path, from the store (`queries`); the models are the shapes of `lint.report`, `lint.history`
and `lint.updated`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import Field

from aegisd.rpc.registry import Result
from aegisd_lint.issues import Issue, Severity, Status, Totals
from aegisd_lint.settings import Thresholds
from aegisd_lint.state import Results, ToolState, overall, status_of


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
    total_issues: int = Field(
        0, description="All current issues of the file from the report's tools, unfiltered"
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

    def severities(self) -> list[Severity]:
        """The severities whose issues are selected."""
        if self.severity is not None:
            return [self.severity]
        floor = self.min_severity.rank if self.min_severity is not None else 0
        return [severity for severity in Severity if severity.rank >= floor]

    def keeps(self, issue: Issue) -> bool:
        return self.covers(issue.path) and issue.severity in self.severities()


EVERYTHING = Selection()


@dataclass(frozen=True)
class Tally:
    """One tool on what a report selects: files with a result, the selected issues by
    severity, and (a test runner) its outcome counts."""

    files: int = 0
    severities: Counter[Severity] = field(default_factory=Counter)
    totals: Totals | None = None


def memory_tally(results: Results, tool: str, selection: Selection) -> Tally:
    """The tally of a selection of the whole workspace (severities only): from memory."""
    kept = selection.severities()
    counts = Counter({s: n for s, n in results.count(tool).items() if s in kept and n > 0})
    return Tally(results.file_count(tool), counts, results.test_totals(tool))


def tool_status(results: Results, tool: str, thresholds: Thresholds) -> Status | None:
    """The tool's merged status on the whole workspace; None when it never ran in it."""
    return _status_on(
        results, tool, thresholds, EVERYTHING, memory_tally(results, tool, EVERYTHING)
    )


def _status_on(
    results: Results, tool: str, thresholds: Thresholds, selection: Selection, tally: Tally
) -> Status | None:
    """The tool's status on the selected files (with their selected issues' `tally`); None
    when the tool never ran in this workspace."""
    state = results.tools.get(tool)
    if state is None and not results.file_count(tool):
        return None
    if state is not None and state.outcome == "skipped":
        return Status.SKIPPED
    if state is not None and state.outcome == "error" and not state.unverified:
        return Status.ERROR  # the whole tool failed, not some files
    if state is not None and any(selection.covers(path) for path in state.unverified):
        return Status.ERROR  # a selected file has no verdict
    if not tally.files:
        return Status.SKIPPED
    present = [severity for severity, count in tally.severities.items() if count > 0]
    return status_of(present, thresholds.fail_at, thresholds.warn_at)


def summarize(
    results: Results,
    tools: Sequence[str],
    thresholds: Thresholds,
    selection: Selection = EVERYTHING,
    tallies: Mapping[str, Tally] | None = None,
) -> Summary:
    """Counts of the selected issues by tool and severity, and every tool's status on what is
    selected. `tallies` (from `queries.tallies`) are needed for a path selection; the rest
    is counted in memory."""
    by_tool: dict[str, ToolSummary] = {}
    for name in tools:
        state = results.tools.get(name) or ToolState()  # (never one made for a tool that never ran)
        # a tool that is not installed has no current verdict; its stored results are history
        skipped = state.outcome == "skipped"
        if skipped:
            tally = Tally()
        elif tallies is not None:
            tally = tallies.get(name) or Tally()
        else:
            tally = memory_tally(results, name, selection)
        status = _status_on(results, name, thresholds, selection, tally)
        if status is None:
            continue
        if status is Status.SKIPPED:
            message = state.message if skipped else "no files to check"
        else:
            message = state.message if status is Status.ERROR else None
        by_tool[name] = ToolSummary(
            status=status,
            issues=sum(tally.severities.values()),
            files=tally.files,
            by_severity=_every_severity(tally.severities),
            version=state.version,
            error_code=state.error_code if status is Status.ERROR else None,
            message=message,
            totals=tally.totals if tally.files else None,
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


def _every_severity(counts: Counter[Severity]) -> dict[Severity, int]:
    return {severity: counts[severity] for severity in Severity}
