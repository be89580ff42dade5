"""Prometheus metrics for `GET /metrics`, one registry per daemon (no process-wide globals).

Request metrics use label children cached per method, so observing a request costs a dict
lookup and two increments. Numbers the daemon already keeps (cache counters, workspaces,
subscribers) are read at scrape time by a collector instead of being double-counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
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
        self.requests = Counter(
            "aegisd_rpc_requests",
            "RPC requests by method and outcome",
            ["method", "outcome"],
            registry=r,
        )
        self.latency = Histogram(
            "aegisd_rpc_duration_seconds",
            "RPC latency by method",
            ["method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge("aegisd_rpc_in_flight", "RPC requests being handled", registry=r)
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
        self.watcher_batches = Counter(
            "aegisd_watcher_batches", "Settled change batches", ["source"], registry=r
        )
        ProcessCollector(registry=r)
        self._children: dict[str, tuple[Any, Any]] = {}
        self._outcomes: dict[tuple[str, str], Any] = {}

    def rate_limited_inc(self, cost: str) -> None:
        self.rate_limited.labels(cost).inc()

    def observe_request(self, method: str, outcome: str, seconds: float) -> None:
        child = self._outcomes.get((method, outcome))
        if child is None:
            child = self._outcomes[(method, outcome)] = self.requests.labels(method, outcome)
        child.inc()
        histogram = self._children.get(method)
        if histogram is None:
            histogram = self._children[method] = (self.latency.labels(method), None)
        histogram[0].observe(seconds)

    def attach(self, daemon: Daemon) -> None:
        """Read the daemon's own counters at scrape time."""
        self.registry.register(_DaemonCollector(daemon))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _DaemonCollector(Collector):
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon

    def collect(self) -> Iterator[Any]:
        d = self.daemon
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
        workspaces = list(d.workspaces)
        yield GaugeMetricFamily("aegisd_workspaces", "Open workspaces", value=len(workspaces))
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
