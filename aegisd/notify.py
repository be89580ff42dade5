"""Filesystem notifications for one root, from a thread of our own.

On Linux the notifier is `aegisd.inotify` (names of any bytes, ignored directories unwatched,
overflow reported as `RESCAN`); elsewhere it is watchfiles' Rust notifier. Either runs as a
sync generator in a daemon thread (watchfiles' `awatch` goes through anyio, whose lazy imports,
about 55 ms, ran on the event loop the moment a workspace started watching); batches reach the
loop through `call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import watchfiles
from watchfiles import Change

from aegisd import inotify
from aegisd.inotify import RESCAN
from aegisd.watchbudget import WatchBudget

Changes = set[tuple[Change, str]]
__all__ = ["RESCAN", "Changes", "watch", "watch_changes"]


def watch(
    root: Path,
    *,
    prune: Callable[[str], bool],
    debounce_ms: int,
    step_ms: int,
    stop: threading.Event,
    quiet_ms: int,
    budget: WatchBudget | None = None,
    poll_ms: int = 2_000,
    on_polled: Callable[[int], None] | None = None,
) -> Iterator[Changes]:
    """Debounced batches of changes under `root` (blocking; run it in a thread). `prune`
    names directories not worth watching (the inotify notifier skips them); the inotify
    notifier takes its watches from `budget` and polls the directories left without one
    every `poll_ms`, telling `on_polled` how many there are."""
    if inotify.available():
        yield from inotify.watch(
            str(root),
            prune=prune,
            debounce_ms=debounce_ms,
            step_ms=step_ms,
            stop=stop,
            quiet_ms=quiet_ms,
            budget=budget,
            poll_ms=poll_ms,
            on_polled=on_polled,
        )
        return
    yield from watchfiles.watch(
        root,
        watch_filter=None,  # filtered by the caller, on the loop, with its own rules
        debounce=debounce_ms,
        step=step_ms,
        stop_event=stop,
        rust_timeout=quiet_ms,
        yield_on_timeout=True,
        raise_interrupt=False,
        ignore_permission_denied=True,
    )


def _watch_everything(path: str) -> bool:
    return False


async def watch_changes(
    root: Path,
    *,
    debounce_ms: int,
    step_ms: int,
    stop: asyncio.Event,
    rust_timeout_ms: int = 1_000,
    prune: Callable[[str], bool] = _watch_everything,
    budget: WatchBudget | None = None,
    poll_ms: int = 2_000,
    on_polled: Callable[[int], None] | None = None,
) -> AsyncIterator[Changes]:
    """Yield each debounced batch of changes under `root` (an empty set every
    `rust_timeout_ms` of quiet) until `stop` is set; a failure to watch is raised here.
    `prune(path)` is called in the notifier's thread for each directory found; `on_polled`
    on the loop, with how many directories are polled for want of watches (see `watch`)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Changes | BaseException | None] = asyncio.Queue()
    halt = threading.Event()  # the notifier checks it every `step_ms`

    def hand_over(item: Changes | BaseException | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is listening
            loop.call_soon_threadsafe(queue.put_nowait, item)

    def polled(count: int) -> None:
        if on_polled is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed
                loop.call_soon_threadsafe(on_polled, count)

    def run() -> None:
        try:
            for changes in watch(
                root,
                prune=prune,
                debounce_ms=debounce_ms,
                step_ms=step_ms,
                stop=halt,
                quiet_ms=rust_timeout_ms,
                budget=budget,
                poll_ms=poll_ms,
                on_polled=polled,
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
