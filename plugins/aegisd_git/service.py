"""The git plugin's per-daemon state: each workspace's repository, its HEAD, and the caches.

Two `BudgetedCache`s: `git.history` holds answers keyed by commit ids (immutable: a commit's
files, a file's blame at a commit, a log from given ids) and is never invalidated, only
evicted; `git.live` holds what depends on HEAD, the index or the work tree (status, blame and
diffs of the working tree, what `HEAD` and branch names resolve to), dropped for the workspace
when `live` sees HEAD, a ref or the index move, and per path on `aegisd_files_changed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from loguru import logger

from aegisd.budget import BudgetedCache
from aegisd.daemon import Daemon, StateKey
from aegisd.gitconfig import read_small
from aegisd.gitrun import Runner, repository_filters
from aegisd.rpc.errors import RpcError, Unavailable
from aegisd.threads import interactive
from aegisd.workspace import ChangeBatch, Workspace
from aegisd_git import live
from aegisd_git.repo import Repository, discover
from aegisd_git.settings import GitSettings

T = TypeVar("T")
OWNER = "git"
RETRY_S = 5.0


@dataclass
class WorkspaceGit:
    """One workspace's repository (or why it has none) and what HEAD is now."""

    ws: Workspace
    repo: Repository | None = None
    error: RpcError | None = None
    head: str | None = None
    branch: str | None = None
    index: tuple[int, int, int] | None = None
    #: stats of HEAD, its ref, packed-refs and the index when HEAD was last read
    signature: tuple[Any, ...] | None = None
    #: (head, branch, index) as the last git.changed told
    published: tuple[Any, ...] | None = None
    found: asyncio.Event = field(default_factory=asyncio.Event)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    changes: int = 0  # git.changed pushed so far
    tried: float = 0.0  # when the repository was last looked for (monotonic)


