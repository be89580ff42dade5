"""Tools run in batches, each under the tool's timeout and memory limit: a batch that hangs or
runs out of memory leaves only its own files unchecked, and the next run checks them.

The tools are stand-ins (tests/e2e/lint_limits_plugin.py) checking two files per batch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import DaemonProcess
from tests.e2e.test_lint import replace, settled, wait_for

FILES = ["a.py", "b.py", "c.py", "d.py", "e.py", "f.py"]
ENV = {"AEGISD_PLUGINS__EXTRA": "tests.e2e.lint_limits_plugin"}
ONLY_STANDINS = {
    name: {"enabled": False} for name in ("ruff", "mypy", "bandit", "pytest", "max_file_length")
}


def checked_by(report: dict[str, Any], tool: str) -> dict[str, int]:
    """Each file's run that gave `tool`'s current verdict on it."""
    return {f["path"]: f["checked"][tool] for f in report["files"] if tool in f["checked"]}


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {tool: summary["status"] for tool, summary in report["summary"]["by_tool"].items()}


def test_a_failing_batch_costs_only_its_own_files(daemon_factory: Any, tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    for name in FILES:
        (root / name).write_text("x = 1\n")
    d: DaemonProcess = daemon_factory("--root", str(root), env=ENV)
    settled(d)
    d.call(
        "settings.update",
        {
            "settings": {
                "lint": {
                    "tools": {
                        **ONLY_STANDINS,
                        "sluggish": {"timeout_s": 8},  # a healthy batch starts well within it
                        "hungry": {"max_memory_mb": 100},
                    }
                }
            }
        },
    )
    replace(root / "c.py", "x = 1  # SLOW\n", tmp_path)
    replace(root / "e.py", "x = 1  # HUNGRY\n", tmp_path)
    # wait for the automatic run that sees both edits, so none lands after the forced one
    wait_for(lambda: statuses(settled(d)) == {"sluggish": "error", "hungry": "error"})

    ran = d.call("lint.run", {"force": True})
    tools = {tool["tool"]: tool for tool in ran["run"]["tools"]}
    assert (tools["sluggish"]["status"], tools["sluggish"]["error_code"]) == ("error", "TIMEOUT")
    assert "(1 of 3 batches; 2 files unchecked)" in tools["sluggish"]["message"]
    assert (tools["hungry"]["status"], tools["hungry"]["error_code"]) == (
        "error",
        "OUT_OF_MEMORY",
    )
    assert "100 MiB" in tools["hungry"]["message"]
    run = ran["run"]["id"]
    report = d.call("lint.report")
    # the other batches' files have this run's verdicts; the failed batches' have none
    assert {p for p, r in checked_by(report, "sluggish").items() if r == run} == {
        "a.py", "b.py", "e.py", "f.py",
    }  # fmt: skip
    assert {p for p, r in checked_by(report, "hungry").items() if r == run} == {
        "a.py", "b.py", "c.py", "d.py",
    }  # fmt: skip
    # what a report on one file says follows that file's verdicts
    assert d.call("lint.report", {"path": "a.py"})["status"] == "pass"
    assert d.call("lint.report", {"path": "d.py"})["status"] == "error"

    # fixed: the next (incremental) run checks the files left unchecked as well
    replace(root / "c.py", "x = 1\n", tmp_path)
    after = wait_for(
        lambda: (r := settled(d))["summary"]["by_tool"]["sluggish"]["status"] == "pass" and r
    )
    assert set(checked_by(after, "sluggish")) == set(FILES)
    assert after["summary"]["by_tool"]["hungry"]["status"] == "error"  # e.py still hoards
    # Only what changed or was left unchecked ran again (in one run or several: the watcher
    # may report the edit in more than one batch); the rest kept the forced run's verdicts.
    sluggish, hungry = checked_by(after, "sluggish"), checked_by(after, "hungry")
    assert sluggish["c.py"] > run and sluggish["d.py"] > run
    assert {p for p, r in sluggish.items() if r == run} == {"a.py", "b.py", "e.py", "f.py"}
    assert all(hungry[p] == run for p in ("a.py", "b.py", "d.py"))
