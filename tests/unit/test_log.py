"""Logging: escaping what clients send, and throttling lines a peer can provoke at will."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator

import pytest
from loguru import logger

from aegisd.log import LogThrottle, configure_logging, escape_control


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_escape_control_keeps_each_value_on_its_line() -> None:
    assert escape_control("index.search") == "index.search"
    assert escape_control("a\nb\r\tc") == "a\\nb\\r\\tc"
    assert escape_control("\x1b[2J\x7f\x85\u2028\udc80 é") == "\\x1b[2J\\x7f\\x85\\u2028\\udc80 é"


def test_throttle_writes_the_first_then_one_per_interval_with_a_count() -> None:
    clock = FakeClock()
    throttle = LogThrottle(every_s=10, clock=clock)
    assert throttle.allow("refused") == 0
    assert [throttle.allow("refused") for _ in range(5)] == [None] * 5
    assert throttle.allow("other") == 0  # kinds are counted apart
    clock.now = 10
    assert throttle.allow("refused") == 5
    assert throttle.allow("refused") is None
    assert throttle.drain("refused") == 1 and throttle.drain("refused") == 0


@pytest.fixture
def logging_restored() -> Iterator[None]:
    """configure_logging changes process-wide state: put the test run's back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    access = logging.getLogger("aiohttp.access").disabled
    yield
    logger.remove()
    logger.add(sys.stderr)
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("aiohttp.access").disabled = access


def test_network_loggers_cannot_flood_the_log(logging_restored: None) -> None:
    out = io.StringIO()
    configure_logging("text", "INFO", stream=out)
    noisy = logging.getLogger("asyncio")
    for n in range(1000):
        noisy.error("socket.accept() out of system resource\nsocket: <fd=%d>", n)
    logging.getLogger("aegisd.elsewhere").warning("kept")
    logging.getLogger("aegisd.elsewhere").warning("kept")
    lines = out.getvalue().splitlines()
    assert sum("out of system resource" in line for line in lines) == 1
    assert sum(line.endswith("| kept") or "| kept |" in line for line in lines) == 2
