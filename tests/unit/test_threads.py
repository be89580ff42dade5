"""The two thread lanes: bulk work through to_thread, work someone waits on beside it."""

from __future__ import annotations

import asyncio
import threading

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
