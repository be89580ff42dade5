"""A backlog the linters fail on never holds up an edit's lint: the edit's files are linted
first, in a run of their own, and the backlog is retried in the background, backing off from
a tool that keeps failing on it instead of retrying it on every edit.

At 50,000 files ruff, mypy and bandit failed on their whole backlog, and every later run, even
for a one-file edit, sent that backlog again, failing again. Here `slowpoke`
(tests/e2e/lint_backlog_plugin.py) hangs on any run over more than one file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import DaemonProcess
from tests.e2e.test_lint import history, replace, settled, wait_for
from tests.e2e.test_lint_limits import ONLY_STANDINS, statuses

ENV = {"AEGISD_PLUGINS__EXTRA": "tests.e2e.lint_backlog_plugin"}
FILES = 100  # more than an edit's run takes besides its own files


def checked(d: DaemonProcess, path: str) -> int | None:
    """The run whose slowpoke verdict on `path` is current."""
    files = d.call("lint.report", {"path": path, "tool": "slowpoke"})["files"]
    return files[0]["checked"].get("slowpoke") if files else None


def backlog_runs(d: DaemonProcess, after: int) -> list[dict[str, Any]]:
    """Runs of the background lane after run `after` that started slowpoke."""
    return [
        run
        for run in history(d)
        if run["id"] > after
        and run["trigger"] in ("open", "backlog")
        and any(tool["tool"] == "slowpoke" and tool["started"] for tool in run["tools"])
    ]


def test_a_failing_backlog_never_holds_up_an_edit(daemon_factory: Any, tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    for n in range(FILES):
        (root / f"m{n:03}.py").write_text(f"x = {n}\n")
    d: DaemonProcess = daemon_factory("--root", str(root), env=ENV)
    settled(d)
    tools = {**ONLY_STANDINS, "slowpoke": {"timeout_s": 6}}
    d.call("settings.update", {"settings": {"lint": {"tools": tools}}})
    start = history(d)[0]["id"]

    # slowpoke's config changes: every file is due again, a backlog it hangs on
    (tmp_path / "hang").touch()
    (root / "slowpoke.toml").write_text("strict = true\n")
    wait_for(lambda: backlog_runs(d, start))
    report = settled(d)  # the backlog run timed out, and the tool backs off
    assert statuses(report) == {"slowpoke": "error"}
    assert report["summary"]["by_tool"]["slowpoke"]["error_code"] == "TIMEOUT"
    mark = history(d)[0]["id"]

    # each edit gets its verdict from a run of its own; the backlog is not sent along, nor
    # retried after every edit: after a few retries it waits out its backoff
    for n in range(5):
        last = history(d)[0]["id"]
        replace(root / f"m{n:03}.py", f"x = {n}  # edited\n", tmp_path)
        wait_for(lambda n=n, last=last: (checked(d, f"m{n:03}.py") or 0) > last)
        settled(d)
    edits = [run for run in history(d) if run["id"] > mark and run["trigger"] == "change"]
    assert len(edits) >= 5
    assert all(tool["files_run"] == 1 for run in edits for tool in run["tools"] if tool["started"])
    assert len(backlog_runs(d, mark)) <= 3
    assert d.call("lint.report")["summary"]["by_tool"]["slowpoke"]["status"] == "error"

    # a client's lint.run still lints everything, and nothing stays unchecked
    (tmp_path / "hang").unlink()
    ran = d.call("lint.run", {"tools": ["slowpoke"]})
    assert ran["status"] == "pass"
    assert sum("slowpoke" in f["checked"] for f in ran["files"]) == FILES


def test_a_large_workspace_gets_no_automatic_whole_pass(
    daemon_factory: Any, tmp_path: Path
) -> None:
    """Above `full_pass_max_files` the automatic first pass (hours of CPU at 50,000 files)
    does not run: only changed files are linted, lint.run lints the rest, and lint.report
    says so."""
    root = tmp_path / "project"
    root.mkdir()
    for n in range(3):
        (root / f"old{n}.py").write_text("import os\n")
    d: DaemonProcess = daemon_factory("--root", str(root))
    assert settled(d)["full_pass"] is True
    quick = {name: {"enabled": False} for name in ("mypy", "bandit", "pytest")}
    d.call("settings.update", {"settings": {"full_pass_max_files": 8, "lint": {"tools": quick}}})
    assert d.stop() == 0

    # 13 files now, over the limit: the ones the daemon never linted stay so after a restart
    for n in range(10):
        (root / f"new{n}.py").write_text("import sys\n")
    d = daemon_factory("--root", str(root))
    report = settled(d)
    assert report["full_pass"] is False
    assert "full_pass_max_files" in report["message"] and "lint.run" in report["message"]
    assert {f["path"] for f in report["files"]} == {"old0.py", "old1.py", "old2.py"}

    # an edit is linted
    replace(root / "new0.py", "import json\n", tmp_path)
    wait_for(lambda: any(f["path"] == "new0.py" for f in settled(d)["files"]))
    assert {f["path"] for f in settled(d)["files"]} == {"old0.py", "old1.py", "old2.py", "new0.py"}

    # a client's lint.run lints everything
    ran = d.call("lint.run")
    assert len(ran["files"]) == 13 and ran["full_pass"] is False
    assert "ruff" in {tool["tool"] for tool in ran["run"]["tools"] if tool["started"]}


def test_an_edit_during_the_first_pass_is_linted_first(daemon_factory: Any, tmp_path: Path) -> None:
    """At 50,000 files the first pass takes long; an edit made meanwhile gets its verdict
    from a run of its own, not at the end of the pass (here a pass that hangs)."""
    root = tmp_path / "project"
    root.mkdir()
    for n in range(FILES):
        (root / f"m{n:03}.py").write_text(f"x = {n}\n")
    (tmp_path / "hang").touch()  # slowpoke hangs on the first pass's chunk
    d: DaemonProcess = daemon_factory("--root", str(root), env=ENV)
    wait_for(lambda: d.call("lint.report", {"path": "m000.py"})["pending"])
    replace(root / "m042.py", "x = 42  # edited\n", tmp_path)
    wait_for(lambda: checked(d, "m042.py"))
    report = d.call("lint.report", {"path": "m000.py"})
    assert report["pending"] and report["running"]  # the first pass is still going
    wait_for(lambda: history(d))  # the edit's run ends (its heavy tools too) before the pass
    assert [run["trigger"] for run in history(d)] == ["change"]
