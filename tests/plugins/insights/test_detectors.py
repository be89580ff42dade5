from __future__ import annotations

import pytest
from aegisd_insights import detectors
from aegisd_insights.inputs import (
    CloneData,
    ClonePair,
    FileInput,
    ImportCycle,
    ImportEdge,
    ImportHop,
    LintIssue,
    SymbolInput,
)
from aegisd_insights.insight import Thresholds

T = Thresholds()


@pytest.mark.parametrize(
    ("complexity", "severity"),
    [(9, None), (10, "medium"), (19, "medium"), (20, "high"), (39, "high"), (40, "critical")],
)
def test_complexity_thresholds(complexity: int, severity: str | None) -> None:
    found = detectors.complexity_hotspots([SymbolInput("f", "function", "m.py", 1, complexity)], T)
    assert [i.severity for i in found] == ([severity] if severity else [])


def test_complexity_ignores_unmeasured_symbols_and_obeys_custom_thresholds() -> None:
    symbols = [SymbolInput("C", "class", "m.py", 1), SymbolInput("f", "function", "m.py", 5, 6)]
    assert detectors.complexity_hotspots(symbols, T) == []
    custom = Thresholds(complexity_medium=5, complexity_high=6, complexity_critical=7)
    assert [i.severity for i in detectors.complexity_hotspots(symbols, custom)] == ["high"]


@pytest.mark.parametrize(
    ("loc", "severity"), [(500, None), (501, "high"), (999, "high"), (1000, "critical")]
)
def test_file_length_matches_max_file_length_rule(loc: int, severity: str | None) -> None:
    found = detectors.oversized_files([FileInput("m.py", "python", loc)], T)
    assert [i.severity for i in found] == ([severity] if severity else [])


def cycle(*hops: tuple[str, str, int], files: tuple[str, ...] = ()) -> ImportCycle:
    path = tuple(ImportHop(*hop) for hop in hops)
    return ImportCycle(files or tuple(sorted({h.source for h in path})), path)


def test_cycles_are_deduplicated_and_self_imports_ignored() -> None:
    found = detectors.import_cycles(
        [
            cycle(("b.py", "a.py", 3), ("a.py", "b.py", 1)),
            cycle(("a.py", "b.py", 1), ("b.py", "a.py", 3)),
            cycle(("c.py", "c.py", 1)),
        ]
    )
    assert [(i.key, i.severity) for i in found] == [("import_cycle:a.py -> b.py -> a.py", "medium")]
    assert found[0].detail.startswith("a.py:1 -> b.py:3 -> a.py (file:line imports the next")


def test_cycle_direction_is_kept() -> None:
    found = detectors.import_cycles(
        [
            cycle(("a.py", "b.py", 1), ("b.py", "c.py", 1), ("c.py", "a.py", 1)),
            cycle(("c.py", "b.py", 2), ("b.py", "a.py", 2), ("a.py", "c.py", 2)),
        ]
    )
    assert [i.key for i in found] == [
        "import_cycle:a.py -> b.py -> c.py -> a.py",
        "import_cycle:a.py -> c.py -> b.py -> a.py",
    ]
    assert found[1].detail.startswith("a.py:2 -> c.py:2 -> b.py:2 -> a.py ")


def test_a_cycle_shown_through_some_of_its_files_names_the_others() -> None:
    files = ("a.py", "b.py", "c.py", "d.py")
    [found] = detectors.import_cycles(
        [cycle(("a.py", "b.py", 5), ("b.py", "a.py", 9), files=files)]
    )
    assert (found.key, found.title, found.severity) == (
        "import_cycle:a.py -> b.py -> a.py",
        "Import cycle through 4 files",
        "high",
    )
    assert "4 files import each other in all; also c.py, d.py." in found.detail
    assert found.paths == files


def test_lint_hotspots_rank_critical_first_and_cap_at_top() -> None:
    issues = [
        *(LintIssue("many_high.py", "high") for _ in range(5)),
        LintIssue("one_critical.py", "critical", "S602"),
        *(LintIssue("quiet.py", "medium") for _ in range(9)),
        LintIssue("one_high.py", "high", "B006"),
    ]
    found = detectors.lint_hotspots(issues, Thresholds(lint_top=2))
    assert [(i.paths[0], i.severity) for i in found] == [
        ("one_critical.py", "critical"),
        ("many_high.py", "high"),
    ]


