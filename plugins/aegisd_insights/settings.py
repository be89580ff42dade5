"""The `insights` settings section: the Ollama settings plus detector thresholds and pacing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from aegisd.settings import SectionModel
from aegisd_insights.insight import Thresholds
from aegisd_insights.ollama import OllamaSettings

if TYPE_CHECKING:
    from aegisd.workspace import Workspace

_DEFAULT = Thresholds()


class ThresholdSettings(SectionModel):
    """When a finding becomes an insight, and how severe it is (see `insight.Thresholds`)."""

    complexity_medium: int = Field(_DEFAULT.complexity_medium, ge=1)
    complexity_high: int = Field(_DEFAULT.complexity_high, ge=1)
    complexity_critical: int = Field(_DEFAULT.complexity_critical, ge=1)
    file_high_over: int = Field(_DEFAULT.file_high_over, ge=1, description="Lines")
    file_critical: int = Field(_DEFAULT.file_critical, ge=1, description="Lines")
    lint_top: int = Field(_DEFAULT.lint_top, ge=0, description="Files listed as lint hotspots")
    dup_low: float = Field(_DEFAULT.dup_low, ge=0, le=1, description="Duplicated-lines ratio")
    dup_medium: float = Field(_DEFAULT.dup_medium, ge=0, le=1)
    dup_high: float = Field(_DEFAULT.dup_high, ge=0, le=1)
    untested_medium_loc: int = Field(_DEFAULT.untested_medium_loc, ge=1)

    def to_thresholds(self) -> Thresholds:
        return Thresholds(**self.model_dump())


class InsightsSettings(SectionModel, OllamaSettings):
    """Ollama (`enabled`, `base_url`, `model`, `focus`, `interval_s`, `timeout_s`,
    `send_source`), the detectors' thresholds, and how the daemon paces its work."""

    thresholds: ThresholdSettings = Field(default_factory=ThresholdSettings)
    debounce_ms: int = Field(
        300, ge=0, le=60_000, description="Quiet time after a change batch before recomputing."
    )
    poll_s: float = Field(
        5.0, ge=0.1, le=3600, description="How often lint and clone results are re-read."
    )
    history_keep: int = Field(2000, ge=10, description="Insight changes kept per workspace.")
    generations_keep: int = Field(100, ge=1, description="LLM answers kept per workspace.")
    recent_batches: int = Field(
        20, ge=0, le=10_000, description="Change batches whose paths the prompt lists."
    )
    max_prompt_insights: int = Field(40, ge=1, le=500, description="Insights listed in a prompt.")
    breaker_failures: int = Field(
        3, ge=1, le=100, description="Consecutive Ollama failures that open the circuit."
    )
    breaker_cooldown_s: float = Field(
        30.0, ge=0, le=3600, description="How long the open circuit answers without calling."
    )


def settings_of(ws: Workspace) -> InsightsSettings:
    settings = getattr(ws.settings, "insights", None)
    return settings if isinstance(settings, InsightsSettings) else InsightsSettings()
