"""`git.blame`'s answers: from memory, from SQLite for large files at a commit, else from git.

A whole-file blame in memory answers any range of it. A blame at a commit of `LARGE_LINES`
lines or more is also stored (in a task: the answer does not wait for the write), so a restart
does not pay for it again. A blame of the working-tree file lives in the live cache only.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from loguru import logger

from aegisd.threads import interactive
from aegisd.workspace import Workspace
from aegisd_git import history, store
from aegisd_git.models import BlameCommit, BlameLine, BlameLineRef
from aegisd_git.repo import Repository
from aegisd_git.service import GitService

#: blame lines made into models on the event loop at most
MODELS_INLINE_LINES = 200


def repo_key(repo: Repository) -> tuple[str, str]:
    """What answers keyed by commit ids are shared by: the repository and the prefix."""
    return (str(repo.common_dir), repo.prefix)


@dataclass
class Blame:
    """A blame's lines, and their commits by id; `full` is the lines with their commits'
    details on each, made once when first asked for."""

    lines: list[BlameLineRef]
    commits: dict[str, BlameCommit]
    full: list[BlameLine] | None = None

    def part(self, start: int | None, end: int | None) -> Blame:
        """Lines start..end (1-based, inclusive) with only their commits."""
        if start is None and end is None:
            return self
        lines = self.lines[(start or 1) - 1 : end]
        return Blame(lines, {sha: self.commits[sha] for sha in {line.commit for line in lines}})

    def detailed(self) -> list[BlameLine]:
        """The lines with their commits' details (validated already: constructed as they are)."""
        if self.full is None:
            details = {sha: about.model_dump() for sha, about in self.commits.items()}
            self.full = [
                BlameLine.model_construct(**line.model_dump(), **details[line.commit])
                for line in self.lines
            ]
        return self.full


async def lines(
    svc: GitService,
    ws: Workspace,
    repo: Repository,
    path: str,
    rev: str | None,
    start: int | None,
    end: int | None,
) -> Blame:
    """The blame of `path` at commit `rev` (None: the working-tree file), lines start..end."""
    base: tuple[Any, ...]
    if rev is None:
        cache, base = svc.live, (ws.id, "blame", path)
    else:
        cache, base = svc.history, (repo_key(repo), "blame", path, rev)
    whole: Blame | None = cache.get((*base, None, None))
    if whole is None and rev is not None:
        whole = await _stored(svc, repo, path, rev)
    if whole is not None:
        return whole.part(start, end)
    found: Blame = await svc.cached(
        cache, (*base, start, end), lambda: _blame(repo, path, rev, start, end)
    )
    if rev is not None and start is None and end is None and len(found.lines) >= store.LARGE_LINES:
        task = asyncio.create_task(_save(svc, repo, path, rev, found), name=f"git-blame {path}")
        ws.track(task)
    return found


def _models(lines: list[dict[str, Any]], commits: dict[str, dict[str, Any]]) -> Blame:
    return Blame(
        [BlameLineRef(**line) for line in lines],
        {sha: BlameCommit(**about) for sha, about in commits.items()},
    )


async def _blame(
    repo: Repository, path: str, rev: str | None, start: int | None, end: int | None
) -> Blame:
    """Kept as models: a repeated blame of 2,000 lines is not validated again (~4 ms, so
    made in the interactive lane when large)."""
    lines, commits = await history.blame(repo, path, rev, start, end)
    if len(lines) < MODELS_INLINE_LINES:
        return _models(lines, commits)
    return await interactive(_models, lines, commits)


async def _stored(svc: GitService, repo: Repository, path: str, rev: str) -> Blame | None:
    db = svc.daemon.store
    rows: dict[str, Any] | None = await db.run(
        store.load_blame, db.db, str(repo.common_dir), repo.prefix, rev, path
    )
    if rows is None:
        return None
    found = await interactive(_models, rows["lines"], rows["commits"])
    size = len(found.lines) * 200 + len(found.commits) * 300
    svc.history.put((repo_key(repo), "blame", path, rev, None, None), found, size=size)
    return found


async def _save(svc: GitService, repo: Repository, path: str, rev: str, found: Blame) -> None:
    rows = {
        "lines": [line.model_dump() for line in found.lines],
        "commits": {sha: about.model_dump() for sha, about in found.commits.items()},
    }
    db = svc.daemon.store
    try:
        await db.run(store.save_blame, db.db, str(repo.common_dir), repo.prefix, rev, path, rows)
    except Exception as exc:  # a cache that could not be written is only slower next time
        logger.warning("git: could not store the blame of {} at {}: {!r}", path, rev, exc)
