from __future__ import annotations

import pytest
from aegisd_insights.breaker import CircuitBreaker
from aegisd_insights.errors import OllamaTimeout, OllamaUnavailable


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=3, cooldown_s=10.0, clock=clock)


def state(breaker: CircuitBreaker) -> str:
    """The state read through a call, so mypy does not narrow it between clock moves."""
    return breaker.state


def fail(breaker: CircuitBreaker, times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(OllamaTimeout), breaker.guard():
            raise OllamaTimeout("slow")


def test_opens_only_after_consecutive_failures(breaker: CircuitBreaker) -> None:
    fail(breaker, 2)
    with breaker.guard():
        pass  # a success resets the count
    fail(breaker, 2)
    assert (state(breaker), breaker.consecutive_failures) == ("closed", 2)
    fail(breaker)
    assert state(breaker) == "open"


def test_open_refuses_at_once_with_the_remaining_cool_down(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    fail(breaker, 3)
    clock.now += 2.5
    with pytest.raises(OllamaUnavailable, match="after 3 consecutive failures") as info:
        breaker.before_call()
    assert info.value.retry_after_ms == 7500


def test_half_open_admits_one_probe_and_closes_on_success(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    fail(breaker, 3)
    clock.now += 10.0
    assert state(breaker) == "half_open"
    with breaker.guard():
        with pytest.raises(OllamaUnavailable, match="probe is in flight") as info:
            breaker.before_call()
        assert info.value.retry_after_ms is None
    assert (state(breaker), breaker.consecutive_failures) == ("closed", 0)


def test_failed_probe_reopens_for_a_fresh_cool_down(breaker: CircuitBreaker, clock: Clock) -> None:
    fail(breaker, 3)
    clock.now += 15.0
    fail(breaker)
    assert state(breaker) == "open"
    clock.now += 9.0
    assert state(breaker) == "open"
    clock.now += 1.0
    assert state(breaker) == "half_open"


@pytest.mark.parametrize("error", [ValueError("bug"), KeyboardInterrupt()])
def test_other_exits_free_the_probe_without_a_verdict(
    breaker: CircuitBreaker, clock: Clock, error: BaseException
) -> None:
    fail(breaker, 3)
    clock.now += 10.0
    with pytest.raises(type(error)), breaker.guard():
        raise error
    assert (state(breaker), breaker.consecutive_failures) == ("half_open", 3)
    breaker.before_call()  # the slot is free again


def test_rejects_nonsense_settings() -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(failure_threshold=0)
    with pytest.raises(ValueError):
        CircuitBreaker(cooldown_s=-1)
