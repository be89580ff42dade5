"""One workspace's code map in memory: file extracts, symbol ids, the ranked search.

A file that stops parsing keeps its last good symbols (marked stale) and reports its errors;
it is never silently emptied.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from sys import intern
from typing import Any

from aegisd.threads import step_aside
from aegisd_codemap.model import FileExtract, Symbol
from aegisd_codemap.ranking import is_stub
from aegisd_codemap.search import SymbolSearch


@dataclass
class IndexCounters:
    parsed: int = 0
    loaded: int = 0
    last_full_scan: str | None = None


@dataclass
class WorkspaceIndex:
    """Each file's symbols get consecutive search ids from the file's `_first_id`: a hit's
    symbol is found through its file, without a dict over every symbol (72k on the stdlib).
    `package` is the root's Python package name (`resolve.root_package`) for the graphs."""

    package: str | None = None
    files: dict[str, FileExtract] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)
    stale: set[str] = field(default_factory=set)
    search: SymbolSearch = field(default_factory=SymbolSearch)
    counters: IndexCounters = field(default_factory=IndexCounters)
    symbol_count: int = 0
    _next_id: int = 1
    _first_id: dict[str, int] = field(default_factory=dict)
    version: int = 0

    def load(self, files: dict[str, FileExtract], hashes: dict[str, str], stale: set[str]) -> None:
        self.hashes.update(hashes)
        self.stale |= stale
        for extract in files.values():
            step_aside()
            self._put(extract)
        self.counters.loaded += len(files)

    def _put(self, extract: FileExtract) -> None:
        path = extract.path
        self._drop_symbols(path)
        self.files[path] = extract
        first = self._first_id[path] = self._next_id
        self._next_id += len(extract.symbols)
        self.symbol_count += len(extract.symbols)
        _share_graph_strings(extract)
        for symbol in extract.symbols:
            _share_strings(symbol)
        self.search.replace_path(
            path,
            [
                (first + seq, s.name, s.qualname, s.kind, path, is_stub(s.decorators))
                for seq, s in enumerate(extract.symbols)
            ],
        )
        self.version += 1

    def _drop_symbols(self, path: str) -> None:
        if self._first_id.pop(path, None) is not None:
            self.symbol_count -= len(self.files[path].symbols)

    def symbol(self, symbol_id: int, path: str) -> Symbol:
        """The symbol a search hit (`symbol_id` in `path`) stands for."""
        return self.files[path].symbols[symbol_id - self._first_id[path]]

    def apply(self, extract: FileExtract, digest: str) -> tuple[FileExtract, bool]:
        """Take a fresh extract; returns what is kept and whether it is stale."""
        previous = self.files.get(extract.path)
        stale = bool(extract.errors) and previous is not None and bool(previous.symbols)
        if stale and previous is not None:
            # Keep the last good outline; carry the new errors and size.
            kept = FileExtract(
                path=extract.path,
                language=extract.language,
                lines=extract.lines,
                loc=extract.loc,
                symbols=previous.symbols,
                imports=previous.imports,
                classes=previous.classes,
                errors=extract.errors,
                default_export=previous.default_export,
            )
            self.files[extract.path] = kept
            self.stale.add(extract.path)
            self.hashes[extract.path] = digest
            self.version += 1
            return kept, True
        self.stale.discard(extract.path)
        self.hashes[extract.path] = digest
        self._put(extract)
        self.counters.parsed += 1
        return extract, False

    def remove(self, path: str) -> bool:
        if path not in self.files:
            return False
        self._drop_symbols(path)
        self.search.remove_path(path)
        del self.files[path]
        self.hashes.pop(path, None)
        self.stale.discard(path)
        self.version += 1
        return True

    def status(self) -> dict[str, Any]:
        languages: Counter[str] = Counter()
        errors = 0
        for extract in self.files.values():
            if extract.language:
                languages[extract.language] += 1
            if extract.errors:
                errors += 1
        return {
            "files": len(self.files),
            "symbols": self.symbol_count,
            "languages": dict(sorted(languages.items())),
            "files_with_errors": errors,
            "stale_files": len(self.stale),
        }


def _share_strings(symbol: Symbol) -> None:
    """One object per distinct name, kind, parent and signature: they repeat across symbols
    (the stdlib: 72k symbols, 43k names, 14k parents, 8k signatures), and every extract comes
    with its own copies, from the store or from a worker. Interned strings are freed when
    nothing uses them any more."""
    symbol.name = intern(symbol.name)
    symbol.qualname = symbol.name if symbol.qualname == symbol.name else symbol.qualname
    symbol.kind = intern(symbol.kind)
    if symbol.parent is not None:
        symbol.parent = intern(symbol.parent)
    if symbol.signature is not None:
        symbol.signature = intern(symbol.signature)


def _share_graph_strings(extract: FileExtract) -> None:
    """The same for what the graphs are built from: imported modules and names, base classes
    and instantiated callees repeat across files (``os``, ``typing``, ``Exception``)."""
    for ref in extract.imports:
        ref.module = intern(ref.module)
        ref.kind = intern(ref.kind)
        ref.context = intern(ref.context)
        ref.names = tuple((intern(imported), intern(local)) for imported, local in ref.names)
    for info in extract.classes:
        info.bases = tuple(map(intern, info.bases))
        info.instantiates = tuple(map(intern, info.instantiates))
