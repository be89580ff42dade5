"""The linters through a real daemon: full and incremental runs, the cache across restarts,
config invalidation, and tools that are missing, hang or print garbage."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from wsclient import WsClient

from aegisd.client import RpcCallError
from tests.conftest import DaemonProcess
from tests.plugins.lint.conftest import copy_project, expected_issues

TOOLS = ["bandit", "max_file_length", "mypy", "pytest", "ruff"]
USER_PY = "from pkg.util import add\n\n\ndef total() -> int:\n    return add(1, 2)\n"
UTIL_PY = (
    '"""Now returns text, and imports what it does not use."""\n\nimport os\n\n\n'
    "def add(a: int, b: int) -> str:\n    return str(a + b)\n"
)
GARBAGE = "#!/bin/sh\necho 'this is not JSON'\n"


def wait_for(check: Callable[[], Any], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return value


def settled(d: DaemonProcess) -> dict[str, Any]:
    """The report once the workspace and its linting have caught up with the files."""

    def fresh() -> dict[str, Any] | None:
        report: dict[str, Any] = d.call("lint.report")
        return None if report["pending"] or report["running"] else report

    return wait_for(fresh)  # type: ignore[no-any-return]


def history(d: DaemonProcess) -> list[dict[str, Any]]:
    return d.call("lint.history", {"limit": 50})["runs"]  # type: ignore[no-any-return]


def found(report: dict[str, Any], tool: str | None = None) -> set[tuple[str, int, str]]:
    return {
        (issue["path"], issue["line"], issue["code"])
        for file in report["files"]
        for issue in file["issues"]
        if tool is None or issue["tool"] == tool
    }


def tools_of(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {tool["tool"]: tool for tool in run["tools"]}


def replace(path: Path, text: str, scratch: Path) -> None:
    """Write like an editor's atomic save, so one change batch carries the whole edit."""
    temp = scratch / f"{path.name}.tmp"
    temp.write_text(text)
    os.replace(temp, path)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = copy_project(tmp_path, venv=True)
    (root / "pkg" / "user.py").write_text(USER_PY)
    return root


async def test_incremental_runs_cache_and_config_through_restarts(
    daemon_factory: Any, project: Path, tmp_path: Path
) -> None:
    d: DaemonProcess = daemon_factory("--root", str(project))
    report = settled(d)
    [opened] = history(d)
    assert opened["trigger"] == "open" and opened["tools_started"] == 5
    for tool in ("ruff", "mypy", "bandit", "pytest"):
        assert expected_issues(project, tool) <= found(report, tool), tool
    assert report["summary"]["by_tool"]["pytest"]["totals"] == {
        "passed": 1, "failed": 2, "skipped": 1, "errors": 2,
    }  # fmt: skip
    assert report["status"] == "fail" and sorted(report["summary"]["by_tool"]) == TOOLS
    high = d.call("lint.report", {"path": "pkg", "min_severity": "high"})
    assert found(high) == {
        ("pkg/core.py", 14, "B602"),
        ("pkg/core.py", 22, "B324"),
        ("pkg/core.py", 26, "F821"),
    }
    assert high["summary"]["issues"] == 3

    # nothing changed: lint.run starts no tool
    again = d.call("lint.run")
    assert (again["run"]["tools_started"], again["run"]["files_run"]) == (0, 0)
    assert again["run"]["cached_files"] == opened["files_run"] == 30

    # one edit: per-file tools on that file, mypy on it and its importers, the affected tests
    async with WsClient(d.socket) as ws:
        await ws.call("events.subscribe", {"topics": ["lint.updated"]})
        replace(project / "pkg" / "util.py", UTIL_PY, tmp_path)
        while not (update := await ws.next("lint.updated", timeout=60))["done"]:
            pass
    assert update["run"] > again["run"]["id"] and update["new"] >= 3
    assert update["summary"]["by_tool"]["ruff"]["issues"] == 3
    report = settled(d)
    [edited, *_] = history(d)
    assert edited["id"] == update["run"] and edited["trigger"] == "change"
    ran = {name: tool["files_run"] for name, tool in tools_of(edited).items()}
    assert ran == {"bandit": 1, "max_file_length": 1, "mypy": 3, "pytest": 1, "ruff": 1}
    checked = {f["path"]: f["checked"] for f in report["files"]}
    assert checked["pkg/core.py"]["ruff"] == opened["id"]
    mypy_now = {path for path, runs in checked.items() if runs.get("mypy") == edited["id"]}
    assert mypy_now == {"pkg/util.py", "pkg/user.py", "tests/test_core.py"}
    # the type error the edit causes in a module that imports it
    assert ("pkg/user.py", 5, "return-value") in found(report, "mypy")
    assert ("pkg/util.py", 3, "F401") in found(report, "ruff")

    # a deleted file drops its issues
    (project / "pkg" / "core.py").unlink()
    wait_for(lambda: history(d)[0]["id"] > edited["id"])
    report = settled(d)
    assert not any(path == "pkg/core.py" for path, _, _ in found(report))
    assert history(d)[0]["fixed"] >= 10 and history(d)[0]["dropped_files"] == 1
    before_restart = found(report)
    assert d.stop() == 0

    # the cache survives a restart: nothing runs again
    d2: DaemonProcess = daemon_factory("--root", str(project))
    report = settled(d2)
    rerun = d2.call("lint.run")["run"]
    assert (rerun["tools_started"], rerun["files_run"]) == (0, 0) and rerun["cached_files"] > 0
    assert found(report) == before_restart == found(d2.call("lint.report"))

    # a tool's config file invalidates that tool's results only
    last = history(d2)[0]["id"]
    (project / "ruff.toml").write_text('[lint]\nselect = ["E", "F", "W", "B", "D100"]\n')
    wait_for(lambda: history(d2)[0]["id"] > last)
    report = settled(d2)
    [config_run, *_] = history(d2)
    started = {name for name, tool in tools_of(config_run).items() if tool["started"]}
    assert started == {"ruff"} and tools_of(config_run)["ruff"]["files_run"] == 6
    assert ("tests/test_core.py", 1, "D100") in found(report, "ruff")


