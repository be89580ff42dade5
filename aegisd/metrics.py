"""Prometheus metrics for `GET /metrics`, one registry per daemon (no process-wide globals).

A request is observed into one row of plain numbers per (method, outcome), so it costs a
dict lookup and two additions; counts and histograms are summed from the rows at scrape time,
as are numbers the daemon already keeps (cache counters, workspaces, subscribers).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from aegisd.daemon import Daemon

LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """The daemon's metrics; plugins may add their own to `registry`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.ws_clients = Gauge(
            "aegisd_websocket_clients", "Connected WebSocket clients", registry=r
        )
        self.rate_limited = Counter(
            "aegisd_rate_limited", "Requests refused by rate limits", ["cost"], registry=r
        )
        self.store_latency = Histogram(
            "aegisd_store_query_duration_seconds",
            "Store operation latency",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.store_retries = Counter(
            "aegisd_store_retries", "Store operations retried on a busy database", registry=r
        )
        self.store_failures = Counter(
            "aegisd_store_failures", "Store operations that failed after retries", registry=r
        )
        self.store_faults = Counter(
            "aegisd_store_faults",
            "Store operations failed by the database itself (disk full, corrupted, file gone)",
            ["kind"],
            registry=r,
        )
        self.watcher_batches = Counter(
            "aegisd_watcher_batches", "Settled change batches", ["source"], registry=r
        )
        ProcessCollector(registry=r)
        # Request counts and latency: plain numbers updated on the event loop only (no locks on
        # the hot path), one row per (method, outcome): a count per latency bucket (the last is
        # +Inf), then the sum of seconds. Counts and per-method histograms are summed from the
        # rows at scrape time.
        self.requests: dict[tuple[str, str], list[float]] = {}

    def rate_limited_inc(self, cost: str) -> None:
        self.rate_limited.labels(cost).inc()

    def store_fault_inc(self, kind: str) -> None:
        self.store_faults.labels(kind).inc()

    def observe_request(self, method: str, outcome: str, seconds: float) -> None:
        row = self.requests.get((method, outcome))
        if row is None:
            row = self.requests[method, outcome] = [0.0] * (len(LATENCY_BUCKETS) + 2)
        row[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        row[-1] += seconds

    def request_counts(self) -> dict[tuple[str, str], int]:
        """Requests by (method, outcome)."""
        return {key: int(sum(row[:-1])) for key, row in self.requests.items()}

    def request_latency(self) -> dict[str, list[float]]:
        """Per method: the count in each latency bucket (the last is +Inf), then the sum."""
        latency: dict[str, list[float]] = {}
        for (method, _), row in self.requests.items():
            total = latency.setdefault(method, [0.0] * len(row))
            for index, value in enumerate(row):
                total[index] += value
        return latency

    def request_summary(self) -> dict[str, Any]:
        """Totals for `daemon.status`, from the same counters /metrics exports."""
        by_outcome: dict[str, int] = {}
        by_method: dict[str, int] = {}
        for (method, outcome), count in self.request_counts().items():
            by_outcome[outcome] = by_outcome.get(outcome, 0) + count
            by_method[method] = by_method.get(method, 0) + count
        total = sum(by_outcome.values())
        seconds = sum(row[-1] for row in self.requests.values())
        top = dict(sorted(by_method.items(), key=lambda kv: -kv[1])[:20])
        mean_ms = round(seconds * 1000 / total, 3) if total else 0.0
        return {"total": total, "by_outcome": by_outcome, "by_method": top, "mean_ms": mean_ms}

    def attach(self, daemon: Daemon) -> None:
        """Read the daemon's own counters at scrape time."""
        self.registry.register(_DaemonCollector(daemon))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def _request_families(metrics: Metrics) -> Iterator[Any]:
    counts = CounterMetricFamily(
        "aegisd_rpc_requests", "RPC requests by method and outcome", labels=["method", "outcome"]
    )
    for (method, outcome), value in sorted(metrics.request_counts().items()):
        counts.add_metric([method, outcome], value)
    yield counts
    latency = HistogramMetricFamily(
        "aegisd_rpc_duration_seconds", "RPC latency by method", labels=["method"]
    )
    bounds = [str(b) for b in LATENCY_BUCKETS] + ["+Inf"]
    for method, row in sorted(metrics.request_latency().items()):
        cumulative, buckets = 0.0, []
        for bound, count in zip(bounds, row[:-1], strict=True):
            cumulative += count
            buckets.append((bound, cumulative))
        latency.add_metric([method], buckets, sum_value=row[-1])
    yield latency


def _memory_families(d: Daemon) -> Iterator[Any]:
    memory = d.memory
    yield GaugeMetricFamily(
        "aegisd_memory_budget_bytes", "The memory budget of the process tree",
        value=memory.budget_bytes,
    )  # fmt: skip
    if memory.last is not None:
        yield GaugeMetricFamily(
            "aegisd_memory_used_bytes", "The process tree's PSS when last measured",
            value=memory.last.total,
        )  # fmt: skip
    yield GaugeMetricFamily(
        "aegisd_memory_over_budget", "1 while over budget with the caches shrunk",
        value=1 if memory.over_budget else 0,
    )  # fmt: skip
    share = GaugeMetricFamily(
        "aegisd_memory_share_bytes", "Memory per owner: caches, workers", labels=["owner", "kind"]
    )
    for owner, kinds in memory.shares().items():
        for kind, held in kinds.items():
            share.add_metric([owner, kind], held)
    yield share
    size = GaugeMetricFamily(
        "aegisd_budget_cache_bytes", "Bytes held per budgeted cache", labels=["cache"]
    )
    evictions = CounterMetricFamily(
        "aegisd_budget_cache_evictions", "Entries evicted per budgeted cache", labels=["cache"]
    )
    for cache in memory.caches():
        size.add_metric([cache.name], cache.bytes)
        evictions.add_metric([cache.name], cache.evictions)
    yield size
    yield evictions


class _DaemonCollector(Collector):
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon

    def collect(self) -> Iterator[Any]:
        d = self.daemon
        yield from _request_families(d.metrics)
        for name, help_text in (
            ("hits", "Cache hits"),
            ("misses", "Cache misses"),
            ("evictions", "Cache evictions"),
            ("invalidations", "Cache invalidations"),
        ):
            family = CounterMetricFamily(f"aegisd_cache_{name}", help_text, labels=["namespace"])
            for namespace, stats in d.cache.stats().items():
                family.add_metric([namespace], stats[name])
            yield family
        size = GaugeMetricFamily("aegisd_cache_bytes", "Cache size in bytes", labels=["namespace"])
        for namespace, stats in d.cache.stats().items():
            size.add_metric([namespace], stats["bytes"])
        yield size
        yield from _memory_families(d)
        workspaces = list(d.workspaces)
        yield GaugeMetricFamily("aegisd_workspaces", "Open workspaces", value=len(workspaces))
        yield GaugeMetricFamily(
            "aegisd_rpc_in_flight", "RPC requests being handled", value=d.dispatcher.in_flight
        )
        yield GaugeMetricFamily(
            "aegisd_workspaces_degraded", "Workspaces whose watcher is degraded",
            value=sum(1 for ws in workspaces if ws.degraded),
        )  # fmt: skip
        depth = GaugeMetricFamily(
            "aegisd_watcher_queue_depth", "Touched paths waiting to settle", labels=["workspace"]
        )
        clock = GaugeMetricFamily(
            "aegisd_workspace_clock", "Workspace change clock", labels=["workspace"]
        )
        for ws in workspaces:
            depth.add_metric([ws.id], ws.live.queue_depth if ws.live is not None else 0)
            clock.add_metric([ws.id], ws.clock)
        yield depth
        yield clock
        breaker = GaugeMetricFamily(
            "aegisd_store_breaker_open", "1 while the store circuit breaker is open"
        )
        breaker.add_metric([], 1 if d.store.breaker_open else 0)
        yield breaker
        yield GaugeMetricFamily(
            "aegisd_plugins_blocked",
            "Plugins blocked at load or start",
            value=len(d.host.blocked()),
        )
