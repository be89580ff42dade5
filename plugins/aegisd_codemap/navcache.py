"""What navigation keeps across requests, under the memory budget, never stale.

- Each file's namespace (`navresolve._Names`), keyed by workspace, path and the content hash
  it was built for: an edit changes the key. Files missing from memory are read from the store
  together, their symbols as plain rows (`store.read_symbol_rows`: a few times cheaper than
  whole extracts, which hold docstrings, decorators and metrics resolution never reads).
- The bindings resolved so far, keyed by the index's version: what `a.py`'s `from b import x`
  stands for depends on `b.py` (and on what `b.py` imports), so any applied change or removed
  file (each bumps `WorkspaceIndex.version`) starts an empty memo rather than guessing which
  resolutions went through the changed files.

Both live in the index's `whole` cache (`codemap.whole`), dropped with the workspace.
"""

from __future__ import annotations

from collections.abc import Iterable

from aegisd_codemap import store
from aegisd_codemap.index import WorkspaceIndex
from aegisd_codemap.navresolve import Value, _Names, _names

#: resolved bindings kept for one version of an index at most (then a fresh memo)
MAX_RESOLVED = 200_000
_RESOLVED_BYTES = 240  # about one memo entry: its key, a list and a Value or two


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
            rows = list(store.read_symbol_rows(db.execute, index.ws_id, missing))
        for digest, extract, symbols in rows:
            names = _names(extract, symbols)
            found[extract.path] = names
            known = index.facts.get(extract.path)
            if known is not None and known.hash == digest:  # else written since: not kept
                index.whole.put(_key(index, extract.path, digest), names, names.size())
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
