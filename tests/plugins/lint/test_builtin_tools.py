"""The four real tools over a copy of tests/fixtures/lint/project, workspace mode and per file."""

import dataclasses
from pathlib import Path

from aegisd_lint.bandit import Bandit
from aegisd_lint.issues import Issue, Severity, Status, Totals
from aegisd_lint.mypy import Mypy
from aegisd_lint.pytest import Pytest
from aegisd_lint.ruff import Ruff
from aegisd_lint.runner import run_tool
from aegisd_lint.tool import RunContext

from .conftest import (
    NO_BENCHMARK,
    TRUSTED,
    ProjectRuns,
    copy_project,
    expected_issues,
    found_issues,
)


def _issue(runs: ProjectRuns, tool: str, code: str) -> Issue:
    return next(issue for issue in runs.results[tool].issues if issue.code == code)


def test_ruff_reports_every_marked_issue(project_runs: ProjectRuns) -> None:
    result = project_runs.results["ruff"]
    expected = expected_issues(project_runs.root, "ruff")
    assert len(expected) == 2
    assert expected <= found_issues(result)
    assert result.status is Status.FAIL
    assert result.version and result.version[0].isdigit()
    unused = _issue(project_runs, "ruff", "F841")
    assert (unused.severity, unused.column, unused.end_column) == (Severity.MEDIUM, 5, 10)
    assert unused.fix == "Remove assignment to unused variable `value`"
    assert unused.url == "https://docs.astral.sh/ruff/rules/unused-variable"
    assert _issue(project_runs, "ruff", "F821").severity is Severity.HIGH


def test_mypy_reports_every_marked_issue(project_runs: ProjectRuns) -> None:
    result = project_runs.results["mypy"]
    expected = expected_issues(project_runs.root, "mypy")
    assert len(expected) == 4
    assert expected <= found_issues(result)
    # errors are medium and notes info, so the run warns rather than fails
    assert result.status is Status.WARN
    wrong_return = _issue(project_runs, "mypy", "return-value")
    assert (wrong_return.column, wrong_return.end_column) == (12, 21)
    assert wrong_return.severity is Severity.MEDIUM
    assert _issue(project_runs, "mypy", "misc").severity is Severity.INFO
    missing = _issue(project_runs, "mypy", "import-not-found")
    assert missing.url and missing.url.startswith("https://mypy.readthedocs.io/")


def test_bandit_reports_every_marked_issue(project_runs: ProjectRuns) -> None:
    result = project_runs.results["bandit"]
    expected = expected_issues(project_runs.root, "bandit")
    assert len(expected) == 5
    assert expected <= found_issues(result)
    assert result.status is Status.FAIL
    severities = {issue.code: issue.severity for issue in result.issues}
    assert severities["B324"] is Severity.CRITICAL  # HIGH severity, HIGH confidence
    assert severities["B301"] is Severity.MEDIUM  # MEDIUM, HIGH
    assert severities["B403"] is Severity.LOW  # LOW, HIGH
    assert _issue(project_runs, "bandit", "B602").url


def test_pytest_reports_failed_and_errored_tests(project_runs: ProjectRuns) -> None:
    result = project_runs.results["pytest"]
    assert found_issues(result) == expected_issues(project_runs.root, "pytest")
    assert result.totals == Totals(passed=1, failed=2, skipped=1, errors=2)
    assert result.file_totals == {
        "tests/test_core.py": Totals(passed=1, failed=2, skipped=1, errors=1),
        "tests/test_import_error.py": Totals(errors=1),
    }
    assert result.status is Status.FAIL
    messages = {issue.message.split(": ")[0] for issue in result.issues if issue.code == "FAILED"}
    assert messages == {
        "tests/test_core.py::test_add_wrong",
        "tests/test_core.py::TestGroup::test_in_class",
    }
    severities = {issue.code: issue.severity for issue in result.issues}
    assert severities == {"FAILED": Severity.HIGH, "ERROR": Severity.CRITICAL}
    collection = next(i for i in result.issues if i.path == "tests/test_import_error.py")
    assert "No module named 'missing_module_for_aegisd_tests'" in collection.message


def test_no_tool_writes_inside_the_workspace(project_runs: ProjectRuns) -> None:
    assert project_runs.after == project_runs.before
    assert any(project_runs.mypy_cache.iterdir())  # mypy cached where it was told to


async def test_per_file_runs_cover_only_the_given_files(project_runs: ProjectRuns) -> None:
    root = project_runs.root
    for tool in (Ruff(), Bandit(), Mypy()):
        result = await run_tool(tool, root, ["pkg/core.py"], cache_dir=project_runs.mypy_cache)
        assert result.files == ["pkg/core.py"]
        # ruff reads one file from stdin, under its name
        named = ["--stdin-filename=pkg/core.py", "-"] if tool.name == "ruff" else ["pkg/core.py"]
        assert result.argv[-len(named) :] == named
        assert {issue.path for issue in result.issues} == {"pkg/core.py"}
        expected = expected_issues(root, tool.name)
        assert {i for i in expected if i[0] == "pkg/core.py"} <= found_issues(result)


async def test_ruff_checks_one_file_through_stdin_as_it_would_by_name(
    project_runs: ProjectRuns,
) -> None:
    root = project_runs.root
    piped = await run_tool(Ruff(), root, ["pkg/core.py"])
    named = await run_tool(Ruff(), root, ["pkg/core.py", "pkg/__init__.py"])
    assert named.argv[-2:] == ["pkg/core.py", "pkg/__init__.py"]
    assert piped.issues and piped.issues == [i for i in named.issues if i.path == "pkg/core.py"]


def test_ruff_names_a_file_it_cannot_read(tmp_path: Path) -> None:
    ctx = RunContext(tmp_path, ("gone.py",), tmp_path, tmp_path, None, frozenset())
    assert Ruff().piped(ctx) is None
    (tmp_path / "here.py").write_text("x = 1\n")
    ctx = dataclasses.replace(ctx, files=("here.py",))
    assert Ruff().piped(ctx) == (["--stdin-filename=here.py", "-"], b"x = 1\n")


async def test_a_hanging_test_run_is_killed_at_its_timeout(project_runs: ProjectRuns) -> None:
    result = await run_tool(
        Pytest(),
        project_runs.root,
        ["slow/test_sleep.py"],
        timeout_s=1,
        extra_args=NO_BENCHMARK,
        **TRUSTED,
    )
    assert (result.status, result.error_code) == (Status.ERROR, "TIMEOUT")
    assert result.issues == [] and result.returncode is None


async def test_a_broken_tool_config_is_an_error(tmp_path: Path) -> None:
    root = copy_project(tmp_path)
    (root / "ruff.toml").write_text('line-length = "very long"\n')
    result = await run_tool(Ruff(), root)
    assert (result.status, result.error_code, result.returncode) == (Status.ERROR, "TOOL_FAILED", 2)
    assert result.message and "ruff.toml" in result.message


async def test_mypy_fatal_error_is_an_error(tmp_path: Path) -> None:
    result = await run_tool(Mypy(), tmp_path, ["missing.py"], cache_dir=tmp_path / "cache")
    assert (result.status, result.error_code) == (Status.ERROR, "TOOL_FAILED")
    assert result.message and "missing.py" in result.message
