"""Turn what other plugins know into `InsightInputs`: the code map's extracts and import graph,
a `lint.report` answer, a `similarity.report` answer. Pure functions; the daemon runs
`evaluate` in a thread on a snapshot of the index."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Protocol, cast

from aegisd_codemap.graph import ImportGraphBuilder, cycle_path, import_cycles
from aegisd_codemap.model import TOP_LEVEL, FileExtract, ImportRef, Symbol
from aegisd_codemap.store import SymbolQuery

from aegisd.threads import step_aside
from aegisd_insights.compute import compute_insights
from aegisd_insights.inputs import (
    SEVERITY_RANK,
    CloneData,
    ClonePair,
    FileInput,
    ImportCycle,
    ImportEdge,
    ImportHop,
    InsightInputs,
    LintIssue,
    Severity,
    SymbolInput,
)
from aegisd_insights.insight import Insight, Thresholds
from aegisd_insights.stage import PATTERN_SUFFIXES, StageResult, detect_stage

_TEST_DIRS = frozenset({"test", "tests", "__tests__", "spec", "specs", "testing"})
_MEASURED_KINDS = frozenset({"function", "method"})


def is_test_path(path: str) -> bool:
    """Test files by the usual conventions: a test directory, test_*.py, *_test.py,
    conftest.py, *.test.ts, *.spec.js, ..."""
    *dirs, name = path.split("/")
    if any(d in _TEST_DIRS for d in dirs):
        return True
    stem = name.split(".", 1)[0]
    return (
        name.startswith("test_")
        or stem.endswith("_test")
        or name == "conftest.py"
        or ".test." in name
        or ".spec." in name
    )


_NO_IMPORTS = 0


class NotableSymbols:
    """The symbols the detectors look at (`store.SymbolQuery`): functions and methods from
    `floor` complexity up, classes named with a pattern's suffix. A few per cent of a
    workspace's symbols, read without the rest."""

    def __init__(self, floor: int) -> None:
        self.floor = floor
        suffixes = tuple(PATTERN_SUFFIXES)
        self.sql = (
            "(kind IN ('function', 'method') AND complexity >= ?) OR (kind = 'class' AND ("
            + " OR ".join("name GLOB ?" for _ in suffixes)
            + "))"
        )
        self.args: tuple[Any, ...] = (floor, *("*" + suffix for suffix in suffixes))
        self._suffixes = suffixes

    def __call__(self, symbol: Symbol) -> bool:
        if symbol.kind in _MEASURED_KINDS:
            return symbol.complexity >= self.floor
        return symbol.kind == "class" and symbol.name.endswith(self._suffixes)


class IndexView(Protocol):
    """What a recompute reads of the code map (`WorkspaceIndex` is one)."""

    def outline_entries(self) -> Mapping[str, tuple[str, FileExtract]]:
        """Every file without its symbols, with the content hash it was read for."""

    def select_symbols(
        self, query: SymbolQuery, paths: Collection[str] | None = None
    ) -> Mapping[str, tuple[str, list[Symbol]]]:
        """The symbols `query` selects of these files (None: all), with each file's hash."""


class OutlineView(Protocol):
    """An index read a file at a time: each file's content hash alone, and outlines only of
    the files asked for (`stored.StoredView`: an edit reads the edited file's outline, not
    every file's)."""

    def content_hashes(self) -> Mapping[str, str]:
        """Every file's content hash."""

    def read_outlines(self, paths: Collection[str]) -> Mapping[str, FileExtract]:
        """These files without their symbols (absent: gone meanwhile)."""

    def select_symbols(
        self, query: SymbolQuery, paths: Collection[str] | None = None
    ) -> Mapping[str, tuple[str, list[Symbol]]]:
        """As `IndexView.select_symbols`."""


class _EntriesView:
    """An `IndexView` as an `OutlineView` (its outlines are read whole, once)."""

    def __init__(self, view: IndexView) -> None:
        self._view = view
        self._entries = view.outline_entries()

    def content_hashes(self) -> dict[str, str]:
        return {path: digest for path, (digest, _) in self._entries.items()}

    def read_outlines(self, paths: Collection[str]) -> dict[str, FileExtract]:
        return {p: self._entries[p][1] for p in paths if p in self._entries}

    def select_symbols(
        self, query: SymbolQuery, paths: Collection[str] | None = None
    ) -> Mapping[str, tuple[str, list[Symbol]]]:
        return self._view.select_symbols(query, paths)


