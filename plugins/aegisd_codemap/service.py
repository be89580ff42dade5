"""The code map's per-daemon state and how it follows the workspace.

On open it loads what is stored, waits until the workspace's known file state mirrors the
disk, then parses exactly the files whose content hash differs from what it indexed (so a
restart parses nothing that did not change). Each change batch re-parses only changed files.

Until the first index is complete, answers never deny what is on disk (`answerable`,
`parse_now`, `settled_absence`): a request waits a bounded time for an index built from
nothing, a file it names is parsed on demand, and what is still missing is `pending`, not
NOT_FOUND.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger

from aegisd.budget import BudgetedCache
from aegisd.daemon import StateKey
from aegisd.rpc.errors import NotFound, Unavailable
from aegisd.threads import background, interactive
from aegisd_codemap import cprojmacros, navcache, saving, store
from aegisd_codemap.dialect import headers_to_redecide
from aegisd_codemap.index import WorkspaceIndex
from aegisd_codemap.model import FileExtract
from aegisd_codemap.namesearch import Names
from aegisd_codemap.parsing import ParserPool, indexable, parse_chunk
from aegisd_codemap.readers import Readers
from aegisd_codemap.resolve import root_package

if TYPE_CHECKING:
    from aegisd.daemon import Daemon
    from aegisd.workspace import ChangeBatch, Workspace

CACHE_NAMESPACE = "codemap"
#: how long a request waits for a first index built from nothing before answering `pending`
#: (the similarity methods wait as long for their index)
FIRST_INDEX_WAIT_S = 10.0
LOAD_RETRY_S = 30.0  # at most between attempts to read a workspace's index from the store


@dataclass
class Codemap:
    readers: Readers
    files_cache: BudgetedCache[tuple[str, str, str], FileExtract]
    whole_cache: BudgetedCache[tuple[str, str, str], Any]
    names_cache: BudgetedCache[str, Names]
    pool: ParserPool = field(default_factory=ParserPool)
    indexes: dict[str, WorkspaceIndex] = field(default_factory=dict)
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    ready: dict[str, asyncio.Event] = field(default_factory=dict)
    #: set once the stored index is in memory (it may be empty: a first index)
    loaded: dict[str, asyncio.Event] = field(default_factory=dict)
    #: set once the workspace's file state has been compared with the disk (its first batch
    #: arrived, or it had nothing to report): files missing from it then are not there
    files_known: dict[str, asyncio.Event] = field(default_factory=dict)
    #: per workspace, the last store write queued: each waits for the one before
    saving: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    #: per workspace, the Python package name of its root (`resolve.root_package`)
    packages: dict[str, str] = field(default_factory=dict)
    #: per workspace, its root directory
    roots: dict[str, Path] = field(default_factory=dict)
    #: per workspace, set when a store write ends (`saving.keep_up` waits for it)
    saved: dict[str, asyncio.Event] = field(default_factory=dict)
    #: workspaces closing: their large stores stop between chunks (`_save`)
    closing: set[str] = field(default_factory=set)
    #: the trigram index's catch-up after a workspace's large batch (`_catch_up`)
    catching: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    #: every name being read into memory (`want_names`)
    reading_names: asyncio.Task[None] | None = None

    def index(self, ws_id: str) -> WorkspaceIndex:
        index = self.indexes.get(ws_id)
        if index is None:
            index = self.indexes[ws_id] = self.new_index(ws_id)
        return index

    def new_index(self, ws_id: str) -> WorkspaceIndex:
        """An empty index for the workspace."""
        return WorkspaceIndex(
            ws_id,
            self.readers,
            self.files_cache,
            self.whole_cache,
            self.names_cache,
            package=self.packages.get(ws_id),
            root=self.roots.get(ws_id),
        )

    def forget_cached(self, ws_id: str) -> None:
        self.files_cache.discard_where(lambda key: key[0] == ws_id)
        self.whole_cache.discard_where(lambda key: key[0] == ws_id)


def create(daemon: Daemon) -> Codemap:
    """The plugin's state: reads through connections of its own, extracts cached under the
    daemon's memory budget."""
    return Codemap(
        readers=Readers(daemon.store.path),
        files_cache=daemon.memory.cache("codemap.files", "codemap"),
        whole_cache=daemon.memory.cache("codemap.whole", "codemap"),
        names_cache=daemon.memory.cache("codemap.names", "codemap"),
    )


