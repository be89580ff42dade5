"""The similarity plugin's per-daemon state and how each workspace's clone index follows it.

One task per workspace owns every update. The index is on disk (`index.CloneIndex`), so a start
loads nothing: the task waits until the workspace's known file state mirrors the disk, then
analyzes exactly the files whose content hash differs from what the index holds. A change batch
only queues its paths (the hook returns at once); the task analyzes them in the process pool and
stores them chunk by chunk as the workers finish, in the background lane; after a large batch it
has the workers match the default report's pairs too. Queries wait until the task has caught up,
so no answer misses a change the workspace has already settled.

A large workspace (over the core setting `full_pass_max_files`) is not analyzed whole unless a
client asks: only files that change (and those that changed while the daemon was away) are,
against what the index holds; a report asks for the files it covers (`want`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from loguru import logger

from aegisd.daemon import StateKey
from aegisd.rpc.errors import Unavailable
from aegisd.threads import background
from aegisd_similarity import store
from aegisd_similarity.db import IndexDb, StoreWriter
from aegisd_similarity.index import CloneIndex
from aegisd_similarity.match import CloneParams
from aegisd_similarity.pool import AnalysisPool, Analyzed
from aegisd_similarity.settings import SimilaritySettings
from aegisd_similarity.tokens import language_for

if TYPE_CHECKING:
    from aegisd.daemon import Daemon
    from aegisd.filestate import FileStat
    from aegisd.workspace import ChangeBatch, Workspace

CACHE_NAMESPACE = "similarity"
OWNER = "similarity"
WAIT_S = 10.0  # how long a query waits for the index to catch up before UNAVAILABLE
SAVE_BATCH = 64  # analyzed files per DB transaction
PROGRESS_MIN = 50  # incremental passes smaller than this send no progress
RETRY_S = 1.0  # pause after a failed pass before the next (a full one) starts


@dataclass(frozen=True)
class Config:
    """What a workspace's settings decide about the index's contents."""

    languages: frozenset[str]
    max_postings: int


def settings_of(ws: Workspace) -> SimilaritySettings:
    found = getattr(ws.settings, "similarity", None)
    return found if isinstance(found, SimilaritySettings) else SimilaritySettings()


def config_of(ws: Workspace) -> Config:
    s = settings_of(ws)
    return Config(frozenset(s.languages), s.max_postings)


def is_large(ws: Workspace) -> bool:
    """Over the core setting `full_pass_max_files` (read defensively: a core without it has
    no large workspaces)."""
    return bool(getattr(ws, "large", False))


@dataclass(eq=False)
class WorkspaceClones:
    """One workspace's clone index and what its update task knows.

    `lock` guards `index` (it is not thread-safe): hold it around every use, which may then
    run in a thread. `want` holds path prefixes clients asked to have analyzed in a large
    workspace ("" is everything); `missing` counts known files never analyzed there.
    """

    config: Config
    index: CloneIndex | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    todo: set[str] = field(default_factory=set)
    full: bool = True  # the next pass compares every known path
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    caught_up: asyncio.Event = field(default_factory=asyncio.Event)
    ready: bool = False  # the first full pass is done
    analyzed: int = 0  # files analyzed by this daemon instance
    loaded: int = 0  # files the index held at start (not analyzed)
    version: int = 0  # bumped whenever the index changes
    progress: tuple[int, int] = (0, 0)  # files analyzed and to analyze in the running pass
    large: bool = False  # the last full pass left the files nobody asked for
    want: set[str] = field(default_factory=set)
    missing: int = 0
    applying: int = 0  # paths the running pass took from `todo` and has not applied yet
    created: set[str] = field(default_factory=set)  # of `todo`, those new to the workspace

    @property
    def queued(self) -> int:
        """Paths changed and not applied yet, waiting or in the running pass."""
        return len(self.todo) + self.applying

    def settled(self, config: Config) -> bool:
        """Nothing is queued and the index follows `config` (the workspace's settings)."""
        return not self.todo and not self.full and config == self.config

    def touch(self, paths: Iterable[str]) -> None:
        """Queue paths for the update task."""
        self.todo.update(paths)
        self.caught_up.clear()
        self.wake.set()

    def ask(self, prefixes: Iterable[str]) -> bool:
        """Have the files under `prefixes` analyzed (a large workspace); True when that takes
        a pass."""
        new = set(prefixes) - self.want
        if not new or not self.missing:
            return False
        self.want |= new
        self.full = True
        self.touch(())
        return True


@dataclass
class Similarity:
    pool: AnalysisPool = field(default_factory=AnalysisPool)
    workspaces: dict[str, WorkspaceClones] = field(default_factory=dict)


SIMILARITY = StateKey("similarity", Similarity)


def get(daemon: Daemon) -> Similarity:
    return daemon.state[SIMILARITY]


def opened(daemon: Daemon, ws: Workspace) -> None:
    state = WorkspaceClones(config_of(ws))
    get(daemon).workspaces[ws.id] = state
    ws.tasks.append(asyncio.create_task(_follow(daemon, ws, state), name=f"similarity-{ws.id}"))


def closed(daemon: Daemon, ws: Workspace) -> None:
    state = get(daemon).workspaces.pop(ws.id, None)
    if state is not None and state.index is not None:
        state.index.close()


def changed(daemon: Daemon, ws: Workspace, batch: ChangeBatch) -> None:
    state = get(daemon).workspaces.get(ws.id)
    if state is None:
        return
    if batch.source == "reconcile" and is_large(ws) and ws.live is not None and ws.live.first_seen:
        # A tree seen for the first time (its first index, or a late plugin's catch-up with
        # it) changes nothing: a full pass takes it in as a large workspace does, leaving
        # the files nobody asked for. What changed while the daemon was away is analyzed.
        state.full = True
        state.touch(())
        return
    state.created.update(p for p, kind in batch.changes.items() if kind == "created")
    state.touch(batch.changes)


async def caught_up(daemon: Daemon, ws: Workspace) -> tuple[WorkspaceClones, CloneIndex]:
    """The workspace's clones once every settled change (and settings change) is applied;
    UNAVAILABLE, with the progress so far, when that takes longer than WAIT_S."""
    state = get(daemon).workspaces.get(ws.id)
    if state is None:
        raise Unavailable("the workspace is closing", retry_after_ms=1000)
    if config_of(ws) != state.config:
        state.touch(())
    try:
        await asyncio.wait_for(state.caught_up.wait(), WAIT_S)
    except TimeoutError:
        done, total = state.progress
        raise Unavailable(
            f"the clone index is still being built ({done} of {total} files analyzed)",
            retry_after_ms=1000,
            analyzed=done,
            total=total,
        ) from None
    assert state.index is not None  # caught up only once opened
    return state, state.index


async def _follow(daemon: Daemon, ws: Workspace, state: WorkspaceClones) -> None:
    loop = asyncio.get_running_loop()
    index = await _made_in_thread(lambda: _opened_index(daemon, ws, state.config, loop))
    if get(daemon).workspaces.get(ws.id) is not state:  # closed while the index opened
        index.close()
        return
    state.index = index
    state.version += 1
    if ws.live is not None:
        await ws.live.ready.wait()
    while True:
        if state.settled(config_of(ws)):
            state.caught_up.set()
            await state.wake.wait()
            state.wake.clear()
            continue
        try:
            await _pass(daemon, ws, state, state.index)
        except Exception:  # the store or the pool failed: try again, comparing everything
            logger.exception("similarity {}: update failed; retrying", ws.id)
            state.full = True
            await asyncio.sleep(RETRY_S)
            continue
        state.ready = True


async def _made_in_thread(make: Callable[[], CloneIndex]) -> CloneIndex:
    """`make()` in a worker thread; cancelled before it returns (the workspace closed, the
    daemon stopping), the index it makes is closed then rather than left with open readers."""
    future = asyncio.get_running_loop().run_in_executor(None, make)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        future.add_done_callback(_close_unclaimed)
        raise


def _close_unclaimed(future: asyncio.Future[CloneIndex]) -> None:
    if not future.cancelled() and future.exception() is None:
        future.result().close()


def _opened_index(
    daemon: Daemon, ws: Workspace, config: Config, loop: asyncio.AbstractEventLoop
) -> CloneIndex:
    writer = StoreWriter(daemon.store, loop)
    return CloneIndex(
        IndexDb(daemon.store.path, writer),
        ws.id,
        max_postings=config.max_postings,
        tokens=daemon.memory.cache("similarity.tokens", OWNER),
        lines=daemon.memory.cache("similarity.lines", OWNER),
    )


def _wanted(path: str, want: set[str]) -> bool:
    return "" in want or path in want or any(path.startswith(p.rstrip("/") + "/") for p in want)


async def _pass(daemon: Daemon, ws: Workspace, state: WorkspaceClones, index: CloneIndex) -> None:
    """Apply the settings, then bring the queued paths (or all, after `full`) in line with the
    workspace's known files, hash by hash."""
    config = config_of(ws)
    if config != state.config:
        if config.max_postings != state.config.max_postings:
            async with state.lock:
                await background(index.set_max_postings, config.max_postings)
            state.version += 1
        state.full |= config.languages != state.config.languages
        state.config = config
    known = ws.live.known if ws.live is not None else {}
    full, todo, created = state.full, state.todo, state.created
    state.todo, state.full, state.created = set(), False, set()
    state.applying = max(1, len(todo))
    try:
        await _plan(daemon, ws, state, index, config, known, full, todo, created)
    finally:
        state.applying = 0


async def _plan(
    daemon: Daemon,
    ws: Workspace,
    state: WorkspaceClones,
    index: CloneIndex,
    config: Config,
    known: Mapping[str, FileStat],
    full: bool,
    todo: set[str],
    created: set[str],
) -> None:
    """Compare `todo` (or every path, when `full`) with what the index holds, and analyze
    what differs; `created` are the paths of `todo` new to the workspace."""
    large = is_large(ws) and "" not in state.want
    held = await background(index.states, None if full else sorted(todo), config.languages)
    paths = set(known) | set(held) if full else todo
    if not state.ready:  # what a restart found usable in the store
        state.loaded = sum(1 for s in held.values() if s.indexed and s.usable)
    analyze: list[tuple[str, str]] = []
    removed: list[str] = []
    missing = 0
    for path in sorted(paths):
        stat, language, stored = known.get(path), language_for(path), held.get(path)
        if stat is None or language not in config.languages:
            if stored is not None:
                removed.append(path)
        elif stored is None or stored.digest != stat[2] or not stored.usable:
            # A large workspace leaves the files never analyzed that nobody changed or asked for.
            fresh = stored is None and path not in todo
            if large and full and fresh and not _wanted(path, state.want):
                missing += 1
                continue
            analyze.append((path, language))
    if full:
        state.missing, state.large = missing, large
    else:  # files known before and never analyzed, now analyzed or deleted
        languages = config.languages
        seen = sum(1 for p in todo if p not in held and p not in created and language_for(p) in languages)  # fmt: skip
        state.missing = max(0, state.missing - seen)
    if not analyze and not removed:
        return
    state.applying = len(analyze) + len(removed)
    await _analyze(daemon, ws, state, index, analyze, removed, full)


async def _analyze(
    daemon: Daemon,
    ws: Workspace,
    state: WorkspaceClones,
    index: CloneIndex,
    analyze: list[tuple[str, str]],
    removed: list[str],
    full: bool,
) -> None:
    state.progress = (0, len(analyze))
    large = len(analyze) >= PROGRESS_MIN
    pool = get(daemon).pool
    progress = _reporter(daemon, ws, state) if full or large else None
    # A large batch is background work; an edit's few files are someone waiting.
    apply = background if large else asyncio.to_thread
    if removed:
        async with state.lock:
            await apply(index.apply, [], removed)
    # Each chunk is stored as it comes, while the workers analyze the next ones.
    limit = ws.settings.max_file_bytes
    chunks = pool.stream(ws.root, analyze, index.k, index.window, progress, limit)
    pending: list[store.Stored] = []
    gone: list[str] = []
    async with aclosing(chunks):
        async for chunk in chunks:
            state.analyzed += len(chunk)
            pending += [_stored(a) for a in chunk if a.digest is not None]
            gone += [a.path for a in chunk if a.digest is None]
            if len(pending) >= SAVE_BATCH or not large:
                async with state.lock:
                    await apply(index.apply, pending, gone)
                pending, gone = [], []
    if pending or gone:
        async with state.lock:
            await apply(index.apply, pending, gone)
    if large and not state.large:  # matched while the workers are up (not when unasked)
        async with state.lock:
            await _prepare(daemon, ws, index, pool)
    state.version += 1
    state.ready = True
    logger.debug("similarity {}: {} files analyzed, {} removed", ws.id, len(analyze), len(removed))


def _stored(a: Analyzed) -> store.Stored:
    return store.Stored(a.path, a.digest or "", a.tokens, a.fingerprints)


async def _prepare(daemon: Daemon, ws: Workspace, index: CloneIndex, pool: AnalysisPool) -> None:
    """After a large batch, match the changed pairs for the default report in the workers
    while they are up, rather than in one thread on the first query (which does it when this
    fails)."""
    s = settings_of(ws)
    params = CloneParams(s.min_tokens, s.min_similarity, s.max_gap)
    try:
        async with pool.hold():
            await background(index.prepare, params, pool.matcher(daemon.store.path))
    except Exception:  # only the first report gets slower
        logger.opt(exception=True).warning("similarity {}: matching in workers failed", ws.id)


def _reporter(daemon: Daemon, ws: Workspace, state: WorkspaceClones) -> Callable[[int, int], None]:
    """Progress notifications of one pass, and the numbers UNAVAILABLE answers quote."""
    token = f"similarity-{ws.id}-{ws.clock}"

    def report(done: int, total: int) -> None:
        state.progress = (done, total)
        daemon.events.publish(
            "progress",
            {"token": token, "title": f"finding clones in {ws.name}", "done": done, "total": total},
            workspace=ws.id,
        )

    return report
