"""The code map's index as an evaluation in a worker process reads it: straight from the
store, through a read-only connection of its own, with the files the daemon has applied but
not yet stored laid over it.

One `StoredView` is one read transaction (one snapshot of the store) for one evaluation.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from aegisd_codemap import store as codemap_store
from aegisd_codemap.model import FileExtract, Symbol
from aegisd_codemap.store import SymbolQuery

from aegisd.store.pathtext import from_db


@dataclass(frozen=True, slots=True)
class Unsaved:
    """A file applied to the code map and not yet stored: its hash and its extract (None: the
    file was removed). The extract carries the notable symbols only (what the detectors use)."""

    hash: str
    extract: FileExtract | None


@contextmanager
def snapshot(db_path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the daemon's database inside one read transaction."""
    uri = f"{db_path.resolve().as_uri()}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True, isolation_level=None)) as conn:
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")


class StoredView:
    """A workspace's index (`gather.OutlineView`) as stored, with `unsaved` files over it."""

    def __init__(
        self, conn: sqlite3.Connection, ws_id: str, unsaved: Mapping[str, Unsaved]
    ) -> None:
        self._execute = conn.execute
        self._ws_id = ws_id
        self._unsaved = unsaved
        self._hashes: dict[str, str] | None = None
        #: outlines read from the store (how large a read this evaluation was)
        self.outlines_read = 0

    def content_hashes(self) -> dict[str, str]:
        if self._hashes is not None:  # one snapshot: read once
            return self._hashes
        hashes = {
            from_db(path): digest
            for path, digest in self._execute(
                "SELECT path, hash FROM codemap_file WHERE workspace_id = ?", (self._ws_id,)
            )
        }
        for path, waiting in self._unsaved.items():
            if waiting.extract is None:
                hashes.pop(path, None)
            else:
                hashes[path] = waiting.hash
        self._hashes = hashes
        return hashes

    def read_outlines(self, paths: Collection[str]) -> dict[str, FileExtract]:
        """These files' outlines: unsaved ones from memory, the others sought by path (a
        caller reads a large workspace a part at a time, never every outline at once)."""
        found: dict[str, FileExtract] = {}
        stored = [p for p in paths if p not in self._unsaved]
        if stored:
            for _, extract in codemap_store.read_outlines_of(self._execute, self._ws_id, stored):
                found[extract.path] = extract
            self.outlines_read += len(stored)
        for path in paths:
            waiting = self._unsaved.get(path)
            if waiting is not None and waiting.extract is not None:
                found[path] = waiting.extract
        return found

    def select_symbols(
        self, query: SymbolQuery, paths: Collection[str] | None = None
    ) -> dict[str, tuple[str, list[Symbol]]]:
        """Labelled with the hash of this snapshot (hashes and symbols are read in one)."""
        hashes = self.content_hashes()
        wanted = list(hashes) if paths is None else [p for p in paths if p in hashes]
        on_disk = None if paths is None else [p for p in wanted if p not in self._unsaved]
        stored = codemap_store.read_symbols_where(self._execute, self._ws_id, query, on_disk)
        found: dict[str, tuple[str, list[Symbol]]] = {}
        for path in wanted:
            waiting = self._unsaved.get(path)
            if waiting is not None and waiting.extract is not None:
                symbols = [s for s in waiting.extract.symbols if query(s)]
            else:
                symbols = stored.get(path, [])
            found[path] = (hashes[path], symbols)
        return found
