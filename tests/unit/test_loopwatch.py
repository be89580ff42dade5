"""`LoopWatch`: a stall of the event loop is measured and its culprit's stack logged."""

from __future__ import annotations

import asyncio
import time

from loguru import logger
from prometheus_client import CollectorRegistry

from aegisd import loopwatch
from aegisd.loopwatch import LoopWatch


def _hog_the_loop(seconds: float) -> None:
    time.sleep(seconds)  # synchronous work on the loop: what the watch must catch


async def test_a_stall_is_measured_and_its_stack_logged() -> None:
    registry = CollectorRegistry()
    watch = LoopWatch(registry)
    logged: list[str] = []
    sink = logger.add(lambda m: logged.append(str(m)), level="WARNING")
    watch.start(asyncio.get_running_loop())
    try:
        await asyncio.sleep(0.2)  # a few quiet periods
        assert watch.stalls == 0
        _hog_the_loop(loopwatch.STALL_S * 2)
        for _ in range(100):
            await asyncio.sleep(0.02)
            if watch.stalls:
                break
    finally:
        watch.stop()
        logger.remove(sink)
    assert watch.stalls == 1
    assert watch.worst_s >= loopwatch.STALL_S
    assert any("stalled" in line and "_hog_the_loop" in line for line in logged), logged
    count = registry.get_sample_value("aegisd_loop_lag_seconds_count")
    slow = registry.get_sample_value("aegisd_loop_lag_seconds_bucket", {"le": "0.25"})
    assert count is not None and slow is not None and count - slow >= 1


async def test_it_ends_when_the_loop_closes() -> None:
    loop = asyncio.new_event_loop()
    watch = LoopWatch(CollectorRegistry())
    watch.start(loop)
    loop.close()
    assert watch._thread is not None
    watch._thread.join(timeout=5)
    assert not watch._thread.is_alive()
