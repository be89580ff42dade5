"""A circuit breaker that stops calling Ollama after repeated failures and probes it later."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal

from aegisd_insights.errors import OllamaError, OllamaUnavailable

BreakerState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """closed -> open after `failure_threshold` consecutive failures -> half_open once
    `cooldown_s` has passed, where one call goes through as a probe -> closed if it succeeds,
    open again (for a fresh cool-down) if it fails. Calls refused while open raise
    OllamaUnavailable at once with `retry_after_ms` = the remaining cool-down; calls refused
    while the probe is in flight carry no retry hint. `clock` is injectable for tests."""

    def __init__(
        self,
        failure_threshold: int = 5,
        cooldown_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or cooldown_s < 0:
            raise ValueError("failure_threshold must be >= 1 and cooldown_s >= 0")
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        return "open" if self._remaining_s(self._opened_at) > 0 else "half_open"

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def _remaining_s(self, opened_at: float) -> float:
        return self.cooldown_s - (self._clock() - opened_at)

    def before_call(self) -> None:
        """Let a call through or raise OllamaUnavailable; in half_open, admit one probe."""
        if self._opened_at is None:
            return
        remaining = self._remaining_s(self._opened_at)
        if remaining > 0:
            raise OllamaUnavailable(
                f"Ollama circuit open after {self._failures} consecutive failures",
                retry_after_ms=max(1, math.ceil(remaining * 1000)),
            )
        if self._probing:
            raise OllamaUnavailable("Ollama circuit half-open, a probe is in flight")
        self._probing = True

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def record_failure(self) -> None:
        self._failures += 1
        self._probing = False
        state = self.state
        if state == "half_open" or (state == "closed" and self._failures >= self.failure_threshold):
            self._opened_at = self._clock()

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Wrap one call: refused per the state; an OllamaError counts as a failure, a clean
        exit as a success; any other exit (a cancellation, a bug) only frees the probe slot."""
        self.before_call()
        try:
            yield
        except OllamaError:
            self.record_failure()
            raise
        except BaseException:
            self._probing = False
            raise
        self.record_success()
