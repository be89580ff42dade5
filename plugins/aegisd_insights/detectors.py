"""One detector per insight kind. Each sorts its own output so the result never depends on the
order of its inputs."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence

from aegisd.threads import step_aside
from aegisd_insights.inputs import (
    CloneData,
    FileInput,
    ImportCycle,
    ImportEdge,
    ImportHop,
    LintIssue,
    Severity,
    SymbolInput,
)
from aegisd_insights.insight import Insight, Thresholds

STEP_ASIDE_ITEMS = 4096

_MAX_RULES_NAMED = 5
_MAX_FILES_NAMED = 10


def complexity_hotspots(symbols: Iterable[SymbolInput], t: Thresholds) -> list[Insight]:
    """Functions at or above `complexity_medium`; a qualname seen twice in one file (a
    redefinition) is reported once, with its highest complexity."""
    worst: dict[tuple[str, str], SymbolInput] = {}
    for n, s in enumerate(symbols):
        if not n % STEP_ASIDE_ITEMS:
            step_aside()  # millions of symbols in a monorepo: requests go first
        if s.complexity is None or s.complexity < t.complexity_medium:
            continue
        seen = worst.get((s.path, s.qualname))
        if seen is None or (s.complexity, -s.line) > (seen.complexity or 0, -seen.line):
            worst[(s.path, s.qualname)] = s
    found = []
    for s in sorted(worst.values(), key=lambda s: (-(s.complexity or 0), s.path, s.qualname)):
        c = s.complexity or 0
        severity: Severity = (
            "critical"
            if c >= t.complexity_critical
            else "high"
            if c >= t.complexity_high
            else "medium"
        )
        found.append(
            Insight(
                key=f"complexity_hotspot:{s.path}::{s.qualname}",
                kind="complexity_hotspot",
                severity=severity,
                title=f"{s.qualname} has complexity {c}",
                detail=(
                    f"{s.kind} {s.qualname} ({s.path}:{s.line}) has McCabe complexity {c}; "
                    f"medium from {t.complexity_medium}, high from {t.complexity_high}, "
                    f"critical from {t.complexity_critical}. Split it into smaller functions."
                ),
                paths=(s.path,),
                symbols=(s.qualname,),
                metrics={"complexity": c, "line": s.line},
            )
        )
    return found


def oversized_files(files: Iterable[FileInput], t: Thresholds) -> list[Insight]:
    """Files over `file_high_over` lines (high), or `file_critical` and more (critical)."""
    big = sorted((f for f in files if f.loc > t.file_high_over), key=lambda f: (-f.loc, f.path))
    return [
        Insight(
            key=f"oversized_file:{f.path}",
            kind="oversized_file",
            severity="critical" if f.loc >= t.file_critical else "high",
            title=f"{f.path} has {f.loc} lines",
            detail=(
                f"{f.path} has {f.loc} lines; files over {t.file_high_over} lines are hard to "
                f"read in one sitting ({t.file_critical} or more is critical). Split it by "
                "responsibility."
            ),
            paths=(f.path,),
            metrics={"loc": f.loc, "limit": t.file_high_over},
        )
        for f in big
    ]


def _from_smallest(hops: Sequence[ImportHop]) -> tuple[ImportHop, ...]:
    """The closed path rotated to start at its smallest file (rotations are one cycle)."""
    start = min(range(len(hops)), key=lambda i: hops[i].source)
    return (*hops[start:], *hops[:start])


def import_cycles(cycles: Iterable[ImportCycle]) -> list[Insight]:
    """One insight per distinct cycle of two or more files (a file importing itself is left
    out), named by its path of imports: medium for two files, high for three or more, which
    are harder to untangle. The detail walks the path, saying where each import is."""
    distinct: dict[str, tuple[ImportCycle, tuple[ImportHop, ...]]] = {}
    for cycle in cycles:
        if len(cycle.files) >= 2 and cycle.hops:
            hops = _from_smallest(cycle.hops)
            chain = " -> ".join([h.source for h in hops] + [hops[0].source])
            distinct.setdefault(chain, (cycle, hops))
    found = []
    for chain, (cycle, hops) in sorted(distinct.items(), key=lambda c: (-len(c[1][0].files), c[0])):
        files = cycle.files
        route = " -> ".join([f"{h.source}:{h.line}" for h in hops] + [hops[0].source])
        detail = f"{route} (file:line imports the next file as the module loads)."
        others = [f for f in files if f not in {h.source for h in hops}]
        if others:
            named = ", ".join(others[:_MAX_FILES_NAMED]) + (
                ", ..." if len(others) > _MAX_FILES_NAMED else ""
            )
            detail += f" {len(files)} files import each other in all; also {named}."
        found.append(
            Insight(
                key=f"import_cycle:{chain}",
                kind="import_cycle",
                severity="high" if len(files) >= 3 else "medium",
                title=f"Import cycle through {len(files)} files",
                detail=detail + " Modules in a cycle cannot be understood, tested or loaded "
                "alone; move the shared part into a module both can import.",
                paths=tuple(sorted(files)),
                metrics={"files": len(files)},
            )
        )
    return found


def lint_hotspots(
    issues: Iterable[LintIssue], t: Thresholds, file_totals: Mapping[str, int] | None = None
) -> list[Insight]:
    """The `lint_top` files with the most critical, then high, lint issues; the insight takes the
    worst severity found in the file. `file_totals`: all issues per file, when `issues` holds
    the serious ones only (counted from `issues` otherwise)."""
    totals: Counter[str] = Counter(file_totals or {})
    critical: Counter[str] = Counter()
    high: Counter[str] = Counter()
    rules: defaultdict[str, set[str]] = defaultdict(set)
    for i in issues:
        if file_totals is None:
            totals[i.path] += 1
        if i.severity in ("high", "critical"):
            (critical if i.severity == "critical" else high)[i.path] += 1
            if i.rule:
                rules[i.path].add(i.rule)
    hot = sorted(set(critical) | set(high), key=lambda p: (-critical[p], -high[p], p))
    found = []
    for path in hot[: t.lint_top]:
        named = sorted(rules[path])
        shown = ", ".join(named[:_MAX_RULES_NAMED]) + (
            ", ..." if len(named) > _MAX_RULES_NAMED else ""
        )
        found.append(
            Insight(
                key=f"lint_hotspot:{path}",
                kind="lint_hotspot",
                severity="critical" if critical[path] else "high",
                title=f"{path} has {critical[path] + high[path]} serious lint issues",
                detail=(
                    f"{critical[path]} critical and {high[path]} high lint issues in {path} "
                    f"({totals[path]} issues in all)" + (f"; rules: {shown}." if named else ".")
                ),
                paths=(path,),
                metrics={"critical": critical[path], "high": high[path], "total": totals[path]},
            )
        )
    return found


def duplication_hotspots(
    clones: CloneData | None, files: Iterable[FileInput], t: Thresholds
) -> list[Insight]:
    """Files whose duplicated-lines ratio reaches `dup_low`; the paths name the file first, then
    the files it shares clones with."""
    if clones is None:
        return []
    loc = {f.path: f.loc for f in files}
    partners: defaultdict[str, set[str]] = defaultdict(set)
    pair_count: Counter[str] = Counter()
    for p in clones.pairs:
        for mine, other in ((p.path_a, p.path_b), (p.path_b, p.path_a)):
            pair_count[mine] += 1
            if other != mine:
                partners[mine].add(other)
    hot = sorted(
        ((path, r) for path, r in clones.dup_ratio.items() if r >= t.dup_low),
        key=lambda item: (-item[1], item[0]),
    )
    found = []
    for path, ratio in hot:
        severity: Severity = (
            "high" if ratio >= t.dup_high else "medium" if ratio >= t.dup_medium else "low"
        )
        metrics: dict[str, float] = {"dup_ratio": round(ratio, 3), "clone_pairs": pair_count[path]}
        if path in loc:
            metrics["dup_lines"] = round(ratio * loc[path])
        found.append(
            Insight(
                key=f"duplication_hotspot:{path}",
                kind="duplication_hotspot",
                severity=severity,
                title=f"{round(ratio * 100)}% of {path} is duplicated",
                detail=(
                    f"{round(ratio * 100)}% of the lines of {path} are clones, in "
                    f"{pair_count[path]} clone pairs shared with {len(partners[path])} other "
                    "files. Extract the shared code once."
                ),
                paths=(path, *sorted(partners[path])),
                metrics=metrics,
            )
        )
    return found


def _package_inits(path: str) -> list[str]:
    """The `__init__.py` of every package enclosing `path` (Python runs them on import)."""
    parts = path.split("/")[:-1]
    return ["/".join((*parts[:n], "__init__.py")) for n in range(len(parts), -1, -1)]


def untested_modules(
    files: Sequence[FileInput], imports: Iterable[ImportEdge], t: Thresholds
) -> list[Insight]:
    """Non-test modules that no test imports, directly or transitively.

    A module is *reached* when a test file imports it, or a reached module imports it, or
    (Python) it is the `__init__.py` of a package enclosing a reached module. Reported are the
    non-empty non-test files that are not reached, in a language some test file is written in
    (the import graph says nothing about a language no test uses): medium from
    `untested_medium_loc` lines, low below. A workspace with code but no test file at all gets a
    single `no_tests` insight instead of one per module.
    """
    by_path = {f.path: f for f in files}
    tests = sorted(f.path for f in files if f.is_test)
    code = [f for f in files if not f.is_test and f.loc > 0]
    if not tests:
        if not code:
            return []
        total = sum(f.loc for f in code)
        return [
            Insight(
                key="no_tests",
                kind="no_tests",
                severity="medium",
                title="No test files",
                detail=f"No file is marked as a test; none of the {len(code)} modules "
                f"({total} lines) runs in a test.",
                metrics={"modules": len(code), "loc": total},
            )
        ]
    graph: defaultdict[str, set[str]] = defaultdict(set)
    importers: Counter[str] = Counter()
    for e in imports:
        if e.target not in graph[e.source]:
            graph[e.source].add(e.target)
            importers[e.target] += 1
    reached = set(tests)
    todo = list(tests)
    while todo:
        node = todo.pop()
        for nxt in (*graph[node], *_package_inits(node)):
            if nxt in by_path and nxt not in reached:
                reached.add(nxt)
                todo.append(nxt)
    test_languages = {by_path[p].language for p in tests}
    missed = sorted(
        (f for f in code if f.path not in reached and f.language in test_languages),
        key=lambda f: (-f.loc, f.path),
    )
    return [
        Insight(
            key=f"untested_module:{f.path}",
            kind="untested_module",
            severity="medium" if f.loc >= t.untested_medium_loc else "low",
            title=f"No test imports {f.path}",
            detail=(
                f"No test imports {f.path}, directly or through other modules, so none of its "
                f"{f.loc} lines runs under test (it has {importers[f.path]} importers)."
            ),
            paths=(f.path,),
            metrics={"loc": f.loc, "importers": importers[f.path]},
        )
        for f in missed
    ]
