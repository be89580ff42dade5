"""A circuit breaker: stop calling something that keeps failing, probe it after a cool-down.

closed → open after `failure_threshold` consecutive failures → half-open once `cooldown_s` has
passed, when one call goes through as a probe → closed if it succeeds, open again (for a fresh
cool-down) if not. Refused calls raise what `refuse` makes of a message and a retry hint: by
default UNAVAILABLE with `retry_after_ms` (the remaining cool-down; a short wait while a probe
is in flight). The store and the Ollama client both stand behind one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal

from aegisd.rpc.errors import Unavailable

BreakerState = Literal["closed", "open", "half_open"]
#: the retry hint of the default refusal while a probe is in flight
PROBE_RETRY_MS = 50


def _unavailable(message: str, retry_after_ms: int | None) -> Exception:
    return Unavailable(message, retry_after_ms=retry_after_ms or PROBE_RETRY_MS)


class CircuitBreaker:
    #: what refusals say (formatted with `name` and `failures`)
    open_message = "{name} is unavailable after {failures} consecutive failures"
    probing_message = "{name} is half-open, a probe is in flight"

    def __init__(
        self,
        name: str,
        failure_threshold: int = 5,
        cooldown_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        refuse: Callable[[str, int | None], Exception] = _unavailable,
    ) -> None:
        if failure_threshold < 1 or cooldown_s < 0:
            raise ValueError("failure_threshold must be >= 1 and cooldown_s >= 0")
        self.name = name
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._refuse = refuse
        self.failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        return "open" if self._remaining() > 0 else "half_open"

    def _remaining(self) -> float:
        assert self._opened_at is not None
        return self.cooldown_s - (self._clock() - self._opened_at)

    def before_call(self) -> None:
        """Let a call through, or refuse it; half-open admits one probe at a time."""
        if self._opened_at is None:
            return
        remaining = self._remaining()
        if remaining > 0:
            message = self.open_message.format(name=self.name, failures=self.failures)
            raise self._refuse(message, max(1, math.ceil(remaining * 1000)))
        if self._probing:
            message = self.probing_message.format(name=self.name, failures=self.failures)
            raise self._refuse(message, None)
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

    def trip(self) -> None:
        """Open at once, for a failure that retrying soon will not cure (a full disk)."""
        self.failures = max(self.failures + 1, self.failure_threshold)
        self._probing = False
        self._opened_at = self._clock()

    def release(self) -> None:
        """A call ended without a verdict (cancelled, or the caller's own error)."""
        self._probing = False

    @contextmanager
    def guard(self, failures: tuple[type[BaseException], ...]) -> Iterator[None]:
        """Wrap one call: refused per the state; an exception of `failures` counts as a
        failure, a clean exit as a success, any other exit only frees the probe slot."""
        self.before_call()
        try:
            yield
        except failures:
            self.record_failure()
            raise
        except BaseException:
            self.release()
            raise
        self.record_success()