def test_lint_hotspot_names_at_most_five_rules() -> None:
    issues = [LintIssue("m.py", "high", f"R{n}") for n in range(7)]
    (found,) = detectors.lint_hotspots(issues, T)
    assert found.detail.endswith("rules: R0, R1, R2, R3, R4, ....")


@pytest.mark.parametrize(
    ("ratio", "severity"),
    [(0.149, None), (0.15, "low"), (0.3, "medium"), (0.49, "medium"), (0.5, "high"), (1.0, "high")],
)
def test_duplication_thresholds(ratio: float, severity: str | None) -> None:
    found = detectors.duplication_hotspots(CloneData({"m.py": ratio}), [], T)
    assert [i.severity for i in found] == ([severity] if severity else [])
    assert all("dup_lines" not in i.metrics for i in found)  # m.py is not among the files


def test_no_clone_data_means_no_duplication_insights() -> None:
    assert detectors.duplication_hotspots(None, [FileInput("m.py", "python", 10)], T) == []


def test_clone_within_one_file_counts_no_partner() -> None:
    pair = ClonePair("m.py", 1, 10, "m.py", 20, 29, 1.0)
    (found,) = detectors.duplication_hotspots(CloneData({"m.py": 0.5}, (pair,)), [], T)
    assert found.paths == ("m.py",)
    assert found.metrics["clone_pairs"] == 2  # the pair touches m.py on both sides


def py(path: str, loc: int = 10, is_test: bool = False, language: str = "python") -> FileInput:
    return FileInput(path, language, loc, is_test)


def untested(files: list[FileInput], edges: list[tuple[str, str]]) -> list[str]:
    found = detectors.untested_modules(files, [ImportEdge(a, b) for a, b in edges], T)
    return [i.key for i in found]


def test_reach_is_transitive_and_includes_enclosing_packages() -> None:
    files = [
        py("tests/test_app.py", is_test=True),
        py("app/__init__.py", 3),
        py("app/db/__init__.py", 2),
        py("app/db/engine.py"),
        py("app/cli.py"),
        py("app/api.py"),
        py("other/__init__.py", 4),
    ]
    edges = [("tests/test_app.py", "app/api.py"), ("app/api.py", "app/db/engine.py")]
    assert untested(files, edges) == [
        "untested_module:app/cli.py",
        "untested_module:other/__init__.py",
    ]


def test_test_helpers_pass_reach_on() -> None:
    files = [
        py("tests/test_a.py", is_test=True),
        py("tests/helpers.py"),
        py("lib/a.py"),
    ]
    edges = [("tests/test_a.py", "tests/helpers.py"), ("tests/helpers.py", "lib/a.py")]
    assert untested(files, edges) == []


def test_only_languages_some_test_is_written_in_and_only_non_empty_modules() -> None:
    files = [
        py("tests/test_a.py", is_test=True),
        py("web/app.js", 300, language="javascript"),
        py("lib/empty.py", 0),
        py("lib/big.py", 200),
    ]
    assert untested(files, []) == ["untested_module:lib/big.py"]
    found = detectors.untested_modules(files, [], T)
    assert [i.severity for i in found] == ["medium"]
    with_js_test = [*files, py("web/app.test.js", is_test=True, language="javascript")]
    assert untested(with_js_test, []) == [
        "untested_module:web/app.js",
        "untested_module:lib/big.py",
    ]


def test_no_test_files_gives_one_summary() -> None:
    found = detectors.untested_modules([py("a.py", 30), py("b.py", 12), py("c.py", 0)], [], T)
    assert [(i.key, i.severity, dict(i.metrics)) for i in found] == [
        ("no_tests", "medium", {"modules": 2, "loc": 42})
    ]
    assert detectors.untested_modules([py("empty.py", 0)], [], T) == []


def test_lint_hotspots_take_each_files_total_when_given() -> None:
    """Only the serious issues are read; the detail still counts every issue of the file."""
    serious = [LintIssue("m.py", "critical", "S602"), LintIssue("m.py", "high", "B006")]
    (found,) = detectors.lint_hotspots(serious, T, {"m.py": 40})
    assert found.metrics == {"critical": 1, "high": 1, "total": 40}
