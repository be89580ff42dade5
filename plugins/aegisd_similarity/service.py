"""The similarity plugin's per-daemon state and how each workspace's clone index follows it.

One task per workspace owns every update. On open it rebuilds the index from the stored rows
(nothing is tokenized), waits until the workspace's known file state mirrors the disk, then
analyzes exactly the files whose content hash differs from what it indexed. A change batch only
queues its paths (the hook returns at once); the task analyzes them in the process pool and
applies them, chunk by chunk as the workers finish; after a large batch it has the workers match
the default report's pairs too. Queries wait until the task has caught up, so no answer misses
a change the workspace has already settled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from loguru import logger

from aegisd.daemon import StateKey
from aegisd.rpc.errors import Unavailable
from aegisd.threads import background, step_aside
from aegisd_similarity import store
from aegisd_similarity.index import CloneIndex
from aegisd_similarity.match import CloneParams
from aegisd_similarity.pool import AnalysisPool, Analyzed
from aegisd_similarity.settings import SimilaritySettings
from aegisd_similarity.tokens import language_for, valid_lexers

if TYPE_CHECKING:
    from aegisd.daemon import Daemon
    from aegisd.workspace import ChangeBatch, Workspace

CACHE_NAMESPACE = "similarity"
WAIT_S = 10.0  # how long a query waits for the index to catch up before UNAVAILABLE
LOAD_PAGE = 500  # stored files per DB call on start
SAVE_BATCH = 200  # analyzed files per DB transaction
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


@dataclass(eq=False)
class WorkspaceClones:
    """One workspace's clone index and what its update task knows.

    `lock` guards `index` (it is not thread-safe): hold it around every use, which may then
    run in a thread. `hashes` has the content hash of every analyzed path, indexed or skipped.
    """

    config: Config
    index: CloneIndex
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    hashes: dict[str, str] = field(default_factory=dict)
    todo: set[str] = field(default_factory=set)
    full: bool = True  # the next pass compares every known path
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    caught_up: asyncio.Event = field(default_factory=asyncio.Event)
    ready: bool = False  # the first full pass is done
    analyzed: int = 0  # files analyzed by this daemon instance
    loaded: int = 0  # files indexed from the store at start
    version: int = 0  # bumped whenever the index changes
    progress: tuple[int, int] = (0, 0)  # files analyzed and to analyze in the running pass

    def settled(self, config: Config) -> bool:
        """Nothing is queued and the index follows `config` (the workspace's settings)."""
        return not self.todo and not self.full and config == self.config

    def touch(self, paths: Iterable[str]) -> None:
        """Queue paths for the update task."""
        self.todo.update(paths)
        self.caught_up.clear()
        self.wake.set()


@dataclass
class Similarity:
    pool: AnalysisPool = field(default_factory=AnalysisPool)
    workspaces: dict[str, WorkspaceClones] = field(default_factory=dict)


SIMILARITY = StateKey("similarity", Similarity)


def get(daemon: Daemon) -> Similarity:
    return daemon.state[SIMILARITY]


def opened(daemon: Daemon, ws: Workspace) -> None:
    config = config_of(ws)
    state = WorkspaceClones(config, CloneIndex(max_postings=config.max_postings))
    get(daemon).workspaces[ws.id] = state
    ws.tasks.append(asyncio.create_task(_follow(daemon, ws, state), name=f"similarity-{ws.id}"))


def closed(daemon: Daemon, ws: Workspace) -> None:
    get(daemon).workspaces.pop(ws.id, None)


def changed(daemon: Daemon, ws: Workspace, batch: ChangeBatch) -> None:
    state = get(daemon).workspaces.get(ws.id)
    if state is not None:
        state.touch(batch.changes)


async def caught_up(daemon: Daemon, ws: Workspace) -> WorkspaceClones:
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
    return state


async def _follow(daemon: Daemon, ws: Workspace, state: WorkspaceClones) -> None:
    await _load(daemon, ws, state)
    if ws.live is not None:
        await ws.live.ready.wait()
    while True:
        if state.settled(config_of(ws)):
            state.caught_up.set()
            await state.wake.wait()
            state.wake.clear()
            continue
        try:
            await _pass(daemon, ws, state)
        except Exception:  # the store or the pool failed: try again, comparing everything
            logger.exception("similarity {}: update failed; retrying", ws.id)
            state.full = True
            await asyncio.sleep(RETRY_S)
            continue
        state.ready = True


async def _load(daemon: Daemon, ws: Workspace, state: WorkspaceClones) -> None:
    """Index the stored files, page by page. Rows made with another k, window or lexer (see
    `tokens.lexer_of`), or of a language no longer enabled, are left for the first pass to
    analyze again or delete."""
    index, after, lexers = state.index, "", valid_lexers()
    while True:
        page = await daemon.store.run(store.load_page, daemon.store.db, ws.id, after, LOAD_PAGE)
        if not page:
            break
        after = page[-1].path
        indexed = [
            s
            for s in page
            if s.tokens is not None
            and s.fingerprints is not None
            and (s.fingerprints.k, s.fingerprints.window) == (index.k, index.window)
            and s.tokens.language in state.config.languages
            and s.tokens.lexer in lexers
        ]
        async with state.lock:
            await background(_add_stored, index, indexed)
        # Rows left out get an impossible hash: the first pass analyzes or deletes them.
        usable = {s.path for s in indexed}
        state.hashes.update(
            (s.path, s.digest if s.tokens is None or s.path in usable else "") for s in page
        )
        state.loaded += len(indexed)
    state.version += 1
    logger.info("similarity {}: loaded {} files from the store", ws.id, state.loaded)


def _add_stored(index: CloneIndex, stored: list[store.Stored]) -> None:
    for s in stored:
        step_aside()
        if s.tokens is not None:
            index.add_file(s.tokens, s.fingerprints)


async def _pass(daemon: Daemon, ws: Workspace, state: WorkspaceClones) -> None:
    """Apply the settings, then bring the queued paths (or all, after `full`) in line with the
    workspace's known files, hash by hash."""
    config = config_of(ws)
    if config != state.config:
        if config.max_postings != state.config.max_postings:
            async with state.lock:
                state.index = await asyncio.to_thread(_rebuilt, state.index, config.max_postings)
            state.version += 1
        state.full |= config.languages != state.config.languages
        state.config = config
    known = ws.live.known if ws.live is not None else {}
    full = state.full
    paths = set(known) | set(state.hashes) if full else state.todo
    state.todo, state.full = set(), False
    analyze: list[tuple[str, str]] = []
    removed: list[str] = []
    for path in sorted(paths):
        stat, language = known.get(path), language_for(path)
        if stat is None or language not in config.languages:
            if path in state.hashes:
                removed.append(path)
        elif state.hashes.get(path) != stat[2]:
            analyze.append((path, language))
    if not analyze and not removed:
        return
    state.progress = (0, len(analyze))
    large = len(analyze) >= PROGRESS_MIN
    pool, index = get(daemon).pool, state.index
    results: list[Analyzed] = []
    progress = _reporter(daemon, ws, state) if full or large else None
    # A large batch is background work; an edit's few files are someone waiting.
    apply = background if large else asyncio.to_thread
    if removed:
        async with state.lock:
            await apply(_apply, index, [], removed)
    # Each chunk is indexed as it comes, while the workers analyze the next ones.
    limit = ws.settings.max_file_bytes
    chunks = pool.stream(ws.root, analyze, index.k, index.window, progress, limit)
    async with aclosing(chunks):
        async for chunk in chunks:
            results += chunk
            async with state.lock:
                await apply(_apply, index, chunk, [])
    if large:
        async with state.lock:
            await _prepare(ws, index, pool)
    removed += [a.path for a in results if a.digest is None]
    for path in removed:
        state.hashes.pop(path, None)
    state.hashes.update((a.path, a.digest) for a in results if a.digest is not None)
    state.analyzed += len(results)
    state.version += 1
    state.ready = True  # the index is whole; storing it only saves work after a restart
    if state.settled(config_of(ws)):
        state.caught_up.set()  # queries need not wait for the store
    stored = [
        store.Stored(a.path, a.digest, a.tokens, a.fingerprints)
        for a in results
        if a.digest is not None
    ]
    for at in range(0, max(len(stored), len(removed)), SAVE_BATCH):
        part, gone = stored[at : at + SAVE_BATCH], removed[at : at + SAVE_BATCH]
        await daemon.store.run(store.save, daemon.store.db, ws.id, part, gone)
    logger.debug("similarity {}: {} files analyzed, {} removed", ws.id, len(results), len(removed))


async def _prepare(ws: Workspace, index: CloneIndex, pool: AnalysisPool) -> None:
    """After a large batch, match the changed pairs for the default report in the workers
    while they are up, rather than in one thread on the first query (which does it when this
    fails)."""
    s = settings_of(ws)
    params = CloneParams(s.min_tokens, s.min_similarity, s.max_gap)
    try:
        # Fresh workers: those that analyzed hold on to what reading took (some 30 MiB each).
        async with pool.hold():
            await background(index.prepare, params, pool.match)
    except Exception:  # only the first report gets slower
        logger.opt(exception=True).warning("similarity {}: matching in workers failed", ws.id)


def _rebuilt(index: CloneIndex, max_postings: int) -> CloneIndex:
    fresh = CloneIndex(index.k, index.window, max_postings)
    for tokens, prints in index.items():
        step_aside()
        fresh.add_file(tokens, prints)
    return fresh


def _apply(index: CloneIndex, results: list[Analyzed], removed: list[str]) -> None:
    for path in removed:
        index.remove_file(path)
    for a in results:
        step_aside()
        if a.tokens is None:  # unreadable, or read but not indexed: its earlier version goes
            index.remove_file(a.path)
        else:
            index.add_file(a.tokens, a.fingerprints)


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
