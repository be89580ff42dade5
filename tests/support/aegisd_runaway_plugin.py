"""A plugin gone wrong, for the e2e tests (loaded through `plugins.extra`): when a batch holds
`spin_thread.trigger`, its files-changed hook waits on a thread that spins forever; when it
holds `spin_loop.trigger`, the hook loops on the event loop with awaits and swallows every
cancellation. Its close hook hangs the same way for a workspace holding `hang_close.trigger`."""

from __future__ import annotations

import asyncio
from typing import Any

from loguru import logger

from aegisd import hookimpl


def _spin_forever() -> None:
    logger.info("runaway: spinning in a thread")
    count = 0
    while True:  # a runaway computation: never returns, never checks anything
        count += 1


async def _loop_forever() -> None:
    logger.info("runaway: looping on the loop")
    while True:
        try:
            await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            continue  # never lets go


@hookimpl
def aegisd_files_changed(daemon: Any, workspace: Any, batch: Any) -> Any:
    """Run away on the trigger files."""
    names = {path.rsplit("/", 1)[-1] for path in batch.changes}
    if "spin_thread.trigger" in names:
        return asyncio.to_thread(_spin_forever)
    if "spin_loop.trigger" in names:
        return _loop_forever()
    return None


@hookimpl
def aegisd_workspace_closed(daemon: Any, workspace: Any) -> Any:
    """Hang on close where asked to."""
    if (workspace.root / "hang_close.trigger").exists():
        return _loop_forever()
    return None
