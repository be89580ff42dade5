"""A circuit breaker: stop calling something that keeps failing, probe it after a cool-down.

closed → open after `failure_threshold` consecutive failures → half-open once `cooldown_s` has
passed, when one call goes through as a probe → closed if it succeeds, open again if not.
Refused calls raise UNAVAILABLE with `retry_after_ms`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from aegisd.rpc.errors import Unavailable


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        failure_threshold: int = 5,
        cooldown_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self.failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        return "open" if self._remaining() > 0 else "half_open"

    def _remaining(self) -> float:
        assert self._opened_at is not None
        return self.cooldown_s - (self._clock() - self._opened_at)

    def before_call(self) -> None:
        """Let a call through, or raise Unavailable; half-open admits one probe at a time."""
        if self._opened_at is None:
            return
        remaining = self._remaining()
        if remaining > 0 or self._probing:
            raise Unavailable(
                f"{self.name} is unavailable after {self.failures} consecutive failures",
                retry_after_ms=max(1, math.ceil(max(remaining, 0.05) * 1000)),
            )
        self._probing = True

    def record_success(self) -> None:
        self.failures = 0
        self._opened_at = None
        self._probing = False

    def record_failure(self) -> None:
        self.failures += 1
        was_probe, self._probing = self._probing, False
        if was_probe or self.failures >= self.failure_threshold:
            self._opened_at = self._clock()

    def release(self) -> None:
        """A call ended without a verdict (cancelled, or the caller's own error)."""
        self._probing = False
