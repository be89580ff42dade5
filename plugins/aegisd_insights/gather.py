"""Turn what other plugins know into `InsightInputs`: the code map's extracts and import graph,
a `lint.report` answer, a `similarity.report` answer. Pure functions; the daemon runs
`evaluate` in a thread on a snapshot of the index."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, cast

from aegisd_codemap.graph import build_import_graph, cycle_path, import_cycles
from aegisd_codemap.model import TOP_LEVEL, FileExtract, ImportRef

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
from aegisd_insights.stage import StageResult, detect_stage

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


@dataclass
class _Graphed:
    """The import graph's contribution to the inputs, and the imports it was built from."""

    imports: Mapping[str, Sequence[ImportRef]]
    package: str | None
    edges: tuple[ImportEdge, ...]
    cycles: tuple[ImportCycle, ...]


@dataclass
class IndexMemo:
    """What the last evaluation derived from the index, reused where nothing changed: the code
    map puts a new extract object in place of a re-parsed file, so an extract that is the same
    object gives the same inputs, and equal imports everywhere give the same graph. Keeps a
    recompute after a one-file edit from redoing the whole workspace (and holding the GIL)."""

    files: dict[str, tuple[FileExtract, FileInput | None, tuple[SymbolInput, ...]]] = field(
        default_factory=dict
    )
    graphed: _Graphed | None = None


def _file_inputs(path: str, f: FileExtract) -> tuple[FileInput | None, tuple[SymbolInput, ...]]:
    file = None if f.binary else FileInput(path, f.language or "", f.lines, is_test_path(path))
    symbols = tuple(
        SymbolInput(
            s.qualname, s.kind, path, s.line, s.complexity if s.kind in _MEASURED_KINDS else None
        )
        for s in f.symbols
    )
    return file, symbols


def _graphed(
    files: Mapping[str, FileExtract], last: _Graphed | None, package: str | None
) -> _Graphed:
    imports = {path: f.imports for path, f in files.items()}
    if (
        last is not None
        and last.package == package
        and last.imports.keys() == imports.keys()
        and all(last.imports[p] is refs or last.imports[p] == refs for p, refs in imports.items())
    ):
        return last
    graph = build_import_graph(imports, files.keys(), package)
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


def inputs_from_index(
    files: Mapping[str, FileExtract],
    lint: tuple[LintIssue, ...] = (),
    clones: CloneData | None = None,
    memo: IndexMemo | None = None,
    package: str | None = None,
    lint_totals: Mapping[str, int] | None = None,
) -> InsightInputs:
    """Files (line counts, test or not), symbols (McCabe complexity for functions and
    methods), import edges between workspace files (every kind: a test importing a module
    inside a test function still runs it) and import cycles (of top-level imports, two files
    or more);
    `package` is the root's package name (`aegisd_codemap.resolve.root_package`).
    With a `memo`, unchanged files and an unchanged import graph are taken from it (and it is
    brought up to date)."""
    memo = memo if memo is not None else IndexMemo()
    known = memo.files
    fresh: dict[str, tuple[FileExtract, FileInput | None, tuple[SymbolInput, ...]]] = {}
    for path, f in files.items():
        entry = known.get(path)
        if entry is None or entry[0] is not f:
            step_aside()
            entry = (f, *_file_inputs(path, f))
        fresh[path] = entry
    memo.files = fresh
    memo.graphed = graphed = _graphed(files, memo.graphed, package)
    return InsightInputs(
        files=tuple(file for _, file, _ in fresh.values() if file is not None),
        symbols=tuple(chain.from_iterable(symbols for _, _, symbols in fresh.values())),
        imports=graphed.edges,
        cycles=graphed.cycles,
        lint=lint,
        clones=clones,
        lint_totals=lint_totals,
    )


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
    files: Mapping[str, FileExtract],
    lint: tuple[LintIssue, ...],
    clones: CloneData | None,
    thresholds: Thresholds,
    memo: IndexMemo | None = None,
    package: str | None = None,
    lint_totals: Mapping[str, int] | None = None,
) -> tuple[list[Insight], StageResult]:
    """Insights and stage of one snapshot of the index (run in a thread, one at a time per
    `memo`)."""
    inputs = inputs_from_index(files, lint, clones, memo, package, lint_totals)
    return compute_insights(inputs, thresholds), detect_stage(inputs.files, inputs.symbols)
