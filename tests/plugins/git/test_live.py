"""The repository watcher's own tasks end with it, however it is stopped."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from aegisd_git.live import watch_repository
from aegisd_git.repo import Repository


def _repository(tmp_path: Path) -> Repository:
    git_dir = tmp_path / ".git"
    git_dir.mkdir()
    return Repository(
        runner=None,  # type: ignore[arg-type]  # never run: only its directories are watched
        git_dir=git_dir, common_dir=git_dir, bare=False, shallow=False, top=tmp_path,
        prefix="", superproject=None,
    )  # fmt: skip


async def _nothing(paths: set[str]) -> None:
    return None


def _others() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]


async def test_cancelling_the_watch_leaves_no_task_pending(tmp_path: Path) -> None:
    # A daemon's shutdown cancels the watch while it waits for a batch; its queue getter was
    # left pending ("Task was destroyed but it is pending" at exit).
    stop = asyncio.Event()
    watch = asyncio.create_task(watch_repository(_repository(tmp_path), stop, _nothing))
    await asyncio.sleep(0.3)
    assert len(_others()) > 1  # the watch, its getter and its watcher are running
    watch.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watch
    await asyncio.sleep(0)
    assert _others() == []


async def test_setting_stop_ends_the_watch_and_its_tasks(tmp_path: Path) -> None:
    stop = asyncio.Event()
    watch = asyncio.create_task(watch_repository(_repository(tmp_path), stop, _nothing))
    await asyncio.sleep(0.3)
    stop.set()
    await asyncio.wait_for(watch, 10)
    await asyncio.sleep(0)
    assert _others() == []
