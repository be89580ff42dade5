"""max_file_length: over 500 lines high, 1000 or more critical; workspace walk skips excludes."""

import os
from pathlib import Path

import pytest
from aegisd_lint.issues import Severity, Status
from aegisd_lint.max_file_length import MaxFileLength, count_lines
from aegisd_lint.runner import run_tool

from tests.fifoguard import released_if_blocked


def _write_lines(path: Path, lines: int, final_newline: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(f"x{i} = {i}" for i in range(lines))
    path.write_text(text + ("\n" if final_newline and lines else ""))


@pytest.mark.parametrize(
    ("lines", "severity"),
    [(500, None), (501, Severity.HIGH), (999, Severity.HIGH), (1000, Severity.CRITICAL)],
)
async def test_thresholds(tmp_path: Path, lines: int, severity: Severity | None) -> None:
    _write_lines(tmp_path / "mod.py", lines)
    result = await run_tool(MaxFileLength(), tmp_path, ["mod.py"])
    if severity is None:
        assert (result.status, result.issues) == (Status.PASS, [])
    else:
        [issue] = result.issues
        assert (issue.severity, issue.path, issue.line, issue.code) == (
            severity,
            "mod.py",
            501,
            "max_file_length",
        )
        assert issue.message.startswith(f"{lines} lines")
        assert result.status is Status.FAIL


def test_the_last_line_counts_without_a_final_newline(tmp_path: Path) -> None:
    _write_lines(tmp_path / "a.py", 501, final_newline=False)
    (tmp_path / "empty.py").write_text("")
    assert count_lines(tmp_path, "a.py", 1 << 20) == 501
    assert count_lines(tmp_path, "empty.py", 1 << 20) == 0


async def test_a_workspace_run_checks_code_files_outside_excluded_dirs(tmp_path: Path) -> None:
    for name in ("src/long.py", "web/long.ts", "node_modules/dep/long.js", "notes/long.txt"):
        _write_lines(tmp_path / name, 600)
    _write_lines(tmp_path / "src/short.py", 10)
    result = await run_tool(MaxFileLength(), tmp_path, exclude_dirs=["node_modules"])
    assert sorted(issue.path for issue in result.issues) == ["src/long.py", "web/long.ts"]
    assert result.version == "1"


async def test_a_listed_file_that_vanished_is_no_issue(tmp_path: Path) -> None:
    result = await run_tool(MaxFileLength(), tmp_path, ["gone.py"])
    assert (result.status, result.issues) == (Status.PASS, [])


async def test_a_listed_file_that_became_a_fifo_is_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.py")
    with released_if_blocked(tmp_path / "pipe.py") as blocked:
        result = await run_tool(MaxFileLength(), tmp_path, ["pipe.py"])
    assert not blocked() and (result.status, result.issues) == (Status.PASS, [])


async def test_a_file_over_the_workspace_limit_is_not_read(tmp_path: Path) -> None:
    _write_lines(tmp_path / "long.py", 2000)
    result = await run_tool(MaxFileLength(), tmp_path, ["long.py"], max_file_bytes=1024)
    assert (result.status, result.issues) == (Status.PASS, [])
