"""Storing the code map's updates: behind earlier ones, in chunks for a large batch (a
closing workspace stops it at the next chunk), parsing held back while too many wait, and the
names' trigram index caught up after a large batch. The index answers from memory meanwhile.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from loguru import logger

from aegisd.threads import background
from aegisd_codemap import namestore, store
from aegisd_codemap.index import WorkspaceIndex
from aegisd_codemap.model import FileExtract

if TYPE_CHECKING:
    from aegisd.daemon import Daemon
    from aegisd_codemap.service import Codemap

URGENT_SAVE_FILES = 2  # an editor's save: stored ahead of bulk work
SAVE_CHUNK_FILES = 100  # files per transaction of a large batch (~30 ms on the stdlib)
#: parsed files waiting for the store past which parsing waits for it (bounds their memory)
MAX_UNSAVED_FILES = 1_000


def persist(
    codemap: Codemap,
    daemon: Daemon,
    index: WorkspaceIndex,
    updates: list[tuple[FileExtract, str, bool]],
    gone: list[str],
    *,
    catch_up: bool = False,
) -> None:
    """Store an update after it is answered from memory, in order behind earlier ones. Nothing
    waits for it but shutdown and `rebuild`; an update lost to a crash is parsed again at the
    next start, whose hash check finds the stored file out of date."""
    if not updates and not gone and not catch_up:
        return
    ws_id = index.ws_id
    codemap.saving[ws_id] = asyncio.create_task(
        _save_after(codemap.saving.get(ws_id), codemap, daemon, index, updates, gone, catch_up),
        name=f"codemap-save-{ws_id}",
    )


async def _save_after(
    previous: asyncio.Task[None] | None,
    codemap: Codemap,
    daemon: Daemon,
    index: WorkspaceIndex,
    updates: list[tuple[FileExtract, str, bool]],
    gone: list[str],
    catch_up: bool,
) -> None:
    if previous is not None:
        await asyncio.wait([previous])  # its failure is its own (logged there)
    ws_id = index.ws_id
    try:
        await _save(codemap, daemon, ws_id, updates, gone)
    except _Closing as closing:
        logger.info(
            "codemap {}: closing; {} parsed files not stored (parsed again at the next open)",
            ws_id, closing.left,
        )  # fmt: skip
    except Exception as exc:
        # Still answered from memory (`unsaved`); the next start parses them again.
        logger.opt(exception=exc).error("codemap {}: storing {} files failed", ws_id, len(updates))
    else:
        index.stored([u[0] for u in updates], gone)
        if catch_up:
            _start_catch_up(codemap, daemon, ws_id)
    finally:
        saved = codemap.saved.get(ws_id)
        if saved is not None:
            saved.set()  # for `keep_up`


async def keep_up(codemap: Codemap, index: WorkspaceIndex) -> None:
    """Past MAX_UNSAVED_FILES parsed files waiting for the store, wait until half of them
    are stored (not all: parsing goes on while the rest are written)."""
    saved = codemap.saved.setdefault(index.ws_id, asyncio.Event())
    if len(index.unsaved) <= MAX_UNSAVED_FILES:
        return
    while len(index.unsaved) > MAX_UNSAVED_FILES // 2:
        last = codemap.saving.get(index.ws_id)
        if last is None or last.done():
            return  # nothing is being stored: what is left failed (answered from memory)
        saved.clear()
        await saved.wait()


async def flush(codemap: Codemap, ws_id: str) -> None:
    """Wait until every update of the workspace is stored."""
    task = codemap.saving.get(ws_id)
    if task is not None:
        await asyncio.wait([task])


class _Closing(Exception):
    """A large store stopped because its workspace closes (within `close_timeout_s`)."""

    def __init__(self, left: int) -> None:
        super().__init__(f"{left} files not stored")
        self.left = left


async def _save(
    codemap: Codemap,
    daemon: Daemon,
    ws_id: str,
    updates: list[tuple[FileExtract, str, bool]],
    gone: list[str],
) -> None:
    """Store what changed: an edit's few files ahead of queued bulk work (their names
    indexed with them), a large batch in short transactions so that the watcher's and other
    edits' writes get in between (their names indexed by `_catch_up`, once per batch)."""
    db = daemon.store.db
    closing = codemap.closing
    if len(updates) + len(gone) <= URGENT_SAVE_FILES:
        if updates or gone:
            await daemon.store.urgent(store.save, db, ws_id, updates, gone)
    else:
        for at in range(0, max(len(updates), len(gone)), SAVE_CHUNK_FILES):
            if ws_id in closing:  # what is stored stays; each file is stored whole or not
                raise _Closing(max(0, len(updates) - at))
            end = at + SAVE_CHUNK_FILES
            # Rows are built in a bulk thread, stepping aside for requests: the DB thread
            # only writes them.
            prepared = await background(
                store.rows, ws_id, updates[at:end], gone[at:end], index_names=False
            )
            await daemon.store.run(store.write, db, prepared)


def _start_catch_up(codemap: Codemap, daemon: Daemon, ws_id: str) -> None:
    running = codemap.catching.get(ws_id)
    if ws_id in codemap.closing or (running is not None and not running.done()):
        return  # a running one goes on to the end
    codemap.catching[ws_id] = asyncio.create_task(
        _catch_up(codemap, daemon, ws_id), name=f"codemap-names-{ws_id}"
    )


async def _catch_up(codemap: Codemap, daemon: Daemon, ws_id: str) -> None:
    """Bring the trigram index up to the names table, a step at a time. Not part of storing
    and not waited for by a close, which cancels it: searches read the names past the index's
    mark without it, so a catch-up cut short costs only speed (a close used to wait for it
    behind other plugins' queued writes: at 50,000 files past the shutdown's limit)."""
    db = daemon.store.db
    try:
        while ws_id not in codemap.closing:
            if await daemon.store.run(namestore.catch_up, db) < namestore.BULK_CATCH_UP:
                return
    except Exception as exc:  # the store closing under it at shutdown, a full disk, ...
        logger.info("codemap {}: names' index catch-up stopped: {!r}", ws_id, exc)
