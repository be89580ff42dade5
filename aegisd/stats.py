"""Request counters kept in-process for `daemon.status` (Prometheus export lives in metrics)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class RequestStats:
    total: int = 0
    by_outcome: Counter[str] = field(default_factory=Counter)
    by_method: Counter[str] = field(default_factory=Counter)
    total_ms: float = 0.0

    def observe(self, method: str, outcome: str, duration_ms: float) -> None:
        self.total += 1
        self.by_outcome[outcome] += 1
        self.by_method[method] += 1
        self.total_ms += duration_ms

    def as_dict(self) -> dict[str, object]:
        return {
            "total": self.total,
            "by_outcome": dict(self.by_outcome),
            "by_method": dict(self.by_method.most_common(20)),
            "mean_ms": round(self.total_ms / self.total, 3) if self.total else 0.0,
        }
