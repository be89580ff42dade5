"""One workspace's code map: the store is the index, memory holds a few facts per file.

Per file only `store.Facts` stay in memory (hash, language, counts, stale: a few dozen bytes);
extracts are read from the store when asked for and kept in the budgeted `codemap.files`
cache, keyed by workspace, path and the content hash they were stored for, so an entry never
outlives its content. A file applied but not yet stored is `unsaved`: reads and searches take
it from there (its stored rows are older) until its write lands.

A file that stops parsing keeps its last good symbols (marked stale) and reports its errors;
it is never silently emptied.

Methods that read the store block: call them in a thread.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aegisd.budget import BudgetedCache
from aegisd_codemap import namesearch, sqlsearch, store
from aegisd_codemap.cinclude import C_LANGUAGES
from aegisd_codemap.cmacros import with_macro_entries
from aegisd_codemap.cprojmacros import ProjectMacros
from aegisd_codemap.model import FileExtract, ImportRef, Symbol
from aegisd_codemap.readers import Readers
from aegisd_codemap.store import Execute, Facts

#: above this many files, `each_outline` scans the workspace's rows once rather than seeking each
OUTLINES_ONE_BY_ONE = 500

NAMES = "names"
ReadOne = Callable[[Execute, str, str], tuple[str, FileExtract] | None]
ReadAll = Callable[[Execute, str], Iterable[FileExtract]]


def extract_size(extract: FileExtract) -> int:
    """About the bytes an extract holds (a generic estimate sees only the outer object)."""
    size = 400 + 180 * len(extract.imports) + 200 * len(extract.classes)
    size += 150 * len(extract.errors) + sum(80 + len(sites) for _, sites in extract.refs or ())
    size += 150 * len(extract.members or ())
    for s in extract.symbols:
        size += 260 + len(s.qualname) + len(s.docstring or "") + len(s.signature or "")
    return size


_Entry = tuple[str, FileExtract, int]
"""A file in a whole-workspace read: (content hash, extract, its `extract_size`)."""


def _entry(digest: str, extract: FileExtract) -> _Entry:
    return digest, extract, extract_size(extract)


@dataclass
class IndexCounters:
    parsed: int = 0
    loaded: int = 0
    last_full_scan: str | None = None


class _Hashes(Mapping[str, str]):
    """Each file's content hash, as indexed (a view of the facts)."""

    def __init__(self, facts: dict[str, Facts]) -> None:
        self._facts = facts

    def __getitem__(self, path: str) -> str:
        return self._facts[path].hash

    def __iter__(self) -> Iterator[str]:
        return iter(self._facts)

    def __len__(self) -> int:
        return len(self._facts)


class _Files(Mapping[str, FileExtract]):
    """Each file's extract, read from the store on access (blocking: from a thread; a few
    reads on the loop are a few milliseconds)."""

    def __init__(self, index: WorkspaceIndex) -> None:
        self._index = index

    def __getitem__(self, path: str) -> FileExtract:
        found = self._index.read(path)
        if found is None:
            raise KeyError(path)
        return found

    def __contains__(self, path: object) -> bool:
        return path in self._index.facts

    def __iter__(self) -> Iterator[str]:
        return iter(self._index.facts)

    def __len__(self) -> int:
        return len(self._index.facts)


@dataclass
class FactsTally:
    """Counts over an index's facts, kept as they change: `index.status` is polled (editors,
    benches) and walking 50k files' facts for it took 13% of a cold index's daemon CPU."""

    languages: Counter[str] = field(default_factory=Counter)
    errors: int = 0  # files with syntax errors
    stale: int = 0

    def count(self, known: Facts, sign: int) -> None:
        if known.language:
            self.languages[known.language] += sign
        self.errors += sign * (known.errors > 0)
        self.stale += sign * known.stale