def _digest(extract: FileExtract) -> str:
    # Of the content, not the object's id: a memo outlives the extracts it saw, and an id is
    # reused once its object is gone.
    return hashlib.blake2b(repr(extract).encode(), digest_size=16).hexdigest()


class ExtractsView:
    """Extracts in memory as an `IndexView`, each with a digest of what it holds."""

    def __init__(self, files: Mapping[str, FileExtract]) -> None:
        self.files = files

    def outline_entries(self) -> dict[str, tuple[str, FileExtract]]:
        return {path: (_digest(f), f) for path, f in self.files.items()}

    def content_hashes(self) -> dict[str, str]:
        return {path: _digest(f) for path, f in self.files.items()}

    def read_outlines(self, paths: Collection[str]) -> dict[str, FileExtract]:
        return {p: self.files[p] for p in paths if p in self.files}

    def select_symbols(
        self, query: SymbolQuery, paths: Collection[str] | None = None
    ) -> dict[str, tuple[str, list[Symbol]]]:
        wanted = self.files.keys() if paths is None else [p for p in paths if p in self.files]
        return {
            path: (_digest(f), [s for s in f.symbols if query(s)])
            for path, f in ((p, self.files[p]) for p in wanted)
        }


@dataclass
class _Graphed:
    """The import graph's contribution to the inputs, and what it was built from: each
    file's hash and a digest of its imports."""

    imports: dict[str, tuple[str, int]]
    package: str | None
    edges: tuple[ImportEdge, ...]
    cycles: tuple[ImportCycle, ...]


_FileEntry = tuple[str, FileInput | None, tuple[SymbolInput, ...]]


@dataclass
class IndexMemo:
    """What the last evaluation derived from the index, reused where nothing changed: per
    file (by its content hash) its input and notable symbols, and the import graph while no
    file's imports changed. Keeps a recompute after a one-file edit from re-reading the whole
    workspace, and holds a few dozen bytes per file, not its extract."""

    files: dict[str, _FileEntry] = field(default_factory=dict)
    floor: int | None = None
    graphed: _Graphed | None = None


def _file_input(path: str, f: FileExtract) -> FileInput | None:
    return None if f.binary else FileInput(path, f.language or "", f.lines, is_test_path(path))


def _symbol_inputs(path: str, symbols: Iterable[Symbol]) -> tuple[SymbolInput, ...]:
    return tuple(
        SymbolInput(
            s.qualname, s.kind, path, s.line, s.complexity if s.kind in _MEASURED_KINDS else None
        )
        for s in symbols
    )


def _imports_digest(refs: Iterable[ImportRef]) -> int:
    if not refs:
        return _NO_IMPORTS
    return hash(
        tuple((r.module, r.names, r.level, r.line, r.kind, r.alias, r.context) for r in refs)
    )


def _graphed(
    view: OutlineView,
    hashes: Mapping[str, str],
    reading: _Reading,
    last: _Graphed | None,
    package: str | None,
) -> _Graphed:
    """The import graph's edges and cycles; `reading` holds what the outlines of the files
    whose hash changed said (the others' imports are known by digest). Rebuilt, from every
    file's outline (streamed a part at a time), only when some file's imports changed or files
    came or went."""
    known = last.imports if last is not None and last.package == package else {}
    imports: dict[str, tuple[str, int]] = {}
    same = last is not None and known.keys() == hashes.keys()
    for path, digest in hashes.items():
        before = known.get(path)
        if before is not None and before[0] == digest:
            imports[path] = before
            continue
        step_aside()
        # Gone meanwhile (a snapshot read later than the hashes): no imports for now.
        imports[path] = (digest, reading.digests.get(path, _NO_IMPORTS))
        same = same and before is not None and before[1] == imports[path][1]
    if same and last is not None:
        last.imports = imports
        return last
    builder = reading.builder
    if builder is None:
        builder = ImportGraphBuilder(hashes, package)
        for path, refs in reading.refs.items():
            builder.add(path, refs)
    rest = [p for p in hashes if p not in reading.digests]
    for part in _parts(rest):
        for path, outline in view.read_outlines(part).items():
            step_aside()
            builder.add(path, outline.imports)
    graph = builder.graph
    # In the files' order, whichever were read first: an answer equals a fresh evaluation's.
    graph.edges = {path: graph.edges[path] for path in hashes if path in graph.edges}
    edges = tuple(
        ImportEdge(source, target)
        for source, targets in graph.edges.items()
        for target in targets
        if target != source
    )
    top_level = graph.of_kinds((TOP_LEVEL,))  # imports that run as the module loads
    cycles = tuple(
        ImportCycle(
            tuple(members),
            tuple(ImportHop(h.source, h.target, h.line) for h in cycle_path(members, top_level)),
        )
        for members in import_cycles(graph)
        if len(members) > 1
    )
    return _Graphed(imports, package, edges, cycles)


