"""`git.blame`'s answers: from memory, from SQLite for large files at a commit, else from git.

A whole-file blame in memory answers any range of it. A blame at a commit of `LARGE_LINES`
lines or more is also stored (in a task: the answer does not wait for the write), so a restart
does not pay for it again. A blame of the working-tree file lives in the live cache only.
"""

from __future__ import annotations

import asyncio
from typing import Any

from loguru import logger

from aegisd.workspace import Workspace
from aegisd_git import history, store
from aegisd_git.models import BlameLine
from aegisd_git.repo import Repository
from aegisd_git.service import GitService


def repo_key(repo: Repository) -> tuple[str, str]:
    """What answers keyed by commit ids are shared by: the repository and the prefix."""
    return (str(repo.common_dir), repo.prefix)


async def lines(
    svc: GitService,
    ws: Workspace,
    repo: Repository,
    path: str,
    rev: str | None,
    start: int | None,
    end: int | None,
) -> list[BlameLine]:
    """The blame of `path` at commit `rev` (None: the working-tree file), lines start..end."""
    base: tuple[Any, ...]
    if rev is None:
        cache, base = svc.live, (ws.id, "blame", path)
    else:
        cache, base = svc.history, (repo_key(repo), "blame", path, rev)
    whole = cache.get((*base, None, None))
    if whole is None and rev is not None:
        whole = await _stored(svc, repo, path, rev)
    if whole is not None:
        return whole[(start or 1) - 1 : end]  # type: ignore[no-any-return]
    found = await svc.cached(
        cache, (*base, start, end), lambda: _blame(repo, path, rev, start, end)
    )
    if rev is not None and start is None and end is None and len(found) >= store.LARGE_LINES:
        task = asyncio.create_task(_save(svc, repo, path, rev, found), name=f"git-blame {path}")
        ws.track(task)
    return found


async def _blame(
    repo: Repository, path: str, rev: str | None, start: int | None, end: int | None
) -> list[BlameLine]:
    """Kept as models: a repeated blame of 2,000 lines is not validated again (~4 ms)."""
    return [BlameLine(**line) for line in await history.blame(repo, path, rev, start, end)]


async def _stored(svc: GitService, repo: Repository, path: str, rev: str) -> list[BlameLine] | None:
    db = svc.daemon.store
    rows: list[dict[str, Any]] | None = await db.run(
        store.load_blame, db.db, str(repo.common_dir), repo.prefix, rev, path
    )
    if rows is None:
        return None
    found = [BlameLine(**row) for row in rows]
    svc.history.put((repo_key(repo), "blame", path, rev, None, None), found, size=len(found) * 400)
    return found


async def _save(
    svc: GitService, repo: Repository, path: str, rev: str, found: list[BlameLine]
) -> None:
    rows = [line.model_dump() for line in found]
    db = svc.daemon.store
    try:
        await db.run(store.save_blame, db.db, str(repo.common_dir), repo.prefix, rev, path, rows)
    except Exception as exc:  # a cache that could not be written is only slower next time
        logger.warning("git: could not store the blame of {} at {}: {!r}", path, rev, exc)
