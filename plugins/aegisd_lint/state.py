"""One workspace's merged lint state: each tool's current result per file (in the store), its
tallies and its last outcome.

A file's result is replaced only by a later run of the same tool on that file, so the state is
always the newest verdict of every tool on every file; what was new or fixed is counted by
comparing issue fingerprints (tool, path, code, and the message or the identity a tool gives
when its message carries a changing detail; never the line: lines move when code above is
edited).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from aegisd_lint.issues import Issue, Severity, Status, Totals

Fingerprint = tuple[str, str, str | None, str]


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


@dataclass
class Delta:
    """What storing some results did to a tool's tallies: files with a result, current
    issues per severity, test totals; and how many issues were new or fixed."""

    files: int = 0
    severities: Counter[Severity] = field(default_factory=Counter)
    totals: Counter[str] = field(default_factory=Counter)
    change: Change = Change()

    def __add__(self, other: Delta) -> Delta:
        severities = Counter(self.severities)
        severities.update(other.severities)
        totals = Counter(self.totals)
        totals.update(other.totals)
        return Delta(self.files + other.files, severities, totals, self.change + other.change)


class Results:
    """A workspace's lint state in memory: per tool its `ToolState` and tallies (files with a
    result, current issues by severity, test totals), kept up to date as results are stored,
    so the summary sent with every update is cheap. The results themselves (issues, keys,
    runs per file) are in the store (`store`, `queries`): memory does not grow with them."""

    def __init__(self) -> None:
        self.tools: dict[str, ToolState] = {}
        self.files: dict[str, int] = {}
        self.severities: dict[str, Counter[Severity]] = {}
        self.totals: dict[str, Counter[str]] = {}

    def state(self, tool: str) -> ToolState:
        return self.tools.setdefault(tool, ToolState())

    def file_count(self, tool: str) -> int:
        """Files with a stored result of `tool`."""
        return self.files.get(tool, 0)

    def count(self, tool: str) -> Counter[Severity]:
        """The tool's current issues by severity."""
        return self.severities.get(tool, Counter())

    def test_totals(self, tool: str) -> Totals | None:
        """A test runner's outcome counts over its current results; None for other tools."""
        totals = self.totals.get(tool)
        return Totals(**totals) if totals is not None else None

    def apply(self, tool: str, delta: Delta) -> Change:
        """Count stored changes in (what `store.save_rows` returned)."""
        self.files[tool] = self.files.get(tool, 0) + delta.files
        severities = self.severities.setdefault(tool, Counter())
        severities.update(delta.severities)
        if delta.totals:
            self.totals.setdefault(tool, Counter()).update(delta.totals)
        return delta.change


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
