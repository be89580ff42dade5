"""Storing a pass's results and reading back what a plan needs, for `runs`.

The store holds every result; memory holds the tallies (`Results.apply` of what each write
did) and, in the daemon's memory budget, a hot set of cache keys (`lint.keys`: the files
edited lately, so an edit's plan needs no database read). The cache is written through on
every save and drop, so it never holds a key the store no longer has.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aegisd.budget import BudgetedCache
from aegisd_lint import model, store
from aegisd_lint.inputs import OffLoop
from aegisd_lint.state import Change, FileResult

if TYPE_CHECKING:
    from aegisd.daemon import Daemon

SAVE_CHUNK_ROWS = 200  # result rows per transaction when a pass is stored
#: bytes a cached key is counted for (tuple, path, key and the map's entry)
KEY_ENTRY_BYTES = 280
NO_RESULT = ""  # a cached key saying the file has no stored result of the tool


def key_cache(daemon: Daemon) -> BudgetedCache[tuple[str, str, str], str]:
    """(workspace, tool, path) -> the stored result's cache key, or `NO_RESULT`."""
    return daemon.memory.cache("lint.keys", "lint")


async def edited_keys(
    daemon: Daemon, ws_id: str, tool: str, paths: Sequence[str]
) -> dict[str, str]:
    """The stored keys of a few edited files: from the hot set when it has them all (no
    yielding to the loop), else read (ahead of bulk writes) and remembered."""
    cache = key_cache(daemon)
    found = {}
    for path in paths:
        key = cache.get((ws_id, tool, path))
        if key is None:
            break
        if key != NO_RESULT:
            found[path] = key
    else:
        return found
    found = await daemon.store.urgent(store.keys, daemon.store.db, ws_id, tool, list(paths))
    for path in paths:
        _remember(cache, ws_id, tool, path, found.get(path, NO_RESULT))
    return found


async def save(
    daemon: Daemon,
    lw: model.WorkspaceLint,
    tool: str,
    updates: Mapping[str, FileResult],
    removed: Sequence[str],
    off_loop: OffLoop,
) -> Change:
    """Store a tool's pass (results and outcome) and count it into the tallies; returns how
    many issues were new or fixed."""
    ws_id = lw.ws.id
    state = dataclasses.replace(lw.results.state(tool))
    state.unverified = set(state.unverified)  # the DB thread reads a copy
    db = daemon.store.db
    if len(updates) <= SAVE_CHUNK_ROWS:
        rows = store.result_rows(ws_id, tool, updates)
    else:
        rows = await off_loop(store.result_rows, ws_id, tool, updates)
    # A whole-workspace pass in short transactions, the outcome with the last one: a file
    # change's write (urgent) gets in between instead of waiting for all of it.
    change = Change()
    last = max(0, len(rows) - SAVE_CHUNK_ROWS)
    for at in range(0, last, SAVE_CHUNK_ROWS):
        chunk = rows[at : min(at + SAVE_CHUNK_ROWS, last)]
        delta = await daemon.store.run(store.save_rows, db, ws_id, tool, chunk, [], None)
        change += lw.results.apply(tool, delta)
    delta = await daemon.store.run(store.save_rows, db, ws_id, tool, rows[last:], removed, state)
    change += lw.results.apply(tool, delta)
    cache = key_cache(daemon)
    for path, result in updates.items():
        _remember(cache, ws_id, tool, path, result.key)
    _forget(cache, ws_id, tool, removed)
    lw.generation += 1
    return change


async def drop(daemon: Daemon, lw: model.WorkspaceLint, gone: Sequence[str]) -> Change:
    """Forget every tool's results of the files in `gone`."""
    ws_id = lw.ws.id
    dropped = await daemon.store.run(store.drop_paths, daemon.store.db, ws_id, gone)
    change = Change()
    cache = key_cache(daemon)
    for tool, (paths, delta) in dropped.items():
        change += lw.results.apply(tool, delta)
        _forget(cache, ws_id, tool, paths)
    for state in lw.results.tools.values():
        state.unverified.difference_update(gone)
    lw.generation += 1
    return change


def _remember(cache: BudgetedCache[Any, str], ws_id: str, tool: str, path: str, key: str) -> None:
    cache.put((ws_id, tool, path), key, KEY_ENTRY_BYTES + len(path))


def _forget(cache: BudgetedCache[Any, str], ws_id: str, tool: str, paths: Iterable[str]) -> None:
    for path in paths:
        cache.pop((ws_id, tool, path))