class GitService:
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.history: BudgetedCache[Any, Any] = daemon.memory.cache("git.history", OWNER)
        self.live: BudgetedCache[Any, Any] = daemon.memory.cache("git.live", OWNER)
        self.workspaces: dict[str, WorkspaceGit] = {}
        #: bumped whenever a workspace's live entries are dropped: an answer computed across
        #: a drop is not kept (it may predate the move)
        self.generation: dict[str, int] = {}

    def settings(self, ws: Workspace) -> GitSettings:
        found = getattr(ws.settings, "git", None)
        return found if isinstance(found, GitSettings) else GitSettings()

    # -- workspaces ----------------------------------------------------------------------------

    def opened(self, ws: Workspace) -> None:
        self._start(self.workspaces.setdefault(ws.id, WorkspaceGit(ws)))

    async def closed(self, ws: Workspace) -> None:
        state = self.workspaces.pop(ws.id, None)
        if state is None:
            return
        state.stop.set()
        if state.task is not None:
            state.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await state.task
        self.live.discard_where(lambda key: key[0] == ws.id)

    async def repository(self, ws: Workspace) -> Repository:
        """The workspace's repository; its refusal (UNSUPPORTED, UNAVAILABLE) when none. A
        refusal older than RETRY_S is looked at again (`git init` since, git installed)."""
        state = self.workspaces.get(ws.id)
        if state is None:
            raise Unavailable(
                "the git plugin has not opened this workspace yet", retry_after_ms=500
            )
        if state.error is not None and time.monotonic() - state.tried > RETRY_S:
            self._start(state)
        await state.found.wait()
        if state.error is not None:
            raise state.error
        assert state.repo is not None
        conf = self.settings(ws)  # settings.update applies to the next call
        state.repo.runner.timeout_s, state.repo.runner.max_bytes = (
            conf.timeout_s, conf.max_output_mib << 20)  # fmt: skip
        await self._observe(state)  # every answer starts from HEAD and the index as they are
        return state.repo

    def _start(self, state: WorkspaceGit) -> None:
        state.found.clear()
        state.task = asyncio.create_task(self._follow(state), name=f"git {state.ws.id}")
        state.ws.track(state.task)

    async def _discover(self, state: WorkspaceGit) -> None:
        conf = self.settings(state.ws)
        runner = Runner(state.ws.root, conf.timeout_s, conf.max_output_mib << 20)
        try:
            repo = await discover(state.ws.root, runner)
            if not state.ws.trusted:
                runner.extra_config = await repository_filters(runner)
            state.repo = repo
            state.error = None
        except RpcError as exc:
            state.repo, state.error = None, exc
        finally:
            state.tried = time.monotonic()
            state.found.set()

    async def _follow(self, state: WorkspaceGit) -> None:
        await self._discover(state)
        if state.repo is None:
            return
        await self._observe(state)
        state.published = (state.head, state.branch, state.index)
        try:
            await live.watch_repository(
                state.repo, state.stop, lambda paths: self._moved(state, paths), self.daemon.watches
            )
        except OSError as exc:  # the git dir went away, or no watch could be had
            logger.warning("git: not watching {} any more: {}", state.repo.git_dir, exc)

    async def trust_changed(self, ws: Workspace) -> None:
        state = self.workspaces.get(ws.id)
        if state is None or state.repo is None:
            return
        runner = state.repo.runner
        runner.extra_config = () if ws.trusted else await repository_filters(runner)

    # -- HEAD ----------------------------------------------------------------------------------

    async def _observe(self, state: WorkspaceGit) -> None:
        """Read HEAD, the branch and the index's stat when their files changed since the last
        look (a few stats, in a thread); what depended on them is dropped when they did."""
        repo = state.repo
        assert repo is not None
        sig, raw = await interactive(_signature, repo)
        if sig == state.signature:
            return
        out = await repo.runner.run("rev-parse", "-q", "--verify", "HEAD^{commit}", ok=(0, 1))
        text = (raw or b"").decode("utf-8", "surrogateescape").strip()
        state.head = out.decode().strip() or None
        state.branch = text.removeprefix("ref: refs/heads/") if text.startswith("ref: ") else None
        state.index = sig[-1]
        if state.signature is not None:
            self._drop(state.ws.id, lambda key: key[0] == state.ws.id)
        state.signature = sig

    async def _moved(self, state: WorkspaceGit, paths: set[str]) -> None:
        """After a settled batch of git-dir events: when HEAD, the index or a ref moved, drop
        what depended on them and tell subscribers (once per move, however it was seen)."""
        assert state.repo is not None
        await live.settle(state.repo, state.ws.settings.watcher.git_lock_wait_ms / 1000)
        await self._observe(state)
        now = (state.head, state.branch, state.index)
        refs = any(live.names_a_ref(state.repo, p) for p in paths)
        if now == state.published and not refs:
            return
        ws = state.ws
        if refs:  # branch and tag names resolve elsewhere now
            self._drop(ws.id, lambda key: key[0] == ws.id)
        state.published = now
        state.changes += 1
        self.daemon.events.publish(
            "git.changed",
            {"workspace": ws.id, "head": state.head, "branch": state.branch},
            workspace=ws.id,
        )

    def files_changed(self, ws: Workspace, batch: ChangeBatch) -> None:
        """Working-tree answers of the changed files (and the status) are stale now."""
        changed = set(batch.changes)
        self._drop(
            ws.id,
            lambda key: key[0] == ws.id and (key[1] in ("status", "diff") or key[2] in changed),
        )

    def _drop(self, ws_id: str, predicate: Callable[[Any], bool]) -> None:
        self.generation[ws_id] = self.generation.get(ws_id, 0) + 1
        self.live.discard_where(predicate)

    # -- caching -------------------------------------------------------------------------------

    async def cached(
        self, cache: BudgetedCache[Any, Any], key: tuple[Any, ...], make: Callable[[], Awaitable[T]]
    ) -> T:
        """`cache[key]`, made by `make()` when missing. A live entry (keyed by workspace id)
        whose workspace saw a move while it was made is answered but not kept."""
        found = cache.get(key)
        if found is not None:
            return found  # type: ignore[no-any-return]
        before = self.generation.get(key[0]) if cache is self.live else None
        value = await make()
        if cache is not self.live or self.generation.get(key[0]) == before:
            cache.put(key, value, size=_size(value))
        return value

    async def head(self, ws: Workspace, repo: Repository) -> str | None:
        """HEAD's commit id as `repository` found it for this request: read again when its
        files had changed, not only once the watcher's settled look (~100 ms later) came."""
        return self.workspaces[ws.id].head

    async def resolve(self, ws: Workspace, repo: Repository, rev: str) -> str:
        """`rev` as a commit id; a full id resolves to itself without asking git twice."""
        key = (ws.id, "rev", rev)
        return await self.cached(self.live, key, lambda: repo.runner.resolve(rev))

    async def resolve_range(self, ws: Workspace, repo: Repository, rev: str) -> list[str]:
        key = (ws.id, "range", rev)
        return await self.cached(self.live, key, lambda: repo.runner.resolve_range(rev))


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _signature(repo: Repository) -> tuple[tuple[Any, ...], bytes | None]:
    """What changes when HEAD, its branch or the index move (blocking: run in a thread),
    and HEAD's content. A ref is a file, or a line of packed-refs."""
    raw = read_small(repo.git_dir / "HEAD")
    text = (raw or b"").decode("utf-8", "surrogateescape").strip()
    ref = _stat(repo.common_dir / text[5:].strip()) if text.startswith("ref: ") else None
    sig = (raw, ref, _stat(repo.common_dir / "packed-refs"), _stat(repo.git_dir / "index"))
    return sig, raw


def _size(value: Any) -> int:
    """A rough size: JSON-ish text of the value times two (dicts and strs cost more)."""
    try:
        return len(repr(value)) * 2
    except Exception:  # pragma: no cover - repr of plain data does not fail
        logger.debug("git: size of a cached value unknown")
        return 1024


KEY = StateKey("git", GitService)


def get(daemon: Daemon) -> GitService:
    return daemon.state[KEY]