@pytest.fixture
def small_project(tmp_path: Path) -> Path:
    root = copy_project(tmp_path, venv=True)
    for path in ("pkg/core.py", "tests/test_core.py", "tests/test_import_error.py"):
        (root / path).unlink()
    bandit = root / ".venv" / "bin" / "bandit"  # the workspace's own bandit comes first
    bandit.write_text(GARBAGE)
    bandit.chmod(0o755)
    return root


def test_missing_garbage_and_hanging_tools(daemon_factory: Any, small_project: Path) -> None:
    env = {"AEGISD_PLUGINS__EXTRA": "tests.e2e.lint_tools_plugin"}
    d: DaemonProcess = daemon_factory("--root", str(small_project), env=env)
    report = settled(d)
    by_tool = report["summary"]["by_tool"]
    assert (by_tool["not-installed"]["status"], by_tool["not-installed"]["message"]) == (
        "skipped",
        "not installed",
    )
    assert (by_tool["bandit"]["status"], by_tool["bandit"]["error_code"]) == ("error", "BAD_OUTPUT")
    assert by_tool["ruff"]["status"] == "pass" and report["status"] == "error"
    tools = {tool["name"]: tool for tool in d.call("lint.tools")["tools"]}
    assert tools["not-installed"]["installed"] is False
    assert tools["bandit"]["command"] == [str(small_project / ".venv" / "bin" / "bandit")]
    assert tools["ruff"]["command"] != ["aegisd-second-ruff"]
    [problem] = d.call("lint.tools")["problems"]
    assert "'ruff' of plugin tests.e2e.lint_tools_plugin ignored" in problem

    # a test that hangs is killed at the tool's timeout
    d.call("settings.update", {"settings": {"lint": {"tools": {"pytest": {"timeout_s": 1}}}}})
    run = d.call("lint.run", {"tools": ["pytest"], "paths": ["slow/test_sleep.py"]})["run"]
    [pytest_run] = run["tools"]
    assert (pytest_run["status"], pytest_run["error_code"]) == ("error", "TIMEOUT")
    assert pytest_run["files_run"] == 1

    # (lint.run is rate-limited as heavy work: its path checks are the report's)
    for method, params, code in [
        ("lint.run", {"tools": ["nope"]}, "INVALID_PARAMS"),
        ("lint.report", {"path": "../outside.py"}, "INVALID_PATH"),
        ("lint.report", {"path": "missing.py"}, "NOT_FOUND"),
        ("lint.report", {"tool": "nope"}, "NOT_FOUND"),
        ("lint.history", {"limit": 0}, "INVALID_PARAMS"),
    ]:
        with pytest.raises(RpcCallError) as info:
            d.call(method, params)
        assert info.value.code_name == code, (method, params)