#: outlines read at a time: a first evaluation of 50k files held them all (~250 MiB)
READ_PART = 1000


def _parts(paths: list[str]) -> Iterator[list[str]]:
    for at in range(0, len(paths), READ_PART):
        yield paths[at : at + READ_PART]


@dataclass
class _Reading:
    """What the outlines of the files an evaluation read said: each one's input (None: not
    text) and a digest of its imports, and the imports themselves (`refs`) or, when the graph
    is built anew anyway, the `builder` they went into (so no outline is kept)."""

    inputs: dict[str, FileInput | None] = field(default_factory=dict)
    digests: dict[str, int] = field(default_factory=dict)
    refs: dict[str, Sequence[ImportRef]] = field(default_factory=dict)
    builder: ImportGraphBuilder | None = None


def _read(view: OutlineView, changed: list[str], builder: ImportGraphBuilder | None) -> _Reading:
    """The outlines of `changed`, read a part at a time and reduced to what is kept."""
    reading = _Reading(builder=builder)
    for part in _parts(changed):
        for path, outline in view.read_outlines(part).items():
            step_aside()
            reading.inputs[path] = _file_input(path, outline)
            reading.digests[path] = _imports_digest(outline.imports)
            if builder is not None:
                builder.add(path, outline.imports)
            else:
                reading.refs[path] = outline.imports
    return reading


#: Above this share of files changed, their notable symbols are read in one pass over all.
_WHOLE_READ_SHARE = 0.25


def _changed(hashes: Mapping[str, str], memo: IndexMemo, floor: int) -> list[str]:
    """Files whose per-file inputs or imports must be read again."""
    known = memo.files if memo.floor == floor else {}
    graphed = memo.graphed.imports if memo.graphed is not None else {}
    return [
        p
        for p, digest in hashes.items()
        if known.get(p, ("",))[0] != digest or graphed.get(p, ("",))[0] != digest
    ]


def _file_entries(
    view: OutlineView,
    hashes: Mapping[str, str],
    reading: _Reading,
    floor: int,
    memo: IndexMemo,
) -> dict[str, _FileEntry]:
    """Each file's input and notable symbols, read again only for files whose hash changed."""
    known = memo.files if memo.floor == floor else {}
    changed = [p for p, digest in hashes.items() if known.get(p, ("",))[0] != digest]
    symbols: Mapping[str, tuple[str, list[Symbol]]] = {}
    if changed:
        whole = len(changed) > len(hashes) * _WHOLE_READ_SHARE
        symbols = view.select_symbols(NotableSymbols(floor), None if whole else changed)
    fresh: dict[str, _FileEntry] = {}
    for path, digest in hashes.items():
        entry = known.get(path)
        if entry is None or entry[0] != digest:
            step_aside()
            label, found = symbols.get(path, ("", []))
            if path not in reading.inputs:  # gone meanwhile: its next hash reads it again
                entry = ("", None, ())
            else:
                # Read at another version than the outline (an edit meanwhile): read it again
                # next time.
                entry = (digest if label == digest else "", reading.inputs[path],
                         _symbol_inputs(path, found))  # fmt: skip
        fresh[path] = entry
    memo.files, memo.floor = fresh, floor
    return fresh


def inputs_from_index(
    index: IndexView | OutlineView | Mapping[str, FileExtract],
    lint: tuple[LintIssue, ...] = (),
    clones: CloneData | None = None,
    memo: IndexMemo | None = None,
    package: str | None = None,
    lint_totals: Mapping[str, int] | None = None,
    floor: int = 0,
) -> InsightInputs:
    """Files (line counts, test or not), notable symbols (`NotableSymbols` of `floor`: McCabe
    complexity for functions and methods), import edges between workspace files (every kind: a
    test importing a module inside a test function still runs it) and import cycles (of
    top-level imports, two files or more);
    `package` is the root's package name (`aegisd_codemap.resolve.root_package`).
    With a `memo`, unchanged files and an unchanged import graph are taken from it (and it is
    brought up to date): only the outlines and symbols of files whose hash changed are read.
    Reads the index: run it in a thread (or a worker process)."""
    view = _outline_view(index)
    memo = memo if memo is not None else IndexMemo()
    hashes = view.content_hashes()
    last = memo.graphed
    anew = last is None or last.package != package or last.imports.keys() != hashes.keys()
    changed = _changed(hashes, memo, floor)
    # When the graph is built anew anyway, the read outlines' imports go straight into it.
    reading = _read(view, changed, ImportGraphBuilder(hashes, package) if anew else None)
    entries = _file_entries(view, hashes, reading, floor, memo)
    memo.graphed = graphed = _graphed(view, hashes, reading, last, package)
    del reading
    return InsightInputs(
        files=tuple(file for _, file, _ in entries.values() if file is not None),
        symbols=tuple(chain.from_iterable(symbols for _, _, symbols in entries.values())),
        imports=graphed.edges,
        cycles=graphed.cycles,
        lint=lint,
        clones=clones,
        lint_totals=lint_totals,
    )


