"""The `lint` settings section: which tools run, for how long, with which extra arguments."""

from __future__ import annotations

from pydantic import Field

from aegisd.settings import SectionModel
from aegisd_lint.issues import Severity

#: seconds a run of each built-in tool may take before its process group is killed
BUILTIN_TIMEOUTS_S = {"ruff": 60.0, "bandit": 120.0, "mypy": 300.0, "pytest": 600.0}
DEFAULT_TIMEOUT_S = 300.0


class ToolSettings(SectionModel):
    enabled: bool = True
    timeout_s: float | None = Field(
        None,
        gt=0,
        le=86_400,
        description="Unset: ruff 60, bandit 120, mypy 300, pytest 600, other tools 300.",
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
        description="Per tool name: enabled, timeout_s, args; unlisted tools use the defaults.",
    )
    thresholds: Thresholds = Field(default_factory=Thresholds)

    def tool(self, name: str) -> ToolSettings:
        return self.tools.get(name) or ToolSettings()

    def enabled(self, name: str) -> bool:
        return self.tool(name).enabled

    def timeout_s(self, name: str) -> float:
        configured = self.tool(name).timeout_s
        return configured or BUILTIN_TIMEOUTS_S.get(name, DEFAULT_TIMEOUT_S)
