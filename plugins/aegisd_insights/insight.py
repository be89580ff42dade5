"""The Insight record and the thresholds the detectors apply."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from aegisd_insights.inputs import Severity

InsightKind = Literal[
    "import_cycle",
    "complexity_hotspot",
    "oversized_file",
    "lint_hotspot",
    "duplication_hotspot",
    "untested_module",
    "no_tests",
]

# Order of kinds among insights of equal severity.
KIND_ORDER: tuple[InsightKind, ...] = (
    "import_cycle",
    "complexity_hotspot",
    "oversized_file",
    "lint_hotspot",
    "duplication_hotspot",
    "untested_module",
    "no_tests",
)


@dataclass(frozen=True, slots=True)
class Insight:
    """One finding. `key` names its subject (kind plus path, symbol or cycle) and never its
    numbers or severity, so the same problem keeps its key while it grows or shrinks; diff two
    sets by key to see what appeared, changed (severity/metrics) and was resolved."""

    key: str
    kind: InsightKind
    severity: Severity
    title: str
    detail: str
    paths: tuple[str, ...] = ()
    symbols: tuple[str, ...] = ()
    metrics: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Limits for the detectors; the defaults follow AEGIS (max_file_length: over 500 lines
    high, 1000 or more critical)."""

    complexity_medium: int = 10
    complexity_high: int = 20
    complexity_critical: int = 40
    file_high_over: int = 500
    file_critical: int = 1000
    lint_top: int = 10
    dup_low: float = 0.15
    dup_medium: float = 0.3
    dup_high: float = 0.5
    untested_medium_loc: int = 200
