"""One workspace's merged lint state: each tool's current result per file, and its last outcome.

A file's result is replaced only by a later run of the same tool on that file, so the state is
always the newest verdict of every tool on every file; what was new or fixed is counted by
comparing issue fingerprints (tool, path, code, and the message or the identity a tool gives
when its message carries a changing detail; never the line: lines move when code above is
edited).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from operator import attrgetter

from aegisd_lint.issues import Issue, Severity, Status, Totals

Fingerprint = tuple[str, str, str | None, str]
_SEVERITY = attrgetter("severity")


@dataclass
class FileResult:
    """One tool's verdict on one file: the cache key it was computed under and the run."""

    key: str
    run: int
    issues: list[Issue] = field(default_factory=list)
    totals: Totals | None = None


@dataclass
class ToolState:
    """How a tool's last pass went. `unverified`: files whose last attempt produced no verdict
    (the tool errored), so the tool reports `error` until they are checked."""

    outcome: str = "ok"  # ok | error | skipped
    version: str | None = None
    error_code: str | None = None
    message: str | None = None
    unverified: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Change:
    """What one update did to the merged state."""

    new: int = 0
    fixed: int = 0

    def __add__(self, other: Change) -> Change:
        return Change(self.new + other.new, self.fixed + other.fixed)


def fingerprints(issues: Iterable[Issue]) -> Counter[Fingerprint]:
    return Counter(issue.fingerprint for issue in issues)


def compare(before: Iterable[Issue], after: Iterable[Issue]) -> Change:
    old, now = fingerprints(before), fingerprints(after)
    return Change(new=sum((now - old).values()), fixed=sum((old - now).values()))


class Results:
    """tool -> path -> FileResult, tool -> ToolState, and per tool the counts of its current
    issues by severity and its test totals, kept up to date as results change (a summary is
    then cheap enough to send with every update)."""

    def __init__(self) -> None:
        self.files: dict[str, dict[str, FileResult]] = {}
        self.tools: dict[str, ToolState] = {}
        self.severities: dict[str, Counter[Severity]] = {}
        self.totals: dict[str, Counter[str]] = {}

    def __len__(self) -> int:
        """Stored results, all tools."""
        return sum(len(files) for files in self.files.values())

    def snapshot(self) -> Results:
        """A copy another thread may read while this one changes: results are replaced, never
        changed in place, so copying the containers is enough."""
        copy = Results()
        copy.files = {tool: dict(files) for tool, files in self.files.items()}
        copy.tools = {tool: dataclasses.replace(state) for tool, state in self.tools.items()}
        copy.severities = {tool: Counter(counts) for tool, counts in self.severities.items()}
        copy.totals = {tool: Counter(counts) for tool, counts in self.totals.items()}
        return copy

    def of(self, tool: str) -> dict[str, FileResult]:
        """The tool's results (read only: change them with `replace`, `load` or `drop_paths`)."""
        return self.files.setdefault(tool, {})

    def state(self, tool: str) -> ToolState:
        return self.tools.setdefault(tool, ToolState())

    def count(self, tool: str) -> Counter[Severity]:
        """The tool's current issues by severity."""
        return self.severities.get(tool, Counter())

    def test_totals(self, tool: str) -> Totals | None:
        """A test runner's outcome counts over its current results; None for other tools."""
        totals = self.totals.get(tool)
        return Totals(**totals) if totals is not None else None

    def load(self, tool: str, results: Mapping[str, FileResult]) -> None:
        """Add stored results (no new or fixed counting)."""
        self.of(tool).update(results)
        for result in results.values():
            self._count(tool, result, 1)

    def replace(
        self, tool: str, updates: Mapping[str, FileResult], removed: Iterable[str] = ()
    ) -> Change:
        """Set the results of `updates`' paths and forget `removed` ones, for one tool."""
        current = self.of(tool)
        gone = [path for path in removed if path in current]
        new = fixed = 0
        for path in dict.fromkeys((*updates, *gone)):  # a path in both is updated, once
            old = current.pop(path, None)
            if old is not None:
                self._count(tool, old, -1)
            before = _issues(old)
            after = _issues(updates.get(path))
            # Fingerprints hold the path, so files compare one by one; most have nothing on
            # one side (a first pass: tens of thousands of issues, no counting at all).
            if before and after:
                change = compare(before, after)
                new, fixed = new + change.new, fixed + change.fixed
            else:
                new, fixed = new + len(after), fixed + len(before)
        for path, result in updates.items():
            current[path] = result
            self._count(tool, result, 1)
        return Change(new, fixed)

    def drop_paths(self, paths: Iterable[str]) -> tuple[dict[str, list[str]], Change]:
        """Forget every tool's results for `paths` (deleted files); returns what went, per tool."""
        wanted = set(paths)
        dropped: dict[str, list[str]] = {}
        change = Change()
        for tool, current in self.files.items():
            gone = sorted(wanted & current.keys())
            if gone:
                change += self.replace(tool, {}, gone)
                dropped[tool] = gone
            self.state(tool).unverified -= wanted
        return dropped, change

    def _count(self, tool: str, result: FileResult, sign: int) -> None:
        severities = self.severities.setdefault(tool, Counter())
        if result.issues:
            # counted in C (map, attrgetter, Counter), then added by severity: a first pass
            # on the stdlib counts ~50k issues on the event loop
            for severity, count in Counter(map(_SEVERITY, result.issues)).items():
                severities[severity] += sign * count
        if result.totals is not None:
            totals = self.totals.setdefault(tool, Counter())
            for name, value in result.totals:
                totals[name] += sign * value


def _issues(result: FileResult | None) -> list[Issue]:
    return result.issues if result is not None else []


def status_of(severities: Iterable[Severity], fail_at: Severity, warn_at: Severity) -> Status:
    """The verdict the worst of the issues' severities earns under the thresholds."""
    worst = max((severity.rank for severity in severities), default=-1)
    if worst >= fail_at.rank:
        return Status.FAIL
    if worst >= warn_at.rank:
        return Status.WARN
    return Status.PASS


_PRECEDENCE = (Status.FAIL, Status.ERROR, Status.WARN, Status.PASS, Status.SKIPPED)


def overall(statuses: Iterable[Status]) -> Status:
    """A failure outranks an error (something is known to be wrong), which outranks a warning;
    with no tool at all, `skipped`."""
    present = set(statuses)
    return next((status for status in _PRECEDENCE if status in present), Status.SKIPPED)
