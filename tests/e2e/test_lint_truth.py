"""Lint results are never wrong presented as right: a tool that stops early is an error and the
files it did not check are checked by the next run; a report on a path has that path's
status; an edit that keeps a finding is not a new and a fixed one; a typo'd tool name in the
settings is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aegisd.client import RpcCallError
from tests.conftest import DaemonProcess
from tests.e2e.test_lint import found, history, replace, settled, tools_of, wait_for

# shaped like django's case: one file that does not parse among modules with real type errors
BROKEN = "def handler(request:\n    return request\n"
FIXED = "def handler(request: object) -> object:\n    return request\n"
MODELS = 'def count() -> int:\n    return "many"\n'
VIEWS = "from pkg.models import count\n\n\ndef title() -> str:\n    return count()\n"
HELPERS = "def double(x: int) -> int:\n    return 2 * x\n"


@pytest.fixture
def package(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    for name, text in [
        ("__init__.py", ""),
        ("broken.py", BROKEN),
        ("models.py", MODELS),
        ("views.py", VIEWS),
        ("helpers.py", HELPERS),
    ]:
        (root / "pkg" / name).write_text(text)
    return root


def test_a_tool_that_stops_early_is_an_error_until_a_run_checks_the_rest(
    daemon_factory: Any, package: Path, tmp_path: Path
) -> None:
    d: DaemonProcess = daemon_factory("--root", str(package))
    report = settled(d)
    mypy = report["summary"]["by_tool"]["mypy"]
    assert (mypy["status"], mypy["error_code"]) == ("error", "INCOMPLETE")
    assert "stopped early" in mypy["message"] and "pkg/broken.py" in mypy["message"]
    # the broken file's verdict is kept: its syntax errors
    assert {(path, code) for path, _, code in found(report, "mypy")} == {
        ("pkg/broken.py", "syntax")
    }
    # bandit could not scan the broken file: no verdict on it, said so
    bandit = report["summary"]["by_tool"]["bandit"]
    assert (bandit["status"], bandit["error_code"]) == ("error", "INCOMPLETE")
    # a file mypy never checked has no verdict, whatever the report is about
    on_models = d.call("lint.report", {"path": "pkg/models.py", "tool": "mypy"})
    assert on_models["status"] == "error" and on_models["files"] == []

    last = history(d)[0]["id"]
    replace(package / "pkg" / "broken.py", FIXED, tmp_path)
    wait_for(lambda: history(d)[0]["id"] > last)
    report = settled(d)
    assert report["summary"]["by_tool"]["mypy"]["status"] == "warn"
    assert found(report, "mypy") == {
        ("pkg/models.py", 2, "return-value"),
        ("pkg/views.py", 5, "return-value"),
    }
    since = [run for run in reversed(history(d)) if run["id"] > last]
    # no forced run: the edit's run checked the edited file, and the background lane the
    # files left unchecked at once (an edit may fix what stopped mypy)
    mypy_runs = [(run["trigger"], tools_of(run)["mypy"]["files_run"]) for run in since]
    assert mypy_runs[0] == ("change", 1)
    # (still the first pass's, "open", which had not checked them)
    assert [files for trigger, files in mypy_runs[1:] if trigger in ("open", "backlog")] == [4]
    assert report["summary"]["by_tool"]["bandit"]["status"] in ("pass", "warn")


def test_a_report_on_a_path_or_severity_has_the_status_of_what_it_selects(
    daemon_factory: Any, tmp_path: Path
) -> None:
    """A clean file in a failing workspace was reported `fail` with 0 issues."""
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "helpers.py").write_text(HELPERS)
    (root / "pkg" / "models.py").write_text(MODELS)
    (root / "pkg" / "undefined.py").write_text("print(nowhere)\n")
    d: DaemonProcess = daemon_factory("--root", str(root))
    assert settled(d)["status"] == "fail"
    clean = d.call("lint.report", {"path": "pkg/helpers.py"})
    assert (clean["status"], clean["summary"]["issues"]) == ("pass", 0)
    assert clean["summary"]["by_tool"]["ruff"]["status"] == "pass"
    assert d.call("lint.report", {"path": "pkg/models.py"})["status"] == "warn"
    assert d.call("lint.report", {"path": "pkg/undefined.py"})["status"] == "fail"
    assert d.call("lint.report", {"path": "pkg"})["status"] == "fail"
    assert d.call("lint.report", {"severity": "medium"})["status"] == "warn"
    assert d.call("lint.report", {"tool": "mypy", "min_severity": "high"})["status"] == "pass"


def test_a_long_file_edited_keeps_its_finding(daemon_factory: Any, tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    long_file = root / "long.py"
    long_file.write_text("x = 1\n" * 600)
    d: DaemonProcess = daemon_factory("--root", str(root))
    assert ("long.py", 501, "max_file_length") in found(settled(d), "max_file_length")
    run = d.call("audit.start_run", {"name": "grow the long file"})["id"]
    replace(long_file, "x = 1\n" * 640, tmp_path)

    def lengthened() -> dict[str, Any] | None:
        report = settled(d)
        [issue] = [
            i for f in report["files"] for i in f["issues"] if i["tool"] == "max_file_length"
        ]
        return report if issue["message"].startswith("640 lines") else None

    wait_for(lengthened)
    lint = d.call("audit.diff", {"run": run})["lint"]
    assert [i for i in lint["introduced"] + lint["fixed"] if i["tool"] == "max_file_length"] == []
    [edit, *_] = history(d)
    assert (
        tools_of(edit)["max_file_length"]["new"],
        tools_of(edit)["max_file_length"]["fixed"],
    ) == (
        0,
        0,
    )


def test_a_typo_in_a_tool_name_is_refused(daemon: DaemonProcess) -> None:
    d = daemon
    with pytest.raises(RpcCallError) as info:
        d.call(
            "settings.update", {"settings": {"lint": {"tools": {"pytestt": {"enabled": False}}}}}
        )
    error = info.value.error
    assert info.value.code_name == "INVALID_PARAMS" and "'pytestt'" in error["message"]
    assert error["data"]["errors"][0]["loc"] == ["settings", "lint", "tools", "pytestt"]
    assert "pytest" in error["data"]["tools"] and "ruff" in error["data"]["tools"]
    assert "pytestt" not in d.call("settings.get")["settings"]["lint"]["tools"]
    # a known tool's settings are taken
    d.call("settings.update", {"settings": {"lint": {"tools": {"pytest": {"enabled": False}}}}})