CODEMAP = StateKey("codemap", Codemap)


def get(daemon: Daemon) -> Codemap:
    return daemon.state[CODEMAP]


def is_ready(daemon: Daemon, ws_id: str) -> bool:
    """True once the workspace's index is loaded and in line with the disk."""
    event = get(daemon).ready.get(ws_id)
    return event is not None and event.is_set()


async def opened(daemon: Daemon, ws: Workspace) -> None:
    codemap = get(daemon)
    codemap.packages[ws.id] = await asyncio.to_thread(root_package, ws.root)
    codemap.roots[ws.id] = ws.root
    codemap.locks[ws.id] = asyncio.Lock()
    codemap.ready[ws.id] = asyncio.Event()
    codemap.loaded[ws.id] = asyncio.Event()
    codemap.files_known[ws.id] = asyncio.Event()
    ws.tasks.append(asyncio.create_task(_load_and_sync(daemon, ws), name=f"codemap-{ws.id}"))


async def _load_and_sync(daemon: Daemon, ws: Workspace) -> None:
    codemap = get(daemon)
    index = await _loaded(daemon, ws)
    want_names(daemon, index)  # a warm start's searches find names in memory soon
    if len(index.facts) <= ws.settings.full_pass_max_files:
        ready, now = codemap.ready[ws.id], lambda: codemap.index(ws.id)
        ws.track(asyncio.create_task(navcache.warm_up(now, ready, lambda: ws.large)))
    if ws.live is not None:
        await ws.live.ready.wait()
    codemap.files_known[ws.id].set()
    await sync(daemon, ws, title="indexing")
    codemap.ready[ws.id].set()
    want_names(daemon, codemap.index(ws.id))  # after a first index: before its first search


async def _loaded(daemon: Daemon, ws: Workspace) -> WorkspaceIndex:
    """The index as the store holds it; while the store cannot be read (deleted, corrupt,
    the disk failing), tried again and again, LOAD_RETRY_S apart at most: the workspace's
    answers stay `pending` meanwhile, never an empty index presented as complete."""
    codemap = get(daemon)
    delay = 0.5
    while True:
        async with codemap.locks[ws.id]:
            try:
                # Only each file's facts: symbols are searched and read in the store. Answers
                # wait for them: not in the bulk lane, which steps aside while they wait.
                facts = await interactive(_stored_facts, codemap.readers, ws.id)
                macros = await interactive(_stored_macros, codemap.readers, ws.id)
            except (sqlite3.Error, OSError) as exc:
                logger.warning(
                    "codemap {}: reading the store failed ({}); trying again in {:.0f} s",
                    ws.id, exc, delay,
                )  # fmt: skip
            else:
                index = codemap.new_index(ws.id)
                index.load(facts)
                index.macros = macros
                codemap.indexes[ws.id] = index
                codemap.loaded[ws.id].set()
                logger.info("codemap {}: loaded {} files from the store", ws.id, len(facts))
                return index
        await asyncio.sleep(delay)
        delay = min(delay * 2, LOAD_RETRY_S)


def want_names(daemon: Daemon, index: WorkspaceIndex) -> None:
    """Read every name into memory in the background unless it is there or being read
    (searches meanwhile use the trigram index)."""
    codemap = get(daemon)
    if not index.names_missing or (codemap.reading_names and not codemap.reading_names.done()):
        return
    codemap.reading_names = asyncio.create_task(_read_names(index), name="codemap-names")


async def _read_names(index: WorkspaceIndex) -> None:
    try:
        await background(index.read_names)
    except Exception as exc:  # the searches go on without them
        logger.opt(exception=exc).warning("codemap: reading the names failed")


async def answerable(daemon: Daemon, ws: Workspace) -> WorkspaceIndex:
    """The workspace's index once it can answer: at once when it is complete, or loaded from
    the store with files in it (answers are `pending` until it is in line with the disk);
    while a first index is built from nothing, once that is done, waiting FIRST_INDEX_WAIT_S
    at most (then the answer is the index as it is, `pending`)."""
    codemap = get(daemon)
    ready, loaded = codemap.ready.get(ws.id), codemap.loaded.get(ws.id)
    if ready is not None and loaded is not None and not ready.is_set():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FIRST_INDEX_WAIT_S):
                await loaded.wait()
                if not codemap.index(ws.id).facts:
                    await ready.wait()
    return codemap.index(ws.id)


