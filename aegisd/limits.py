"""Rate limits: in-process token buckets per (client, cost class of the method).

The table of buckets is bounded without handing anyone a fresh burst: past `max_buckets`, the
least recently used *idle* buckets are forgotten, idle meaning full again (a full bucket and a
forgotten one behave the same). A limited client's bucket is not full, so it stays.

Each check notes on the caller the bucket it drew from (for a batch, the most constrained
one), from which the HTTP transport sends the client's standing (`RateLimit-*` headers).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from loguru import logger

from aegisd.config import RateLimitsConfig
from aegisd.rpc.errors import RateLimited

if TYPE_CHECKING:
    from aegisd.rpc.context import Caller

LOG_EVERY_S = 10.0


class Bucket:
    """One (client, cost class) budget; it carries its class's rate and burst so taking a token
    reads nothing else."""

    __slots__ = ("burst", "limit_text", "rate", "tokens", "updated")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.tokens = burst
        self.updated = now
        self.rate = rate
        self.burst = burst
        self.limit_text = str(int(burst))  # RateLimit-Limit, the same on every answer

    def tokens_at(self, now: float) -> float:
        tokens = self.tokens + (now - self.updated) * self.rate
        return tokens if tokens < self.burst else self.burst


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
        self._buckets: dict[tuple[str, str], Bucket] = {}
        self._sweep_at = config.max_buckets
        self._last_logged: dict[tuple[str, str], float] = {}
        self.clock = clock
        self._on_reject = on_reject
        self.rejected = 0

    def check(self, client: str, cost: str, caller: Caller | None = None) -> None:
        """Take one token for `client` in `cost`'s bucket, or raise RATE_LIMITED; the bucket
        is noted on `caller` when it is the most constrained one its request drew from."""
        if not self.config.enabled or client in self.exempt:
            return
        now = self.clock()
        key = (client, cost)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._sweep_at:
                self._forget_idle(now)
            limit = self._limits.get(cost) or self._limits["read"]
            bucket = self._buckets[key] = Bucket(limit.rate, limit.burst, now)
        else:
            tokens = bucket.tokens + (now - bucket.updated) * bucket.rate
            bucket.tokens = tokens if tokens < bucket.burst else bucket.burst
            bucket.updated = now
        allowed = bucket.tokens >= 1
        if allowed:
            bucket.tokens -= 1
        if caller is not None:
            seen = caller.limit
            if seen is None or bucket.tokens * seen.burst < seen.tokens * bucket.burst:
                caller.limit = bucket
        if not allowed:
            self._reject(client, cost, bucket, now, caller)

    def _reject(
        self, client: str, cost: str, bucket: Bucket, now: float, caller: Caller | None
    ) -> None:
        self.rejected += 1
        if self._on_reject is not None:
            self._on_reject(cost)
        retry_ms = max(1, math.ceil((1 - bucket.tokens) / bucket.rate * 1000))
        if caller is not None:
            caller.retry_after_ms = max(caller.retry_after_ms, retry_ms)
        key = (client, cost)
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

    def _forget_idle(self, now: float) -> None:
        """Drop the least recently used full buckets down to 3/4 of the bound. When too few
        are idle the table grows past it, and the next sweep waits for a quarter more."""
        bound = self.config.max_buckets
        idle = sorted(
            (bucket.updated, key)
            for key, bucket in self._buckets.items()
            if bucket.tokens_at(now) >= bucket.burst
        )
        excess = len(self._buckets) - bound * 3 // 4
        for _, key in idle[: max(0, excess)]:
            del self._buckets[key]
        self._last_logged = {
            key: at for key, at in self._last_logged.items() if now - at < LOG_EVERY_S
        }
        self._sweep_at = max(bound, len(self._buckets) + max(1, bound // 4))

    def __len__(self) -> int:
        return len(self._buckets)
