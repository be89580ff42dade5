"""Batches: cut by file count and command-line bytes, joined without double counting; a real
tool over more file names than one command line holds."""

import os
from pathlib import Path

import pytest
from aegisd_lint.bandit import Bandit
from aegisd_lint.batches import ARG_BYTES, merge, split
from aegisd_lint.issues import Issue, Severity, Status, ToolResult, Totals
from aegisd_lint.mypy import Mypy
from aegisd_lint.pytest import Pytest
from aegisd_lint.ruff import Ruff
from aegisd_lint.runner import run_tool
from aegisd_lint.tool import CommandTool


def test_batches_keep_the_order_and_their_limits() -> None:
    names = [f"m{i}.py" for i in range(7)]
    assert split(names, 3) == [tuple(names[:3]), tuple(names[3:6]), tuple(names[6:])]
    assert split(names, None) == [tuple(names)]
    long = ["d/" + "x" * 95 + f"{i}.py" for i in range(10)]  # 105 bytes with NUL and "./"
    assert [len(batch) for batch in split(long, None, arg_bytes=400)] == [3, 3, 3, 1]
    assert split(["y" * 1000], None, arg_bytes=400) == [("y" * 1000,)]  # alone, still run
    assert split([], 5) == []


def _result(files: list[str], issues: list[str], **fields: object) -> ToolResult:
    found = [
        Issue(tool="t", code="X", message="m", severity=Severity.LOW, path=path) for path in issues
    ]
    return ToolResult(tool="t", status=Status.WARN, files=files, issues=found, **fields)


def test_joined_batches_count_each_file_once_and_keep_what_failed() -> None:
    first = _result(["a.py", "b.py"], ["a.py", "c.py"], totals=Totals(passed=1))
    second = _result(
        ["c.py", "d.py"],
        ["c.py"],
        version="1.0",
        totals=Totals(failed=2),
        file_totals={"c.py": Totals(failed=2)},
    )
    timed_out = ToolResult(
        tool="t",
        status=Status.ERROR,
        files=["e.py", "f.py"],
        error_code="TIMEOUT",
        message="timed out after 5 s",
        unchecked=["e.py", "f.py"],
    )
    joined = merge("t", [first, second, timed_out], 42)
    # the first batch's finding on c.py (a file it followed) is the second batch's to report
    assert [issue.path for issue in joined.issues] == ["a.py", "c.py"]
    assert (joined.status, joined.error_code, joined.unchecked) == (
        Status.ERROR,
        "TIMEOUT",
        ["e.py", "f.py"],
    )
    assert joined.message == "timed out after 5 s (1 of 3 batches; 2 files unchecked)"
    assert joined.files == ["a.py", "b.py", "c.py", "d.py", "e.py", "f.py"]
    assert joined.totals == Totals(passed=1, failed=2) and joined.version == "1.0"
    assert joined.file_totals == {"c.py": Totals(failed=2)} and joined.duration_ms == 42
    clean = merge("t", [first, second], 1)
    assert (clean.status, clean.unchecked, clean.error_code) == (Status.WARN, None, None)


async def test_more_file_names_than_a_command_line_holds(tmp_path: Path) -> None:
    """53,640 paths in one argv failed with "Argument list too long": here 12,000 names of
    200 bytes, 2.4 MB, more than Linux's ARG_MAX (2 MiB)."""
    root = tmp_path / "ws"
    folder = root / ("d" * 120)
    folder.mkdir(parents=True)
    names = []
    for i in range(12_000):
        name = f"{'m' * 70}{i:05}.py"
        (folder / name).write_text("import os\n")
        names.append(f"{folder.name}/{name}")
    assert sum(len(name) + 1 for name in names) > os.sysconf("SC_ARG_MAX") > ARG_BYTES
    result = await run_tool(Ruff(), root, names, timeout_s=600)
    assert result.status is Status.WARN, result.message
    assert sorted(issue.path for issue in result.issues) == sorted(names)
    assert {issue.code for issue in result.issues} == {"F401"}


#: a stand-in for each command tool, from the workspace's (trusted) virtualenv: it logs its
#: arguments and their size, and answers as the real tool does with nothing to report
STAND_IN = r"""#!/bin/sh
case "$1" in --version) echo "stand-in 1.0"; exit 0;; esac
all="$*"
echo "$# ${#all}" >> "$0.sizes"
for arg in "$@"; do
  case "$arg" in
    --junitxml=*) printf '<testsuite tests="0"/>' > "${arg#--junitxml=}";;
    package_number_*) echo "$arg" >> "$0.files";;
  esac
done
case "$0" in *bandit) echo '{"results": [], "errors": []}';; esac
exit 0
"""


@pytest.mark.parametrize("tool", [Ruff(), Mypy(), Bandit(), Pytest()], ids=lambda t: t.name)
async def test_every_tool_gets_its_50k_files_in_batches_under_the_limit(
    tool: CommandTool, tmp_path: Path
) -> None:
    """ruff, mypy, bandit and pytest all failed with "Argument list too long" at 53,640
    paths (2.13 MB): each is given a 50,000-file tree (2.6 MB of names) and must get every
    file once, in command lines that hold far less than ARG_MAX."""
    root = tmp_path / "ws"
    bindir = root / ".venv" / "bin"
    bindir.mkdir(parents=True)
    command = bindir / tool.executable
    command.write_text(STAND_IN)
    command.chmod(0o755)
    names = []
    for package in range(100):
        folder = root / f"package_number_{package:03}" / "tests"
        folder.mkdir(parents=True)
        for index in range(500):
            name = f"test_generated_module_{index:04}.py"
            (folder / name).touch()
            names.append(f"{folder.relative_to(root)}/{name}")
    assert sum(len(name) + 1 for name in names) > os.sysconf("SC_ARG_MAX")

    result = await run_tool(tool, root, names, timeout_s=600, trusted=True)

    assert result.status is not Status.ERROR, result.message
    sizes = [line.split() for line in Path(f"{command}.sizes").read_text().splitlines()]
    assert len(sizes) > 1  # batches, not one command line
    # every command line (the options and the names) well under ARG_MAX
    assert max(int(size) + int(count) for count, size in sizes) < ARG_BYTES + 4096
    passed = Path(f"{command}.files").read_text().splitlines()
    assert sorted(passed) == sorted(names)  # each file once
