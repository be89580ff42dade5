"""The merged state: replacing results, new and fixed counts, statuses, summaries, filters."""

import random
from collections import Counter

from aegisd_lint.issues import Issue, Severity, Status, Totals
from aegisd_lint.report import Selection, file_reports, summarize, tool_status
from aegisd_lint.settings import LintSettings, Thresholds
from aegisd_lint.state import Change, FileResult, Results, compare, overall


def _issue(tool: str, path: str, code: str, severity: Severity, line: int = 1) -> Issue:
    return Issue(
        tool=tool, code=code, message=f"{code} here", severity=severity, path=path, line=line
    )


def _results() -> Results:
    results = Results()
    results.replace(
        "ruff",
        {
            "a.py": FileResult("k1", 1, [_issue("ruff", "a.py", "F401", Severity.MEDIUM, 3)]),
            "pkg/b.py": FileResult("k2", 1, [_issue("ruff", "pkg/b.py", "E501", Severity.LOW)]),
            "pkg/c.py": FileResult("k3", 1, []),
        },
    )
    results.replace(
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
    return results


def test_replacing_counts_new_and_fixed_by_fingerprint() -> None:
    results = _results()
    moved = _issue("ruff", "a.py", "F401", Severity.MEDIUM, 9)  # same issue, other line
    added = _issue("ruff", "a.py", "F841", Severity.MEDIUM)
    change = results.replace("ruff", {"a.py": FileResult("k9", 3, [moved, added])})
    assert change == Change(new=1, fixed=0)
    assert results.replace("ruff", {}, ["pkg/b.py", "nowhere.py"]) == Change(new=0, fixed=1)
    dropped, change = results.drop_paths(["a.py", "tests/test_a.py"])
    assert dropped == {"ruff": ["a.py"], "pytest": ["tests/test_a.py"]}
    assert change == Change(new=0, fixed=3)
    # the running counts agree with the results left
    assert +results.count("ruff") == Counter()
    assert +results.count("pytest") == Counter()
    assert results.test_totals("pytest") == Totals(passed=3, skipped=1)
    assert results.test_totals("ruff") is None


def test_statuses_follow_thresholds_and_outcomes() -> None:
    results = _results()
    default = Thresholds()
    assert tool_status(results, "ruff", default) is Status.WARN
    assert tool_status(results, "ruff", Thresholds(fail_at=Severity.MEDIUM)) is Status.FAIL
    assert tool_status(results, "ruff", Thresholds(warn_at=Severity.HIGH)) is Status.PASS
    assert tool_status(results, "mypy", default) is None  # never ran
    results.state("ruff").unverified.add("a.py")
    assert tool_status(results, "ruff", default) is Status.ERROR
    results.state("pytest").outcome = "skipped"
    assert tool_status(results, "pytest", default) is Status.SKIPPED
    results.state("bandit")  # ran, found no file to check
    assert tool_status(results, "bandit", default) is Status.SKIPPED


def test_overall_status_precedence() -> None:
    assert overall([Status.PASS, Status.ERROR, Status.WARN]) is Status.ERROR
    assert overall([Status.ERROR, Status.FAIL]) is Status.FAIL
    assert overall([Status.SKIPPED, Status.PASS]) is Status.PASS
    assert overall([]) is Status.SKIPPED


def test_summary_counts_and_totals() -> None:
    results = _results()
    summary = summarize(results, ["ruff", "pytest", "mypy"], Thresholds())
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
    results.state("pytest").outcome, results.state("pytest").message = "skipped", "not installed"
    skipped = summarize(results, ["ruff", "pytest"], Thresholds()).by_tool["pytest"]
    assert (skipped.status, skipped.issues, skipped.message) == (Status.SKIPPED, 0, "not installed")
    assert [f.path for f in file_reports(results, ["ruff", "pytest"])] == [
        "a.py",
        "pkg/b.py",
    ]


def test_filters_select_issues_and_files() -> None:
    results = _results()
    tools = ["ruff", "pytest"]
    in_pkg = file_reports(results, tools, Selection("pkg"))
    assert [f.path for f in in_pkg] == ["pkg/b.py"]
    at_least_medium = Selection(min_severity=Severity.MEDIUM)
    assert [f.path for f in file_reports(results, tools, at_least_medium)] == [
        "a.py",
        "tests/test_a.py",
    ]
    exactly_low = Selection(severity=Severity.LOW)
    assert summarize(results, tools, Thresholds(), exactly_low).issues == 1
    # a clean file asked for by name is listed, with the run that checked it
    [clean] = file_reports(results, tools, Selection("pkg/c.py"))
    assert (clean.issues, clean.checked) == ([], {"ruff": 1})


def test_the_status_is_the_one_of_what_is_selected() -> None:
    """lint.report {path} on a clean file in a failing workspace said `fail`, 0 issues."""
    results = _results()
    tools, thresholds = ["ruff", "pytest"], Thresholds()
    assert summarize(results, tools, thresholds).status is Status.FAIL
    clean = summarize(results, tools, thresholds, Selection("pkg/c.py"))
    assert (clean.status, clean.issues) == (Status.PASS, 0)
    # a tool with no result on the selected file has nothing to say about it
    assert clean.by_tool["pytest"].status is Status.SKIPPED
    assert (clean.by_tool["ruff"].status, clean.by_tool["ruff"].files) == (Status.PASS, 1)
    package = summarize(results, tools, thresholds, Selection("pkg"))
    assert (package.status, package.by_tool["ruff"].files) == (Status.WARN, 2)
    tests = summarize(results, tools, thresholds, Selection("tests/test_b.py"))
    assert tests.status is Status.PASS and tests.by_tool["pytest"].totals == Totals(
        passed=3, skipped=1
    )
    # severity filters: only what they keep decides
    assert summarize(results, tools, thresholds, Selection(severity=Severity.LOW)).status is (
        Status.WARN
    )
    high = Selection(min_severity=Severity.HIGH)
    assert summarize(results, ["ruff"], thresholds, high).status is Status.PASS
    # a selected file without a verdict is an error; other files' errors are not
    results.state("ruff").unverified.add("pkg/b.py")
    assert summarize(results, tools, thresholds, Selection("pkg")).status is Status.ERROR
    assert summarize(results, tools, thresholds, Selection("a.py")).status is Status.WARN
    # a tool that failed as a whole has no verdict anywhere
    results.state("pytest").outcome = "error"
    assert summarize(results, tools, thresholds, Selection("a.py")).status is Status.ERROR


def test_settings_defaults_and_overrides() -> None:
    settings = LintSettings.model_validate({"tools": {"mypy": {"timeout_s": 5, "args": ["-v"]}}})
    assert [settings.timeout_s(n) for n in ("ruff", "bandit", "mypy", "pytest", "x")] == [
        60, 120, 5, 600, 300,
    ]  # fmt: skip
    assert settings.tool("mypy").args == ["-v"] and settings.enabled("ruff")
    assert not LintSettings.model_validate({"tools": {"ruff": {"enabled": False}}}).enabled("ruff")


def test_new_and_fixed_match_a_whole_comparison_on_random_passes() -> None:
    """Files are compared one by one; the counts equal one comparison of all issues."""
    rng = random.Random(5)
    paths, codes = [f"m{i}.py" for i in range(12)], ["E1", "E2", "F3"]

    def some_issues(path: str) -> list[Issue]:
        return [
            _issue("ruff", path, rng.choice(codes), Severity.LOW, rng.randrange(1, 5))
            for _ in range(rng.randrange(4))
        ]

    results = Results()
    for _ in range(30):
        updates = {p: FileResult("k", 1, some_issues(p)) for p in rng.sample(paths, 5)}
        removed = rng.sample(paths, 2)
        current = results.of("ruff")
        touched = {*updates, *removed} & current.keys()
        before = [i for p in touched for i in current[p].issues]
        after = [i for r in updates.values() for i in r.issues]
        assert results.replace("ruff", updates, removed) == compare(before, after)


def test_a_snapshot_is_not_changed_by_later_results() -> None:
    results = _results()
    copy = results.snapshot()
    results.replace("ruff", {"a.py": FileResult("k9", 3, [])}, ["pkg/b.py"])
    results.state("ruff").outcome = "failed"
    assert len(copy) == 5 and len(results) == 4
    assert copy.of("ruff")["a.py"].key == "k1" and "pkg/b.py" in copy.of("ruff")
    assert copy.count("ruff")[Severity.MEDIUM] == 1
    assert copy.state("ruff").outcome != "failed"
