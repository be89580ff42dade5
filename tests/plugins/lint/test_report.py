"""The merged state in a real SQLite file: storing results, new and fixed counts, tallies,
statuses, summaries, filters and pages, read per query as `lint.report` does."""

import random
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import peewee
import pytest
from aegisd_lint import queries, store
from aegisd_lint.issues import Issue, Severity, Status, Totals
from aegisd_lint.report import EVERYTHING, FileReport, Selection, Summary, summarize, tool_status
from aegisd_lint.settings import LintSettings, Thresholds
from aegisd_lint.state import Change, FileResult, Results, compare, overall

from aegisd.store.migrations import run_migrations


class Stored:
    """One workspace's results in a real database, and its tallies in memory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = peewee.SqliteDatabase(str(path))
        _, failed = run_migrations(self.db, store.MIGRATIONS)
        assert failed == {}
        self.results = Results()

    def replace(
        self, tool: str, updates: dict[str, FileResult], removed: Iterable[str] = ()
    ) -> Change:
        state = self.results.state(tool)
        delta = store.save_tool(self.db, "ws", tool, updates, list(removed), state)
        return self.results.apply(tool, delta)

    def drop(self, paths: list[str]) -> tuple[dict[str, list[str]], Change]:
        dropped = store.drop_paths(self.db, "ws", paths)
        change = Change()
        for tool, (_, delta) in dropped.items():
            change += self.results.apply(tool, delta)
        return {tool: gone for tool, (gone, _) in dropped.items()}, change

    def files(self, tools: list[str], selection: Selection = EVERYTHING) -> list[FileReport]:
        return queries.file_page(self.path, "ws", tools, selection)[0]

    def summary(
        self, tools: list[str], thresholds: Thresholds, selection: Selection = EVERYTHING
    ) -> Summary:
        tallies = queries.tallies(self.path, "ws", tools, selection) if selection.path else None
        return summarize(self.results, tools, thresholds, selection, tallies)


def _issue(tool: str, path: str, code: str, severity: Severity, line: int = 1) -> Issue:
    return Issue(
        tool=tool, code=code, message=f"{code} here", severity=severity, path=path, line=line
    )


@pytest.fixture
def results(tmp_path: Path) -> Iterator[Stored]:
    stored = Stored(tmp_path / "aegisd.db")
    stored.replace(
        "ruff",
        {
            "a.py": FileResult("k1", 1, [_issue("ruff", "a.py", "F401", Severity.MEDIUM, 3)]),
            "pkg/b.py": FileResult("k2", 1, [_issue("ruff", "pkg/b.py", "E501", Severity.LOW)]),
            "pkg/c.py": FileResult("k3", 1, []),
        },
    )
    stored.replace(
        "pytest",
        {
            "tests/test_a.py": FileResult(
                "k4",
                2,
                [_issue("pytest", "tests/test_a.py", "FAILED", Severity.HIGH)],
                Totals(passed=2, failed=1),
            ),
            "tests/test_b.py": FileResult("k5", 2, [], Totals(passed=3, skipped=1)),
        },
    )
    yield stored
    stored.db.close()


def test_replacing_counts_new_and_fixed_by_fingerprint(results: Stored) -> None:
    moved = _issue("ruff", "a.py", "F401", Severity.MEDIUM, 9)  # same issue, other line
    added = _issue("ruff", "a.py", "F841", Severity.MEDIUM)
    change = results.replace("ruff", {"a.py": FileResult("k9", 3, [moved, added])})
    assert change == Change(new=1, fixed=0)
    assert results.replace("ruff", {}, ["pkg/b.py", "nowhere.py"]) == Change(new=0, fixed=1)
    dropped, change = results.drop(["a.py", "tests/test_a.py"])
    assert dropped == {"ruff": ["a.py"], "pytest": ["tests/test_a.py"]}
    assert change == Change(new=0, fixed=3)
    # the running counts agree with the results left, and with the store's
    tallies = results.results
    assert +tallies.count("ruff") == Counter() and +tallies.count("pytest") == Counter()
    assert tallies.test_totals("pytest") == Totals(passed=3, skipped=1)
    assert tallies.test_totals("ruff") is None
    assert (tallies.file_count("ruff"), tallies.file_count("pytest")) == (1, 1)
    loaded, _ = store.load(results.db, "ws")
    assert (loaded.files, loaded.test_totals("pytest")) == (
        tallies.files,
        tallies.test_totals("pytest"),
    )
    assert {tool: +count for tool, count in loaded.severities.items()} == {
        "ruff": Counter(),
        "pytest": Counter(),
    }


def test_statuses_follow_thresholds_and_outcomes(results: Stored) -> None:
    tallies = results.results
    default = Thresholds()
    assert tool_status(tallies, "ruff", default) is Status.WARN
    assert tool_status(tallies, "ruff", Thresholds(fail_at=Severity.MEDIUM)) is Status.FAIL
    assert tool_status(tallies, "ruff", Thresholds(warn_at=Severity.HIGH)) is Status.PASS
    assert tool_status(tallies, "mypy", default) is None  # never ran
    tallies.state("ruff").unverified.add("a.py")
    assert tool_status(tallies, "ruff", default) is Status.ERROR
    tallies.state("pytest").outcome = "skipped"
    assert tool_status(tallies, "pytest", default) is Status.SKIPPED
    tallies.state("bandit")  # ran, found no file to check
    assert tool_status(tallies, "bandit", default) is Status.SKIPPED


def test_overall_status_precedence() -> None:
    assert overall([Status.PASS, Status.ERROR, Status.WARN]) is Status.ERROR
    assert overall([Status.ERROR, Status.FAIL]) is Status.FAIL
    assert overall([Status.SKIPPED, Status.PASS]) is Status.PASS
    assert overall([]) is Status.SKIPPED


def test_summary_counts_and_totals(results: Stored) -> None:
    summary = results.summary(["ruff", "pytest", "mypy"], Thresholds())
    assert (summary.status, summary.issues) == (Status.FAIL, 3)
    assert summary.by_severity == {
        Severity.INFO: 0, Severity.LOW: 1, Severity.MEDIUM: 1, Severity.HIGH: 1,
        Severity.CRITICAL: 0,
    }  # fmt: skip
    assert sorted(summary.by_tool) == ["pytest", "ruff"]
    assert summary.by_tool["pytest"].totals == Totals(passed=5, failed=1, skipped=1)
    assert summary.by_tool["ruff"].files == 3 and summary.by_tool["ruff"].totals is None
    assert summary.by_status[Status.WARN] == 1 and summary.by_status[Status.FAIL] == 1
    # a tool that is not installed any more shows no stale issues
    pytest_state = results.results.state("pytest")
    pytest_state.outcome, pytest_state.message = "skipped", "not installed"
    skipped = results.summary(["ruff", "pytest"], Thresholds()).by_tool["pytest"]
    assert (skipped.status, skipped.issues, skipped.message) == (Status.SKIPPED, 0, "not installed")
    assert [f.path for f in results.files(["ruff"])] == ["a.py", "pkg/b.py"]


def test_filters_select_issues_and_files(results: Stored) -> None:
    tools = ["ruff", "pytest"]
    in_pkg = results.files(tools, Selection("pkg"))
    assert [f.path for f in in_pkg] == ["pkg/b.py"]
    at_least_medium = Selection(min_severity=Severity.MEDIUM)
    assert [f.path for f in results.files(tools, at_least_medium)] == [
        "a.py",
        "tests/test_a.py",
    ]
    assert [f.total_issues for f in results.files(tools, at_least_medium)] == [1, 1]
    exactly_low = Selection(severity=Severity.LOW)
    assert results.summary(tools, Thresholds(), exactly_low).issues == 1
    # a clean file asked for by name is listed, with the run that checked it
    [clean] = results.files(tools, Selection("pkg/c.py"))
    assert (clean.issues, clean.checked) == ([], {"ruff": 1})
    assert results.files(tools, Selection("pkg/c")) == []  # a name, not a prefix


def test_the_status_is_the_one_of_what_is_selected(results: Stored) -> None:
    """lint.report {path} on a clean file in a failing workspace said `fail`, 0 issues."""
    summary, state = results.summary, results.results.state
    tools, thresholds = ["ruff", "pytest"], Thresholds()
    assert summary(tools, thresholds).status is Status.FAIL
    clean = summary(tools, thresholds, Selection("pkg/c.py"))
    assert (clean.status, clean.issues) == (Status.PASS, 0)
    # a tool with no result on the selected file has nothing to say about it
    assert clean.by_tool["pytest"].status is Status.SKIPPED
    assert (clean.by_tool["ruff"].status, clean.by_tool["ruff"].files) == (Status.PASS, 1)
    package = summary(tools, thresholds, Selection("pkg"))
    assert (package.status, package.by_tool["ruff"].files) == (Status.WARN, 2)
    tests = summary(tools, thresholds, Selection("tests/test_b.py"))
    assert tests.status is Status.PASS and tests.by_tool["pytest"].totals == Totals(
        passed=3, skipped=1
    )
    # severity filters: only what they keep decides
    assert summary(tools, thresholds, Selection(severity=Severity.LOW)).status is Status.WARN
    high = Selection(min_severity=Severity.HIGH)
    assert summary(["ruff"], thresholds, high).status is Status.PASS
    # a selected file without a verdict is an error; other files' errors are not
    state("ruff").unverified.add("pkg/b.py")
    assert summary(tools, thresholds, Selection("pkg")).status is Status.ERROR
    assert summary(tools, thresholds, Selection("a.py")).status is Status.WARN
    # a tool that failed as a whole has no verdict anywhere
    state("pytest").outcome = "error"
    assert summary(tools, thresholds, Selection("a.py")).status is Status.ERROR


def test_settings_defaults_and_overrides() -> None:
    settings = LintSettings.model_validate({"tools": {"mypy": {"timeout_s": 5, "args": ["-v"]}}})
    assert [settings.timeout_s(n) for n in ("ruff", "bandit", "mypy", "pytest", "x")] == [
        60, 120, 5, 600, 300,
    ]  # fmt: skip
    assert settings.tool("mypy").args == ["-v"] and settings.enabled("ruff")
    assert not LintSettings.model_validate({"tools": {"ruff": {"enabled": False}}}).enabled("ruff")


def test_new_and_fixed_match_a_whole_comparison_on_random_passes(tmp_path: Path) -> None:
    """Files are compared one by one; the counts equal one comparison of all issues."""
    rng = random.Random(5)
    paths, codes = [f"m{i}.py" for i in range(12)], ["E1", "E2", "F3"]

    def some_issues(path: str) -> list[Issue]:
        return [
            _issue("ruff", path, rng.choice(codes), Severity.LOW, rng.randrange(1, 5))
            for _ in range(rng.randrange(4))
        ]

    stored = Stored(tmp_path / "aegisd.db")
    current: dict[str, list[Issue]] = {}
    for _ in range(30):
        updates = {p: FileResult("k", 1, some_issues(p)) for p in rng.sample(paths, 5)}
        removed = [p for p in rng.sample(paths, 2) if p not in updates]
        touched = {*updates, *removed} & current.keys()
        before = [i for p in touched for i in current[p]]
        after = [i for r in updates.values() for i in r.issues]
        assert stored.replace("ruff", updates, removed) == compare(before, after)
        for path in removed:
            current.pop(path, None)
        current.update((path, result.issues) for path, result in updates.items())
    assert stored.results.count("ruff")[Severity.LOW] == sum(map(len, current.values()))
    stored.db.close()


def test_pages_of_files_cover_the_report_once(results: Stored) -> None:
    """A report read page by page (limit, cursor) is the whole report, in path order."""
    tools = ["ruff", "pytest"]
    whole = results.files(tools)
    seen: list[str] = []
    cursor = None
    while True:
        page, cursor = queries.file_page(results.path, "ws", tools, EVERYTHING, 1, cursor)
        seen += [f.path for f in page]
        if cursor is None:
            break
    assert seen == [f.path for f in whole] == ["a.py", "pkg/b.py", "tests/test_a.py"]
    assert queries.file_page(results.path, "ws", tools, EVERYTHING, 0) == ([], None)


def test_results_stored_before_the_counts_are_counted_by_the_migration(tmp_path: Path) -> None:
    """Rows written before the per-severity columns existed get their counts."""
    db = peewee.SqliteDatabase(str(tmp_path / "aegisd.db"))
    run_migrations(db, store.MIGRATIONS[:1])
    issues = [
        _issue("ruff", "a.py", "F401", Severity.MEDIUM),
        _issue("ruff", "a.py", "E1", Severity.LOW),
    ]
    db.execute_sql(
        "INSERT INTO lint_result VALUES ('ws', 'ruff', 'a.py', 'k', 1, ?, NULL)",
        (store.ISSUES.dump_json(issues, exclude_defaults=True).decode(),),
    )
    run_migrations(db, store.MIGRATIONS)
    loaded, _ = store.load(db, "ws")
    assert +loaded.count("ruff") == Counter({Severity.MEDIUM: 1, Severity.LOW: 1})
    db.close()
