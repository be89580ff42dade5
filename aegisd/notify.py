"""Filesystem notifications for one root: watchfiles' Rust notifier, run in a thread of our own.

watchfiles' `awatch` goes through anyio, and anyio's lazy imports (about 55 ms) ran on the
event loop the moment a workspace started watching, in the way of the first request a restarted
daemon answers. The sync `watch` generator in a daemon thread does the same job; batches reach
the loop through `call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from watchfiles import Change, watch

Changes = set[tuple[Change, str]]


async def watch_changes(
    root: Path,
    *,
    debounce_ms: int,
    step_ms: int,
    stop: asyncio.Event,
    rust_timeout_ms: int = 1_000,
) -> AsyncIterator[Changes]:
    """Yield each debounced batch of changes under `root` (an empty set every
    `rust_timeout_ms` of quiet) until `stop` is set; a failure to watch is raised here."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Changes | BaseException | None] = asyncio.Queue()
    halt = threading.Event()  # the notifier checks it every `step_ms`

    def hand_over(item: Changes | BaseException | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is listening
            loop.call_soon_threadsafe(queue.put_nowait, item)

    def run() -> None:
        try:
            for changes in watch(
                root,
                watch_filter=None,  # filtered by the caller, on the loop, with its own rules
                debounce=debounce_ms,
                step=step_ms,
                stop_event=halt,
                rust_timeout=rust_timeout_ms,
                yield_on_timeout=True,
                raise_interrupt=False,
                ignore_permission_denied=True,
            ):
                hand_over(changes)
        except BaseException as exc:  # raised again on the loop
            hand_over(exc)
        else:
            hand_over(None)

    async def relay_stop() -> None:
        await stop.wait()
        halt.set()

    relay = asyncio.create_task(relay_stop(), name=f"watch-stop {root}")
    threading.Thread(target=run, name=f"watch {root}", daemon=True).start()
    try:
        while (item := await queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        halt.set()
        relay.cancel()