def coming(ws: Workspace, rel: str) -> bool:
    """Whether the index will hold `rel` once it is in line with the disk (a file the
    workspace knows, in an indexed language)."""
    return indexable(rel) and ws.live is not None and rel in ws.live.known


async def known_file(daemon: Daemon, ws: Workspace, rel: str) -> bool:
    """`coming(ws, rel)`, waiting (FIRST_INDEX_WAIT_S at most) while the workspace's file
    state is compared with the disk for the first time."""
    known = get(daemon).files_known.get(ws.id)
    if not coming(ws, rel) and known is not None and not known.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(known.wait(), FIRST_INDEX_WAIT_S)
    return coming(ws, rel)


def settled_absence(daemon: Daemon, ws: Workspace, rel: str, what: str) -> NotFound | Unavailable:
    """The error for `rel` missing from the index: NOT_FOUND once the index is complete, or
    the file state is and lacks the file; else UNAVAILABLE (the first index runs and the file
    may yet turn up). Never NOT_FOUND for a file about to be indexed."""
    known = get(daemon).files_known.get(ws.id)
    files_known = known is None or known.is_set()
    if is_ready(daemon, ws.id) or (files_known and not coming(ws, rel)):
        return NotFound(f"{what}: {rel}", path=rel)
    return Unavailable(
        f"the workspace is still being indexed, {rel} may yet be found",
        retry_after_ms=1000,
        path=rel,
    )


async def parse_now(daemon: Daemon, ws: Workspace, rel: str) -> FileExtract | None:
    """`rel` parsed on demand, while the index does not hold it yet (a first index running):
    None when the workspace does not know it (`known_file`), or it cannot be read."""
    if not await known_file(daemon, ws, rel):
        return None
    key = ("parsed-now", rel)
    found: FileExtract | None = daemon.cache.get(CACHE_NAMESPACE, ws.id, key)
    if found is None:
        settings = ws.settings
        [(_, digest, found)] = await interactive(
            parse_chunk, str(ws.root), [rel], settings.include_docstrings, settings.max_file_bytes
        )
        if digest is None or found is None:
            return None
        daemon.cache.put(CACHE_NAMESPACE, ws.id, key, found, paths=(rel,))
    return found


def _stored_facts(readers: Readers, ws_id: str) -> dict[str, store.Facts]:
    with readers.borrow() as db:
        return store.load_facts(db.execute, ws_id)


def _stored_macros(readers: Readers, ws_id: str) -> cprojmacros.ProjectMacros:
    with readers.borrow() as db:
        return cprojmacros.load(db.execute, ws_id)


async def sync(daemon: Daemon, ws: Workspace, title: str) -> None:
    """Bring the index in line with the workspace's known files (hash by hash)."""
    codemap = get(daemon)
    index = codemap.index(ws.id)
    known = ws.live.known if ws.live is not None else {}
    facts = index.facts
    parse = sorted(
        p for p, st in known.items() if indexable(p) and (p not in facts or facts[p].hash != st[2])
    )
    remove = [p for p in facts if p not in known]
    new = [p for p in parse if p not in facts]
    parse += [h for h in headers_to_redecide(new + remove, facts) if h in known and h not in parse]
    await update(daemon, ws, parse, remove, title=title, clock=ws.clock)
    index.counters.last_full_scan = datetime.now(UTC).isoformat(timespec="seconds")


async def changed(daemon: Daemon, ws: Workspace, batch: ChangeBatch) -> None:
    known = get(daemon).files_known.get(ws.id)
    if known is not None:
        known.set()  # the file state is committed before its batch goes out
    parse = [p for p, kind in batch.changes.items() if kind != "deleted" and indexable(p)]
    remove = [p for p, kind in batch.changes.items() if kind == "deleted"]
    came_or_went = [p for p, kind in batch.changes.items() if kind != "modified"]
    index = get(daemon).indexes.get(ws.id)
    facts = index.facts if index is not None else {}
    parse += [h for h in headers_to_redecide(came_or_went, facts) if h not in batch.changes]
    await update(daemon, ws, parse, remove, title="re-indexing", clock=batch.clock)


