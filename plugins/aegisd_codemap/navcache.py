"""What navigation keeps across requests, under the memory budget, never stale.

- Each file's namespace (`navresolve._Names`), keyed by workspace, path and the content hash
  it was built for: an edit changes the key. Files missing from memory are read from the store
  together, their symbols as plain rows (`store.read_symbol_rows`: a few times cheaper than
  whole extracts, which hold docstrings, decorators and metrics resolution never reads).
- The bindings resolved so far, keyed by the index's version: what `a.py`'s `from b import x`
  stands for depends on `b.py` (and on what `b.py` imports), so any applied change or removed
  file (each bumps `WorkspaceIndex.version`) starts an empty memo rather than guessing which
  resolutions went through the changed files.

- Where the workspace's modules are (`resolve.ModuleIndex`), until a path comes or goes.

All live in the index's `whole` cache (`codemap.whole`), dropped with the workspace. Once a
workspace is loaded, `warm_up` reads every Python file's namespace ahead in the bulk lane
(unless the workspace is large: `full_pass_max_files`), and once ready what its first sync
changed: a first question about a popular name does not wait for hundreds of files.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from loguru import logger

from aegisd.threads import background, step_aside
from aegisd_codemap import store
from aegisd_codemap.index import WorkspaceIndex
from aegisd_codemap.navresolve import Value, _Names, _names
from aegisd_codemap.resolve import ModuleIndex

#: resolved bindings kept for one version of an index at most (then a fresh memo)
MAX_RESOLVED = 200_000
_RESOLVED_BYTES = 240  # about one memo entry: its key, a list and a Value or two
WARM_CHUNK = 200  # files read ahead per store query (their outlines; symbols a file at a time)
#: reading ahead stops when the caches hold this share of what they may hold
WARM_FILL = 0.8


def _key(index: WorkspaceIndex, path: str, digest: str) -> tuple[str, str, str]:
    return (index.ws_id, path, f"ns:{digest}")


def namespaces(index: WorkspaceIndex, paths: Iterable[str]) -> dict[str, _Names | None]:
    """The namespaces of ``paths`` (None: not an indexed file): from the cache, from the
    extracts memory holds, else read from the store in one go."""
    found: dict[str, _Names | None] = {}
    missing: list[str] = []
    for path in paths:
        known = index.facts.get(path)
        if known is None:
            found[path] = None
            continue
        key = _key(index, path, known.hash)
        names: _Names | None = index.whole.get(key)
        if names is None:
            extract = index.peek(path)
            if extract is None:
                missing.append(path)
                continue
            names = _names(extract)
            index.whole.put(key, names, names.size())
        found[path] = names
    if missing:
        with index.readers.borrow() as db:
            for digest, extract, symbols in store.read_symbol_rows(
                db.execute, index.ws_id, missing
            ):
                names = _names(extract, symbols)
                found[extract.path] = names
                known = index.facts.get(extract.path)
                if known is not None and known.hash == digest:  # else written since: not kept
                    index.whole.put(_key(index, extract.path, digest), names, names.size())
                # A file at a time: a request does not wait behind a read-ahead's chunk
                # (it held the GIL for its 200 files, a request getting a share of it).
                step_aside()
        for path in missing:
            found.setdefault(path, None)
    return found


def resolved(index: WorkspaceIndex) -> dict[tuple[str, str], list[Value]]:
    """The memo of resolved bindings for the index as it is now (shared by its requests;
    re-charged to the budget at each request as it grows)."""
    key = (index.ws_id, "*", "resolved")
    version = index.version
    entry: tuple[int, dict[tuple[str, str], list[Value]]] | None = index.whole.get(key)
    if entry is None or entry[0] != version or len(entry[1]) > MAX_RESOLVED:
        entry = (version, {})
    index.whole.put(key, entry, 200 + _RESOLVED_BYTES * len(entry[1]))
    return entry[1]


def module_index(index: WorkspaceIndex) -> ModuleIndex:
    """Where the workspace's modules are, kept in the budgeted cache until a path comes or
    goes."""
    key = (index.ws_id, "*", f"modules:{index.layout}:{index.package}")
    found: ModuleIndex | None = index.whole.get(key)
    if found is None:
        paths = list(index.facts)
        found = ModuleIndex(paths, index.package)
        index.whole.put(key, found, 200 * len(paths))
    return found


def warm(index: WorkspaceIndex) -> int:
    """Read every Python file's namespace and the module index into the cache, while it has
    room (blocking: the bulk lane, stepping aside for requests a file at a time); how many
    files were read."""
    module_index(index)
    paths = [p for p, known in list(index.facts.items()) if known.language == "python"]
    read = 0
    for at in range(0, len(paths), WARM_CHUNK):
        if index.whole.fill > WARM_FILL:
            break  # the caches are full: what is read now only evicts what was read before
        step_aside()
        chunk = paths[at : at + WARM_CHUNK]
        missing = [p for p in chunk if (known := index.facts.get(p)) is not None
                   and _key(index, p, known.hash) not in index.whole]  # fmt: skip
        read += len(missing)
        namespaces(index, missing)
    return read


async def warm_up(
    index: Callable[[], WorkspaceIndex], ready: asyncio.Event, large: Callable[[], bool]
) -> None:
    """`warm` as background jobs: the stored index as loaded (while the first sync runs), then
    what that sync changed once the index is ready; neither once the workspace is `large` (a
    first index of 50k files read 200 MiB of namespaces nobody asked for). A failure only
    leaves the cache cold."""
    try:
        read = 0 if large() else await background(warm, index())
        await ready.wait()
        read += 0 if large() else await background(warm, index())
    except Exception as exc:
        logger.opt(exception=exc).warning(
            "codemap {}: reading namespaces ahead failed", index().ws_id
        )
    else:
        logger.debug("codemap {}: {} namespaces read ahead", index().ws_id, read)
