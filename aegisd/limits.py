"""Rate limits: in-process token buckets per (client, cost class of the method)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from loguru import logger

from aegisd.config import RateLimitsConfig
from aegisd.rpc.errors import RateLimited

LOG_EVERY_S = 10.0


class _Bucket:
    """One (client, cost class) budget; it carries its class's rate and burst so taking a token
    reads nothing else."""

    __slots__ = ("burst", "rate", "tokens", "updated")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.tokens = burst
        self.updated = now
        self.rate = rate
        self.burst = burst


class RateLimiter:
    def __init__(
        self,
        config: RateLimitsConfig,
        on_reject: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.exempt = frozenset(config.exempt_clients)
        self._limits = {name: getattr(config, name) for name in ("read", "write", "heavy")}
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._last_logged: dict[tuple[str, str], float] = {}
        self._clock = clock
        self._on_reject = on_reject
        self.rejected = 0

    def check(self, client: str, cost: str) -> None:
        """Take one token for `client` in `cost`'s bucket, or raise RATE_LIMITED."""
        if not self.config.enabled or client in self.exempt:
            return
        now = self._clock()
        key = (client, cost)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) > 10_000:
                self._buckets.clear()  # bounded: forget idle clients wholesale
            limit = self._limits.get(cost) or self._limits["read"]
            bucket = self._buckets[key] = _Bucket(limit.rate, limit.burst, now)
        else:
            tokens = bucket.tokens + (now - bucket.updated) * bucket.rate
            bucket.tokens = tokens if tokens < bucket.burst else bucket.burst
            bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return
        self.rejected += 1
        if self._on_reject is not None:
            self._on_reject(cost)
        retry_ms = max(1, math.ceil((1 - bucket.tokens) / bucket.rate * 1000))
        if now - self._last_logged.get(key, -LOG_EVERY_S) >= LOG_EVERY_S:
            self._last_logged[key] = now
            logger.warning(
                "rate limit: client {} over its {} budget (logged once per {} s)",
                client,
                cost,
                LOG_EVERY_S,
            )
        raise RateLimited(
            f"too many {cost} requests from client {client!r}; retry in {retry_ms} ms",
            retry_after_ms=retry_ms,
        )