async def update(
    daemon: Daemon,
    ws: Workspace,
    parse: list[str],
    remove: list[str],
    *,
    title: str,
    clock: int,
) -> None:
    codemap = get(daemon)
    lock = codemap.locks.get(ws.id)
    if lock is None:
        return  # closed meanwhile
    async with lock:
        index = codemap.index(ws.id)
        token = f"codemap-{ws.id}-{clock}"

        def report(done: int, total: int) -> None:
            daemon.events.publish(
                "progress",
                {"token": token, "title": f"{title} {ws.name}", "done": done, "total": total},
                workspace=ws.id,
            )

        gone = [p for p in remove if index.remove(p)]
        paths = list(gone)
        updates: list[tuple[FileExtract, str, bool]] = []

        async def parse_group(group: list[str], offset: int) -> None:
            nonlocal updates, gone
            stream = codemap.pool.stream(
                ws.root,
                group,
                ws.settings.include_docstrings,
                (lambda n, _: report(offset + n, max(len(parse), offset + n)))
                if len(parse) > 50
                else None,
                max_bytes=ws.settings.max_file_bytes,
                macros=index.macros.current(),
            )
            async for parsed in stream:
                for path, digest, extract in parsed:
                    if digest is None or extract is None:
                        if index.remove(path):
                            gone.append(path)
                            paths.append(path)
                        continue
                    previous = None
                    if index.needs_previous(extract):
                        previous = await interactive(index.read, path)
                    kept, stale = index.apply(extract, digest, previous)
                    updates.append((kept, digest, stale))
                    paths.append(path)
                if len(updates) + len(gone) >= saving.SAVE_CHUNK_FILES:
                    # A large batch is stored as it goes: what is parsed is not held until
                    # the end.
                    saving.persist(codemap, daemon, index, updates, gone)
                    updates, gone = [], []
                    await saving.keep_up(codemap, index)  # the store keeps up with the parsers
                await asyncio.sleep(0)  # other requests get the loop between chunks

        # Headers first, so that sources get their macros (`cprojmacros`); then, once, the
        # files recovered with a set other than the one the batch ends with.
        offset = 0
        for group in cprojmacros.headers_first(parse):
            await parse_group(group, offset)
            offset += len(group)
        if stale := index.macros.stale():
            # a file is stored once per write
            saving.persist(codemap, daemon, index, updates, gone)
            updates, gone = [], []
            await parse_group(stale, offset)
        # After a large batch (a first index, a checkout), the names' trigram index is caught
        # up once, in bulk.
        catch_up = len(parse) > saving.URGENT_SAVE_FILES
        saving.persist(codemap, daemon, index, updates, gone, catch_up=catch_up)
        if not paths:
            return
        daemon.cache.invalidate_paths(ws.id, sorted(paths))
        daemon.events.publish(
            "index.updated",
            {"workspace": ws.id, "clock": clock, "paths": sorted(paths)},
            workspace=ws.id,
            clock=clock,
        )


async def flush(daemon: Daemon, ws_id: str) -> None:
    """Wait until every update of the workspace is stored."""
    await saving.flush(get(daemon), ws_id)


async def rebuild(daemon: Daemon, ws: Workspace) -> None:
    codemap = get(daemon)
    async with codemap.locks[ws.id]:
        await saving.flush(codemap, ws.id)
        await daemon.store.run(store.clear, daemon.store.db, ws.id)
        codemap.indexes[ws.id] = codemap.new_index(ws.id)
    codemap.forget_cached(ws.id)
    daemon.cache.invalidate_workspace(ws.id, CACHE_NAMESPACE)
    await sync(daemon, ws, title="rebuilding")


async def closed(daemon: Daemon, ws: Workspace) -> None:
    codemap = get(daemon)
    codemap.indexes.pop(ws.id, None)
    codemap.locks.pop(ws.id, None)
    codemap.ready.pop(ws.id, None)
    codemap.loaded.pop(ws.id, None)
    codemap.files_known.pop(ws.id, None)
    codemap.packages.pop(ws.id, None)
    # An edit's store finishes; a first index's thousands of files stop at the next chunk
    # (their hashes are not stored, so the next open parses them again).
    codemap.closing.add(ws.id)
    catching = codemap.catching.pop(ws.id, None)
    if catching is not None:
        catching.cancel()
    try:
        await saving.flush(codemap, ws.id)
    finally:
        codemap.closing.discard(ws.id)
    codemap.saving.pop(ws.id, None)
    codemap.saved.pop(ws.id, None)
    codemap.forget_cached(ws.id)
