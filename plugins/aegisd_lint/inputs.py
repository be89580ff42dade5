"""What a lint run reads besides the results: the workspace's content hashes and the code
map's import graph, taken once the code map has caught up with the same change batch."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aegisd_codemap import service as codemap_service
from aegisd_codemap.graph import ImportGraphBuilder
from loguru import logger

from aegisd.safeio import content_hash
from aegisd_lint import model
from aegisd_lint.importmap import ImportMap

if TYPE_CHECKING:
    from aegisd.daemon import Daemon
    from aegisd.workspace import Workspace

#: runs a function in a thread: `asyncio.to_thread` or `threads.background`
OffLoop = Callable[..., Awaitable[Any]]

#: how long a run waits for the code map's first index before going on without import graph
CODEMAP_WAIT_S = 120.0
#: how long, and how often, it checks that the code map has caught up with a change batch
INDEX_LAG_S = 10.0
INDEX_POLL_S = 0.005


async def content_hashes(ws: Workspace) -> dict[str, str]:
    """Each known file's content hash; hashed here (in a thread) when the known state lacks it."""
    known = ws.live.known if ws.live is not None else {}
    hashes = {path: digest for path, (_, _, digest) in known.items() if digest}
    missing = [path for path in known if path not in hashes]
    if missing:
        limit = ws.settings.max_file_bytes
        hashes.update(await asyncio.to_thread(_hash_files, ws.root, missing, limit))
    return hashes


def known_hashes(ws: Workspace, paths: Iterable[str]) -> dict[str, str] | None:
    """The known content hash of each of `paths` that exists; None when one has none yet
    (`content_hashes` then hashes it)."""
    known = ws.live.known if ws.live is not None else {}
    found = {}
    for path in paths:
        state = known.get(path)
        if state is not None:
            if not state[2]:
                return None
            found[path] = state[2]
    return found


def _hash_files(root: Path, paths: list[str], limit: int) -> dict[str, str]:
    hashes = {}
    for path in paths:
        try:
            hashes[path] = content_hash(root, path, limit)
        except OSError:
            continue  # gone (or skipped) since it was seen: the next batch says so
    return hashes


async def import_graphs(
    daemon: Daemon,
    lw: model.WorkspaceLint,
    hashes: Mapping[str, str],
    off_loop: OffLoop = asyncio.to_thread,
) -> tuple[ImportMap | None, ImportMap | None]:
    """The code map's import graph now and at the previous pass; (None, None) without it.

    The code map reacts to the same change batches, in its own time: the graph is taken once
    its index has the contents in `hashes` (or a newer batch is already waiting). A changed
    graph is built through `off_loop` (`threads.background` for a pass nobody asked for)."""
    codemap = daemon.state.get(codemap_service.CODEMAP)
    if codemap is None:
        return None, None
    ready = codemap.ready.get(lw.ws.id)
    if ready is not None:
        try:
            await asyncio.wait_for(ready.wait(), CODEMAP_WAIT_S)
        except TimeoutError:
            logger.warning("lint {}: no code map index yet; assuming no import graph", lw.ws.id)
            return None, None
    index = codemap.indexes.get(lw.ws.id)
    deadline = time.monotonic() + INDEX_LAG_S
    while index is not None and _lagging(index.hashes, hashes) and not lw.changes:
        if time.monotonic() > deadline:
            logger.warning("lint {}: the code map lags the files; using its graph", lw.ws.id)
            break
        await asyncio.sleep(INDEX_POLL_S)
        index = codemap.indexes.get(lw.ws.id)
    if index is None:
        return None, None
    if lw.graph_version != index.version:
        graph = await off_loop(_import_map, index, hashes, lw.graph)
        lw.previous_graph, lw.graph, lw.graph_version = lw.graph, graph, index.version
    return lw.graph, lw.previous_graph


def _import_map(index: Any, hashes: Mapping[str, str], last: ImportMap | None) -> ImportMap:
    """The code map's import graph, kept as lint needs it: the outlines of the files changed
    since `last` read again when the same files are there, else every file's streamed from
    the store (never all held at once, nor cached: at 50k files they were ~200 MiB)."""
    current = dict(index.hashes)
    changed = last.changed(current) if last is not None else None
    if last is not None and changed == []:
        return last
    builder = ImportGraphBuilder(current, index.package)
    digests = dict.fromkeys(current, "") if changed is None else {}
    with closing(index.each_outline(changed)) as outlines:
        for path, digest, outline in outlines:
            builder.add(path, outline.imports)
            digests[path] = current[path] if current[path] == digest else digest
    if last is None or changed is None:
        return ImportMap.of(builder.graph, hashes, digests)
    return last.updated(builder.graph, digests)


def _lagging(indexed: Mapping[str, str], hashes: Mapping[str, str]) -> bool:
    """Whether the index still has a file that is gone or an older content of one."""
    return any(hashes.get(path) != digest for path, digest in indexed.items())
