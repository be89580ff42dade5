"""Request metrics: counted per (method, outcome), exported as a counter and a histogram."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from aegisd.daemon import Daemon
from aegisd.metrics import Metrics


def _samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry_text = metrics.exposition().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(registry_text)
        for sample in family.samples
    }


async def test_requests_are_counted_and_timed_per_method(app_daemon: Daemon) -> None:
    metrics = app_daemon.metrics
    for seconds in (0.0004, 0.0005, 0.003):
        metrics.observe_request("daemon.health", "ok", seconds)
    metrics.observe_request("daemon.health", "RATE_LIMITED", 20.0)
    metrics.observe_request("lint.run", "ok", 100.0)
    samples = _samples(metrics)

    def count(method: str, outcome: str) -> float:
        return samples["aegisd_rpc_requests_total", (("method", method), ("outcome", outcome))]

    def bucket(method: str, le: str) -> float:
        return samples["aegisd_rpc_duration_seconds_bucket", (("le", le), ("method", method))]

    assert count("daemon.health", "ok") == 3
    assert count("daemon.health", "RATE_LIMITED") == 1
    assert count("lint.run", "ok") == 1
    assert bucket("daemon.health", "0.0005") == 2  # a bucket counts values up to its bound
    assert bucket("daemon.health", "0.005") == 3
    assert bucket("daemon.health", "10") == 3
    assert bucket("daemon.health", "30") == 4
    assert bucket("daemon.health", "+Inf") == 4
    assert bucket("lint.run", "30") == 0 and bucket("lint.run", "+Inf") == 1
    health_sum = samples["aegisd_rpc_duration_seconds_sum", (("method", "daemon.health"),)]
    assert abs(health_sum - 20.0039) < 1e-9
    summary = metrics.request_summary()
    assert summary["total"] == 5
    assert summary["by_outcome"] == {"ok": 4, "RATE_LIMITED": 1}
    assert summary["by_method"] == {"daemon.health": 4, "lint.run": 1}
    assert summary["mean_ms"] == round(120.0039 * 1000 / 5, 3)
