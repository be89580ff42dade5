"""The `lint` settings section: which tools run, for how long, with how much memory, with which
extra arguments and which interpreter."""

from __future__ import annotations

from pydantic import Field

from aegisd.settings import SectionModel
from aegisd_lint.issues import Severity

#: seconds a run of each built-in tool may take before its process group is killed
BUILTIN_TIMEOUTS_S = {"ruff": 60.0, "bandit": 120.0, "mypy": 300.0, "pytest": 600.0}
DEFAULT_TIMEOUT_S = 300.0
DEFAULT_MEMORY_MB = 4096


class ToolSettings(SectionModel):
    enabled: bool = True
    timeout_s: float | None = Field(
        None,
        gt=0,
        le=86_400,
        description="Per batch of files. Unset: ruff 60, bandit 120, mypy 300, pytest 600, "
        "other tools 300.",
    )
    max_memory_mb: int | None = Field(
        None, ge=0, le=1_048_576, description="Unset: lint.max_memory_mb."
    )
    args: list[str] = Field(
        default_factory=list,
        description="Extra arguments, after the tool's own options and before the files.",
    )


class Thresholds(SectionModel):
    fail_at: Severity = Field(
        Severity.HIGH, description="A tool (and the report) fails from this severity up."
    )
    warn_at: Severity = Field(
        Severity.LOW, description="Below fail_at, a tool warns from this severity up."
    )


class LintSettings(SectionModel):
    auto: bool = Field(True, description="Lint what each settled batch of changes affects.")
    max_heavy: int = Field(
        1, ge=1, le=32, description="Heavy tools (mypy, pytest) running at once per workspace."
    )
    tools: dict[str, ToolSettings] = Field(
        default_factory=dict,
        description="Per tool name (see lint.tools): enabled, timeout_s, max_memory_mb, args; "
        "unlisted tools use the defaults.",
    )
    thresholds: Thresholds = Field(default_factory=Thresholds)
    max_memory_mb: int = Field(
        DEFAULT_MEMORY_MB,
        ge=0,
        le=1_048_576,
        description="Memory (MiB) each tool process may use, per batch of files; a tool over "
        "it errors OUT_OF_MEMORY for that batch only. 0: no limit.",
    )
    python: str | None = Field(
        None,
        description="The workspace's Python interpreter (absolute, or relative to the root): "
        "the one pytest runs with and whose packages mypy sees. Unset: the .venv or venv of a "
        "trusted workspace; pytest never runs with a Python from PATH.",
    )

    def tool(self, name: str) -> ToolSettings:
        return self.tools.get(name) or ToolSettings()

    def enabled(self, name: str) -> bool:
        return self.tool(name).enabled

    def timeout_s(self, name: str) -> float:
        configured = self.tool(name).timeout_s
        return configured or BUILTIN_TIMEOUTS_S.get(name, DEFAULT_TIMEOUT_S)

    def memory_mb(self, name: str) -> int | None:
        """The tool's memory limit; None: unlimited."""
        configured = self.tool(name).max_memory_mb
        limit = self.max_memory_mb if configured is None else configured
        return limit or None
