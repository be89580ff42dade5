"""The two thread lanes: bulk work through to_thread, work someone waits on beside it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest

from aegisd import threads
from aegisd.threads import BULK_THREADS, interactive, limit_bulk_threads


async def test_interactive_work_does_not_queue_behind_bulk_work() -> None:
    limit_bulk_threads(asyncio.get_running_loop())
    gate = threading.Event()
    busy = [asyncio.ensure_future(asyncio.to_thread(gate.wait, 10)) for _ in range(BULK_THREADS)]
    queued = asyncio.ensure_future(asyncio.to_thread(threading.current_thread))
    async with asyncio.timeout(5):  # the bulk lane is full, the interactive one is not
        thread = await interactive(threading.current_thread)
    assert thread.name.startswith("aegisd-interactive")
    assert not queued.done()
    gate.set()
    await asyncio.gather(*busy)
    assert (await queued).name.startswith("aegisd-bulk")


class FakeTime:
    """A clock that moves only when slept on; `on_sleep` runs at each sleep."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 1000.0
        self.slept = 0
        self.on_sleep: Callable[[], None] = lambda: None
        monkeypatch.setattr(threads, "_clock", lambda: self.now)
        monkeypatch.setattr(threads, "_last_interactive", 0.0)  # long ago
        monkeypatch.setattr(threads, "_sleep", self.sleep)

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += 1
        self.on_sleep()


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    return FakeTime(monkeypatch)


def _steps_aside() -> bool:
    threads.note_interactive()  # a request arrives while the job runs
    before = threads._clock()
    threads.step_aside()
    return threads._clock() > before


async def test_only_background_jobs_step_aside_for_requests(fake_time: FakeTime) -> None:
    assert await threads.background(_steps_aside)
    # the loop itself, the interactive lane and plain bulk work never sleep for it
    assert not _steps_aside()
    assert not await interactive(_steps_aside)
    assert not await asyncio.to_thread(_steps_aside)


async def test_background_work_does_not_step_aside_when_nobody_is_waiting(
    fake_time: FakeTime,
) -> None:
    fake_time.now += threads.QUIET_AFTER_S  # the last request is that long ago
    assert not threads.busy()
    await threads.background(threads.step_aside)
    assert fake_time.slept == 0
