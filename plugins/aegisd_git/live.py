"""Liveness: the repository's own files watched, and one `git.changed` per settled move.

The workspace watcher leaves `.git/` out (it is excluded), so each repository gets a small
watcher of its own (`aegisd.notify.watch_changes`) on its git dir, and on the common dir for a
linked worktree, without `objects/`, `logs/` and the like: it sees HEAD, the index, refs and
packed-refs move. A batch of such events is settled first (while `index.lock`, `HEAD.lock` or a
rebase in progress is there, bounded by the workspace's `watcher.git_lock_wait_ms`), then HEAD,
the branch and the index are read once; only when they (or a ref) changed are HEAD-dependent
cache entries dropped and `git.changed {workspace, head, branch}` pushed. A checkout of
thousands of files is one notification: its working-tree events go to the workspace watcher,
and the few git-dir events of the switch are gathered into one settled look.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from loguru import logger

from aegisd.notify import watch_changes
from aegisd.threads import interactive
from aegisd_git.repo import Repository

#: git-dir entries never worth a watch (objects are immutable; logs follow refs)
PRUNED = frozenset({"objects", "logs", "hooks", "info", "lfs", "modules", "rr-cache",
                    "fsmonitor--daemon", "worktrees", "branches", "description"})  # fmt: skip
#: present while git is in the middle of changing HEAD or the index
IN_FLIGHT = ("index.lock", "HEAD.lock", "rebase-merge", "rebase-apply", "packed-refs.lock")
DEBOUNCE_MS = 50
STEP_MS = 20
QUIET_S = 0.06
GATHER_MAX_S = 2.0  # events that never stop still get a look this often


def _pruner(top: Path) -> Callable[[str], bool]:
    base = str(top)

    def prune(path: str) -> bool:
        if path == base:
            return False
        rel = os.path.relpath(path, base)
        return rel.split(os.sep, 1)[0] in PRUNED

    return prune


def git_dirs(repo: Repository) -> list[Path]:
    """The directories whose changes move HEAD, the index or a ref."""
    dirs = [repo.git_dir]
    if repo.common_dir != repo.git_dir:
        dirs.append(repo.common_dir)
    return dirs


def relevant(path: str) -> bool:
    """A change worth a look: not a lock appearing, not a temporary file."""
    name = os.path.basename(path)
    return not name.endswith(".lock") and not name.startswith("tmp_")


def names_a_ref(repo: Repository, path: str) -> bool:
    """A ref (a branch, tag, remote-tracking ref, the stash) or packed-refs."""
    for top in git_dirs(repo):
        rel = os.path.relpath(path, top)
        if rel == "packed-refs" or rel.startswith("refs" + os.sep):
            return True
    return False


async def settle(repo: Repository, wait_s: float) -> None:
    """Wait (bounded) until no git command is half-way through changing the repository."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        busy = await interactive(
            lambda: any(os.path.exists(d / name) for d in git_dirs(repo) for name in IN_FLIGHT)
        )
        if not busy:
            return
        await asyncio.sleep(0.05)


async def watch_repository(
    repo: Repository,
    stop: asyncio.Event,
    on_change: Callable[[set[str]], Awaitable[None]],
    budget: object = None,
) -> None:
    """Call `on_change` after each settled batch of relevant git-dir events until `stop`."""
    batches: asyncio.Queue[set[str]] = asyncio.Queue()

    async def one(top: Path) -> None:
        async for changes in watch_changes(
            top, debounce_ms=DEBOUNCE_MS, step_ms=STEP_MS, stop=stop, prune=_pruner(top),
            budget=budget,  # type: ignore[arg-type]
        ):  # fmt: skip
            paths = {path for _, path in changes if relevant(path)}
            if paths:
                batches.put_nowait(paths)

    watchers = [asyncio.create_task(one(top), name=f"git-watch {top}") for top in git_dirs(repo)]
    getter: asyncio.Task[set[str]] | None = None
    try:
        while not stop.is_set():
            getter = asyncio.create_task(batches.get())
            done, _ = await asyncio.wait([getter, *watchers], return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                for task in done:
                    task.result()  # a watcher that failed: raised to the caller
                return
            paths = getter.result()
            # git writes the index, then HEAD, with a moment between: what follows within
            # QUIET_S belongs to the same move (one notification for a checkout, not two)
            gather_until = time.monotonic() + GATHER_MAX_S
            while time.monotonic() < gather_until:
                try:
                    paths |= await asyncio.wait_for(batches.get(), QUIET_S)
                except TimeoutError:
                    break
            try:
                await on_change(paths)
            except Exception:
                logger.exception("git: reading {} after a change failed", repo.git_dir)
    finally:
        # Cancelled while waiting (the workspace closed): the getter is ours to end too, or
        # the loop's shutdown finds it pending and destroys it with a warning.
        tasks = [*watchers, *([getter] if getter is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