@dataclass
class WorkspaceIndex:
    """`package` is the root's Python package name (`resolve.root_package`) for the graphs."""

    ws_id: str
    readers: Readers
    cache: BudgetedCache[tuple[str, str, str], FileExtract]
    #: whole-workspace reads (`outlines`, `snapshot`), brought up to date per file
    whole: BudgetedCache[tuple[str, str, str], Any]
    #: every distinct symbol name (shared by the workspaces of the database)
    names: BudgetedCache[str, namesearch.Names]
    package: str | None = None
    #: the workspace's root (JS/TS module resolution reads its tsconfig and package files)
    root: Path | None = None
    facts: dict[str, Facts] = field(default_factory=dict)
    #: applied to the index, not yet in the store (by path; None: removed)
    unsaved: dict[str, FileExtract | None] = field(default_factory=dict)
    counters: IndexCounters = field(default_factory=IndexCounters)
    symbol_count: int = 0
    tally: FactsTally = field(default_factory=lambda: FactsTally())
    version: int = 0
    #: bumped when a path appears or goes (what module resolution depends on)
    layout: int = 0
    #: the headers' attribute-like macros, for the parse workers (`cprojmacros`)
    macros: ProjectMacros = field(default_factory=ProjectMacros)

    @property
    def files(self) -> Mapping[str, FileExtract]:
        return _Files(self)

    @property
    def hashes(self) -> Mapping[str, str]:
        return _Hashes(self.facts)

    def is_stale(self, path: str) -> bool:
        found = self.facts.get(path)
        return found is not None and found.stale

    def load(self, facts: dict[str, Facts]) -> None:
        self.facts.update(facts)
        self.symbol_count += sum(f.symbols for f in facts.values())
        for known in facts.values():
            self.tally.count(known, 1)
        self.counters.loaded += len(facts)
        self.version += 1
        self.layout += 1

    # -- changes (on the event loop) -----------------------------------------------------

    def apply(
        self, extract: FileExtract, digest: str, previous: FileExtract | None
    ) -> tuple[FileExtract, bool]:
        """Take a fresh extract; returns what is kept and whether it is stale. `previous` is
        the file's last extract when the new one has errors (`needs_previous`)."""
        stale = bool(extract.errors) and previous is not None and bool(previous.symbols)
        if stale and previous is not None:
            # Keep the last good outline; carry the new errors and size.
            extract = FileExtract(
                path=extract.path,
                language=extract.language,
                lines=extract.lines,
                loc=extract.loc,
                symbols=previous.symbols,
                imports=previous.imports,
                classes=previous.classes,
                errors=extract.errors,
                default_export=previous.default_export,
                exports=with_macro_entries(previous.exports, extract.exports),
                members=previous.members,
                # in memory while its write is queued; else its stored rows stay (`store.rows`)
                refs=previous.refs,
            )
        else:
            self.counters.parsed += 1
        path = extract.path
        if path not in self.facts:
            self.layout += 1
        self._forget(path)
        self.facts[path] = known = Facts(
            digest, extract.language, len(extract.symbols), len(extract.errors), stale
        )
        self.tally.count(known, 1)
        self.symbol_count += len(extract.symbols)
        self.unsaved[path] = extract
        self.version += 1
        if extract.language in C_LANGUAGES:
            self.macros.take(path, extract.exports)
        return extract, stale

    def needs_previous(self, extract: FileExtract) -> bool:
        """Whether `apply` needs the file's last extract (it has errors, and had symbols)."""
        known = self.facts.get(extract.path)
        return bool(extract.errors) and known is not None and known.symbols > 0

    def remove(self, path: str) -> bool:
        if path not in self.facts:
            return False
        self._forget(path)
        self.macros.drop(path)
        self.unsaved[path] = None
        self.version += 1
        self.layout += 1
        return True

    def _forget(self, path: str) -> None:
        known = self.facts.pop(path, None)
        if known is not None:
            self.tally.count(known, -1)
            self.symbol_count -= known.symbols
            self.cache.pop((self.ws_id, path, known.hash))

    def stored(self, extracts: list[FileExtract], removed: list[str]) -> None:
        """These extracts are in the store now, and these paths gone from it: read from
        there from now on (unless a newer change waits)."""
        names = self.names.get(NAMES)
        if names is not None:
            names.stale = True  # the write may have added names
        for extract in extracts:
            if self.unsaved.get(extract.path) is extract:
                del self.unsaved[extract.path]
        for path in removed:
            if path in self.unsaved and self.unsaved[path] is None:
                del self.unsaved[path]

    # -- reads (blocking) -----------------------------------------------------------------

    def peek(self, path: str) -> FileExtract | None:
        """The file's extract if memory has it (unsaved or cached): never reads the store, so
        a handler asks this on the loop and hops to a thread only on a miss."""
        known = self.facts.get(path)
        if known is None:
            return None
        found = self.unsaved.get(path)
        if found is not None:
            return found
        cached: FileExtract | None = self.cache.get((self.ws_id, path, known.hash))
        return cached

    def read(self, path: str) -> FileExtract | None:
        """The file's extract: unsaved, cached, or read from the store."""
        found = self.peek(path)
        known = self.facts.get(path)
        if found is not None or known is None:
            return found
        with self.readers.borrow() as db:
            stored = store.read_extract(db.execute, self.ws_id, path)
        if stored is None:
            return None
        digest, found = stored
        if digest == known.hash:  # else written since: read again next time
            self.cache.put((self.ws_id, path, digest), found, extract_size(found))
        return found

    def read_many(self, paths: Iterable[str]) -> dict[str, FileExtract]:
        """`read` for several files, those not in memory read from the store together."""
        found: dict[str, FileExtract] = {}
        missing = []
        for path in paths:
            extract = self.peek(path)
            if extract is not None:
                found[path] = extract
            elif path in self.facts:
                missing.append(path)
        if missing:
            with self.readers.borrow() as db:
                for digest, extract in store.read_extracts(db.execute, self.ws_id, missing):
                    found[extract.path] = extract
                    known = self.facts.get(extract.path)
                    if known is not None and known.hash == digest:
                        key = (self.ws_id, extract.path, digest)
                        self.cache.put(key, extract, extract_size(extract))
        return found

    def search(
        self, query: str, kind: str | None, path_glob: str | None, limit: int
    ) -> list[sqlsearch.StoredHit]:
        unsaved = dict(self.unsaved)  # one C-level copy: the loop may change it meanwhile
        overlay = sqlsearch.Overlay(
            {p: e.symbols for p, e in unsaved.items() if e is not None}, sorted(unsaved)
        )
        names = self.names.get(NAMES)
        with self.readers.borrow() as db:
            known = len(names) if names is not None else -1
            # Without the names in memory (evicted, or not read yet: `read_names`), SQLite's
            # trigram index answers.
            found = sqlsearch.search(
                db, self.ws_id, query, kind, path_glob, limit,
                fts=self.readers.fts, overlay=overlay, names=names, symbols=self.symbol_count,
            )  # fmt: skip
        if names is not None and len(names) != known:
            self.names.put(NAMES, names, names.size)  # grown
        return found

    @property
    def names_missing(self) -> bool:
        return NAMES not in self.names

    def read_names(self) -> None:
        """Every name into memory (`namesearch.Names`), for the searches that follow
        (~50 ms per 40,000 names: in a bulk thread, not in a search)."""
        if NAMES in self.names:
            return
        names = namesearch.Names()
        with self.readers.borrow() as db:
            names.update(db)
        self.names.put(NAMES, names, names.size)

    def outlines(self) -> dict[str, FileExtract]:
        """Every file without its symbols (imports, classes: what the graphs need)."""
        return self._whole("outlines", store.read_outline, store.read_outlines)

    def each_outline(
        self, paths: Collection[str] | None = None
    ) -> Iterator[tuple[str, str, FileExtract]]:
        """(path, content hash, outline) of these files (None: every file), read as the caller
        takes them and kept nowhere: for a pass that needs each outline once, at any size
        (`outlines` keeps them all in the cache). Files the index does not hold are left out;
        run it in a thread, and finish (or close) it there."""
        unsaved, facts = dict(self.unsaved), dict(self.facts)  # C-level copies
        wanted = facts.keys() if paths is None else {p for p in paths if p in facts}
        for path in wanted & unsaved.keys():
            waiting = unsaved[path]
            if waiting is not None:  # None: going, not yet stored
                yield path, facts[path].hash, waiting
        with self.readers.borrow() as db:
            if paths is None or len(wanted) > OUTLINES_ONE_BY_ONE:
                for digest, extract in store.read_hashed_outlines(db.execute, self.ws_id):
                    if extract.path in wanted and extract.path not in unsaved:
                        yield extract.path, digest, extract
                return
            for path in wanted - unsaved.keys():
                stored = store.read_outline(db.execute, self.ws_id, path)
                if stored is not None:
                    yield path, stored[0], stored[1]

    def import_refs(self) -> dict[str, list[ImportRef]]:
        """Every file's imports (what the import graph is built from)."""
        return {path: extract.imports for path, extract in self.outlines().items()}

    def outline_entries(self) -> dict[str, tuple[str, FileExtract]]:
        """`outlines`, each with the content hash it was read for."""
        entries = self._whole_entries("outlines", store.read_outline, store.read_outlines)
        return {path: (entry[0], entry[1]) for path, entry in entries.items()}

    def select_symbols(
        self, query: store.SymbolQuery, paths: Collection[str] | None = None
    ) -> dict[str, tuple[str, list[Symbol]]]:
        """The symbols `query` selects of these files (None: every file), each file's with the
        content hash they were read for, without reading the others: a pass over a large
        workspace holds only what it asked for. A file changed while this reads may come
        labelled with its previous hash: the caller's next read sees the newer one."""
        facts = dict(self.facts)  # before `unsaved` (C-level copies): see below
        unsaved = dict(self.unsaved)
        wanted = list(facts) if paths is None else [p for p in paths if p in facts]
        # A path not unsaved now is stored at least as new as `facts` says.
        on_disk = None if paths is None else [p for p in wanted if unsaved.get(p) is None]
        with self.readers.borrow() as db:
            stored = store.read_symbols_where(db.execute, self.ws_id, query, on_disk)
        found: dict[str, tuple[str, list[Symbol]]] = {}
        for path in wanted:
            waiting = unsaved.get(path)
            if waiting is not None:
                symbols = [s for s in waiting.symbols if query(s)]
            else:
                symbols = stored.get(path, [])
            found[path] = (facts[path].hash, symbols)
        return found

    def snapshot(self) -> dict[str, FileExtract]:
        """Every file with its symbols (a pass over the whole index)."""

        def read_all(execute: store.Execute, ws_id: str) -> Iterable[FileExtract]:
            return store.read_all(execute, ws_id).values()

        return self._whole("snapshot", store.read_extract, read_all)

    def _whole(self, what: str, read_one: ReadOne, read_all: ReadAll) -> dict[str, FileExtract]:
        entries = self._whole_entries(what, read_one, read_all)
        return {path: entry[1] for path, entry in entries.items()}

    def _whole_entries(self, what: str, read_one: ReadOne, read_all: ReadAll) -> dict[str, _Entry]:
        """Every file's extract (as `read_one` reads one), kept in the budgeted cache as one
        entry keyed by `what`: brought up to date file by file when it is there (an edit
        reads the files that changed; unchanged files keep their objects, which callers'
        own memos recognise), read whole when it is not. Each file's entry carries its
        estimated size: a call costs per file, not per symbol."""
        unsaved, facts = dict(self.unsaved), dict(self.facts)  # C-level copies
        key = (self.ws_id, "*", what)
        kept: dict[str, _Entry] | None = self.whole.get(key)
        fresh: dict[str, _Entry] = {}
        with self.readers.borrow() as db:
            if kept is None:
                for extract in read_all(db.execute, self.ws_id):
                    known = facts.get(extract.path)
                    if known is not None and extract.path not in unsaved:
                        fresh[extract.path] = _entry(known.hash, extract)
            for path, known in facts.items():
                waiting = unsaved.get(path)
                if waiting is not None:
                    found = kept.get(path) if kept is not None else None
                    if found is None or found[1] is not waiting:
                        found = _entry(known.hash, waiting)
                    fresh[path] = found
                    continue
                entry = fresh.get(path) or (kept.get(path) if kept is not None else None)
                if entry is None or entry[0] != known.hash:
                    stored = read_one(db.execute, self.ws_id, path)
                    if stored is None:
                        continue
                    entry = _entry(*stored)
                fresh[path] = entry
        self.whole.put(key, fresh, sum(entry[2] for entry in fresh.values()))
        return fresh

    def status(self) -> dict[str, Any]:
        tally = self.tally
        return {
            "files": len(self.facts),
            "symbols": self.symbol_count,
            "languages": {k: n for k, n in sorted(tally.languages.items()) if n},
            "files_with_errors": tally.errors,
            "stale_files": tally.stale,
        }