def _outline_view(index: IndexView | OutlineView | Mapping[str, FileExtract]) -> OutlineView:
    if isinstance(index, Mapping):
        return ExtractsView(index)
    if hasattr(index, "content_hashes"):
        return cast(OutlineView, index)
    return _EntriesView(index)


def _severity(value: Any) -> Severity | None:
    return cast(Severity, value) if isinstance(value, str) and value in SEVERITY_RANK else None


def lint_from_report(report: Mapping[str, Any]) -> tuple[tuple[LintIssue, ...], dict[str, int]]:
    """The issues of a `lint.report` answer (sorted, so equal reports compare equal) and its
    counts by severity."""
    issues = []
    for entry in report.get("files") or []:
        for issue in entry.get("issues") or []:
            severity = _severity(issue.get("severity"))
            path = issue.get("path") or entry.get("path")
            if severity is not None and isinstance(path, str):
                issues.append(LintIssue(path, severity, str(issue.get("code") or "")))
    issues.sort(key=lambda i: (i.path, SEVERITY_RANK[i.severity], i.rule))
    counts = (report.get("summary") or {}).get("by_severity") or {}
    summary = {k: int(v) for k, v in counts.items() if _severity(k) and isinstance(v, int) and v}
    return tuple(issues), summary


def lint_page(report: Mapping[str, Any]) -> tuple[list[LintIssue], dict[str, int]]:
    """The issues of one page of a `lint.report` answer, and all issues per file on it
    (`total_issues`, whatever the page's severity filter)."""
    issues, _ = lint_from_report(report)
    totals = {
        entry["path"]: entry["total_issues"]
        for entry in report.get("files") or []
        if isinstance(entry.get("path"), str) and isinstance(entry.get("total_issues"), int)
    }
    return list(issues), totals


def _location(value: Any) -> tuple[str, int, int] | None:
    if not isinstance(value, Mapping):
        return None
    path, start, end = value.get("path"), value.get("start_line"), value.get("end_line")
    if isinstance(path, str) and isinstance(start, int) and isinstance(end, int):
        return path, start, end
    return None


def clones_from_report(report: Mapping[str, Any]) -> CloneData | None:
    """Clone pairs (`clones[].a/.b` locations, `similarity`) and per-file duplicated-lines
    ratios (`hotspots[].path/.ratio`) of a `similarity.report` answer; None when it has
    neither list."""
    clones, hotspots = report.get("clones"), report.get("hotspots")
    if not isinstance(clones, list) and not isinstance(hotspots, list):
        return None
    pairs = []
    for clone in clones or []:
        a, b = _location(clone.get("a")), _location(clone.get("b"))
        similarity = clone.get("similarity")
        if a is not None and b is not None and isinstance(similarity, int | float):
            pairs.append(ClonePair(*a, *b, float(similarity)))
    ratios = {
        h["path"]: float(h["ratio"])
        for h in hotspots or []
        if isinstance(h.get("path"), str) and isinstance(h.get("ratio"), int | float)
    }
    pairs.sort(key=lambda p: (p.path_a, p.start_a, p.path_b, p.start_b))
    return CloneData(dict(sorted(ratios.items())), tuple(pairs))


def evaluate(
    index: IndexView | OutlineView | Mapping[str, FileExtract],
    lint: tuple[LintIssue, ...],
    clones: CloneData | None,
    thresholds: Thresholds,
    memo: IndexMemo | None = None,
    package: str | None = None,
    lint_totals: Mapping[str, int] | None = None,
) -> tuple[list[Insight], StageResult]:
    """Insights and stage of the index as it is (run in a thread, one at a time per `memo`)."""
    floor = thresholds.complexity_medium
    inputs = inputs_from_index(index, lint, clones, memo, package, lint_totals, floor)
    return compute_insights(inputs, thresholds), detect_stage(inputs.files, inputs.symbols)
