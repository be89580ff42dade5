"""watch_changes: real notifications from a thread, ended by the stop event, failures raised."""

from __future__ import annotations

import asyncio
import errno
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from watchfiles import Change

from aegisd import notify
from aegisd.notify import watch_changes


def _watch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("watch ")]


async def test_a_written_file_arrives_as_a_batch_and_stop_ends_the_thread(tmp_path: Path) -> None:
    stop = asyncio.Event()
    seen: list[tuple[Change, str]] = []
    others = set(_watch_threads())  # other tests' notifiers, if any are still winding down

    async def consume() -> None:
        async for changes in watch_changes(tmp_path, debounce_ms=20, step_ms=5, stop=stop):
            seen.extend(changes)
            if any(path.endswith("new.py") for _, path in seen):
                stop.set()

    consumer = asyncio.create_task(consume())
    await asyncio.sleep(0.3)  # the notifier is watching by now
    (tmp_path / "new.py").write_text("x = 1\n")
    async with asyncio.timeout(10):
        await consumer
    assert (Change.added, str(tmp_path / "new.py")) in seen
    async with asyncio.timeout(5):
        while set(_watch_threads()) - others:
            await asyncio.sleep(0.01)


async def test_quiet_yields_empty_batches_until_stopped(tmp_path: Path) -> None:
    stop = asyncio.Event()
    quiet = 0
    async with asyncio.timeout(10):
        async for changes in watch_changes(
            tmp_path, debounce_ms=10, step_ms=5, stop=stop, rust_timeout_ms=50
        ):
            assert changes == set()
            quiet += 1
            if quiet == 2:
                stop.set()
    assert quiet == 2


async def test_a_notifier_failure_is_raised_on_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_watch(*args: Any, **kwargs: Any) -> Iterator[set[tuple[Change, str]]]:
        yield set()
        raise OSError(errno.ENOSPC, "inotify watch limit reached")

    monkeypatch.setattr(notify, "watch", failing_watch)
    batches = 0
    with pytest.raises(OSError, match="inotify watch limit") as raised:
        async with asyncio.timeout(10):
            async for _ in watch_changes(tmp_path, debounce_ms=10, step_ms=5, stop=asyncio.Event()):
                batches += 1
    assert raised.value.errno == errno.ENOSPC and batches == 1


async def test_a_consumer_that_leaves_early_stops_the_thread(tmp_path: Path) -> None:
    others = set(_watch_threads())
    async with asyncio.timeout(10):
        async for _ in watch_changes(
            tmp_path, debounce_ms=10, step_ms=5, stop=asyncio.Event(), rust_timeout_ms=20
        ):
            break
        while set(_watch_threads()) - others:
            await asyncio.sleep(0.01)
