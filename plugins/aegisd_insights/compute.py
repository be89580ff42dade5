"""compute_insights: every detector over one set of inputs, in a deterministic order."""

from __future__ import annotations

from aegisd_insights import detectors
from aegisd_insights.inputs import SEVERITY_RANK, InsightInputs
from aegisd_insights.insight import KIND_ORDER, Insight, Thresholds


def compute_insights(inputs: InsightInputs, thresholds: Thresholds | None = None) -> list[Insight]:
    """All insights, most severe first, then by kind (`KIND_ORDER`), then in each detector's own
    order (worst first, ties by path). The same inputs in any order give the same list, and keys
    are unique. Module-level and plain-data in and out, so it can run in a process pool."""
    t = thresholds or Thresholds()
    found = [
        *detectors.import_cycles(inputs.cycles),
        *detectors.complexity_hotspots(inputs.symbols, t),
        *detectors.oversized_files(inputs.files, t),
        *detectors.lint_hotspots(inputs.lint, t, inputs.lint_totals),
        *detectors.duplication_hotspots(inputs.clones, inputs.files, t),
        *detectors.untested_modules(inputs.files, inputs.imports, t),
    ]
    # A stable sort keeps each detector's order within a (severity, kind) group.
    found.sort(key=lambda i: (-SEVERITY_RANK[i.severity], KIND_ORDER.index(i.kind)))
    return found
