"""One issue model for every tool, the run result, and how a status follows from severities.

Severity mapping, per tool (each tool module implements its row):

| tool | critical | high | medium | low | info |
|---|---|---|---|---|---|
| ruff | - | syntax errors, `E9`, `F63`, `F7`, `F82` (the "stop the build" set: syntax, undefined names, invalid comparisons and statements) | other `F` (pyflakes), `B` (bugbear), `S` (bandit rules), `PLE`, `ASYNC` | everything else (style, imports, upgrades, simplifications) | - |
| mypy | - | `syntax` errors | every other error | - | notes |
| bandit | severity HIGH and confidence HIGH | severity HIGH, confidence MEDIUM | severity HIGH with confidence LOW; severity MEDIUM with confidence HIGH or MEDIUM | severity MEDIUM with confidence LOW; severity LOW with confidence HIGH or MEDIUM | severity LOW with confidence LOW |
| pytest | a test that errored (collection, setup or teardown) | a test that failed (also a strict xfail that passed) | - | - | - |
| max_file_length | 1000 lines or more | over 500 lines | - | - | - |

Status of a run: any high or critical issue -> `fail`; else any medium or low -> `warn`; else
(only info, or nothing) -> `pass`. `skipped` (tool not installed, nothing to check, the
workspace not trusted to run it) and `error` (timeout, out of memory, the tool failed or
stopped before checking every file, unparseable output) say the run produced no verdict, on
some files (`unchecked`) or all. A report is `pending` while no tool has a verdict yet and the
first pass is due or running.
"""

from collections.abc import Iterable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for info up to 4 for critical, for sorting and thresholds."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {severity: rank for rank, severity in enumerate(Severity)}


class Status(StrEnum):
    # a status name, not a password
    PASS = "pass"  # nosec B105
    WARN = "warn"
    FAIL = "fail"
    SKIPPED = "skipped"
    ERROR = "error"
    PENDING = "pending"


class FixEdit(BaseModel):
    """One text replacement of a tool's fix: lines and columns 1-based, the end exclusive."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    line: int = Field(ge=1)
    column: int = Field(ge=1)
    end_line: int = Field(ge=1)
    end_column: int = Field(ge=1)
    content: str = Field(description="The text that replaces the range")


class Issue(BaseModel):
    """One finding. Lines and columns are 1-based; ends are exclusive, like ruff's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tool: str
    code: str | None = Field(description="The tool's rule code, e.g. F401, return-value, B602.")
    message: str
    severity: Severity
    path: str = Field(description='Relative to the workspace root, "/" separators.')
    line: int = Field(1, ge=1)
    column: int = Field(1, ge=1)
    end_line: int | None = Field(None, ge=1)
    end_column: int | None = Field(None, ge=1)
    fix: str | None = Field(None, description="The tool's suggested fix, as text.")
    edits: tuple[FixEdit, ...] | None = Field(
        None,
        description="The fix as text replacements of the file as checked (ruff's safe and "
        "unsafe fixes alike; `fix` names it), for an editor's quick fix.",
    )
    url: str | None = Field(None, description="Documentation of the rule, when known.")
    identity: str | None = Field(
        None,
        description="What makes this finding the same one across edits when its message "
        "carries a detail that changes (a line count); new and fixed issues are counted by "
        "tool, path, code and this, else the message.",
    )

    @property
    def fingerprint(self) -> tuple[str, str, str | None, str]:
        """The finding's identity across edits (lines move when code above is edited)."""
        return self.tool, self.path, self.code, self.identity or self.message


class Totals(BaseModel):
    """Test outcome counts of a test-runner tool (pytest)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errors: int = 0

    @classmethod
    def sum(cls, found: "Iterable[Totals | None]") -> "Totals | None":
        """The counts of several runs (batches, files) added up; None when none has any."""
        present = [totals for totals in found if totals is not None]
        if not present:
            return None
        return cls(**{name: sum(getattr(t, name) for t in present) for name in cls.model_fields})


class ToolResult(BaseModel):
    """What one run of one tool produced."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tool: str
    version: str | None = None
    status: Status
    issues: list[Issue] = Field(default_factory=list)
    duration_ms: int = 0
    files: list[str] | None = Field(None, description="Files it ran on; None: the workspace.")
    argv: list[str] = Field(default_factory=list)
    returncode: int | None = None
    error_code: str | None = Field(
        None,
        description="TIMEOUT, OUT_OF_MEMORY, TOOL_FAILED, INCOMPLETE or BAD_OUTPUT when status "
        "is error.",
    )
    message: str | None = Field(None, description="Why it was skipped or failed.")
    unchecked: list[str] | None = Field(
        None,
        description="With status error: the files given that got no verdict (None: all, or "
        "the whole workspace); the others' issues are complete.",
    )
    totals: Totals | None = None
    file_totals: dict[str, Totals] | None = Field(
        None, description="A test runner's totals per test file."
    )


def status_for(issues: list[Issue]) -> Status:
    """The status a finished run earns from the worst severity among its issues."""
    # the distinct severities first: a whole-workspace pass has tens of thousands of issues
    worst = max((s.rank for s in {issue.severity for issue in issues}), default=0)
    if worst >= Severity.HIGH.rank:
        return Status.FAIL
    if worst >= Severity.LOW.rank:
        return Status.WARN
    return Status.PASS
