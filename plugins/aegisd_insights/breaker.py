"""The breaker in front of Ollama: the core's, refusing with `OllamaUnavailable` and counting
every `OllamaError` as a failure."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from aegisd import breaker
from aegisd_insights.errors import OllamaError, OllamaUnavailable


class CircuitBreaker(breaker.CircuitBreaker):
    """Refused calls raise `OllamaUnavailable` with `retry_after_ms` = the remaining cool-down
    while open, and no hint while the probe is in flight. `clock` is injectable for tests."""

    open_message = "{name} circuit open after {failures} consecutive failures"
    probing_message = "{name} circuit half-open, a probe is in flight"

    def __init__(
        self,
        failure_threshold: int = 5,
        cooldown_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__("Ollama", failure_threshold, cooldown_s, clock, OllamaUnavailable)

    @property
    def consecutive_failures(self) -> int:
        return self.failures

    @contextmanager
    def guard(self, failures: tuple[type[BaseException], ...] = (OllamaError,)) -> Iterator[None]:
        with super().guard(failures):
            yield
