"""run_tool's guarantees with stand-in tools: skipped, killed, garbage, crashes, cancellation."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from aegisd_lint.bandit import Bandit
from aegisd_lint.issues import Issue, Severity, Status, status_for
from aegisd_lint.process import execute, tool_env
from aegisd_lint.ruff import Ruff
from aegisd_lint.runner import run_tool
from aegisd_lint.tool import (
    CommandTool,
    InProcessTool,
    JsonLinesParser,
    OutputParser,
    Parsed,
    RunContext,
)

from aegisd import threads
from aegisd.workers import WORKER_NICENESS, worker_owners

from .conftest import write_script

# the stand-in tools live in the workspace's virtualenv, which only a trusted workspace uses
run_trusted = partial(run_tool, trusted=True)

HANG = """
import os, subprocess, sys, time
if "--version" in sys.argv:
    print("fake-hang 1.2.3")
    sys.exit(0)
pidfile = sys.argv[sys.argv.index("--pidfile") + 1]
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
with open(pidfile + ".tmp", "w") as out:
    out.write(f"{os.getpid()} {child.pid}")
os.replace(pidfile + ".tmp", pidfile)
time.sleep(60)
"""

GARBAGE = """
import sys
if "--version" in sys.argv:
    print("garbage 0.1")
else:
    print("this is not JSON at all")
"""

ONE_ISSUE = """
import json, sys
if "--version" in sys.argv:
    print("one 2.0")
else:
    print(json.dumps({"path": "a.py", "line": 3}))
"""


STDIN = """
import json, sys
if "--version" in sys.argv:
    print("stdin 1.0")
else:
    data = sys.stdin.buffer.read()
    print(json.dumps({"path": sys.argv[-1], "line": len(data.splitlines())}))
"""

SCRATCH = """
import pathlib, sys
if "--version" in sys.argv:
    print("scratch 1.0")
else:
    pathlib.Path(sys.argv[-1], "out", "left.txt").parent.mkdir()
    pathlib.Path(sys.argv[-1], "out", "left.txt").write_text("behind")
"""


class HangTool(CommandTool):
    name = "hang"
    executable = "fake-hang"

    def options(self, ctx: RunContext) -> list[str]:
        return []

    def parser(self, ctx: RunContext) -> OutputParser:
        return _LineParser(ctx)


class _LineParser(JsonLinesParser):
    def issue(self, obj: Any) -> Issue:
        return Issue(
            tool="one",
            code="X1",
            message="found",
            severity=Severity.LOW,
            path=obj["path"],
            line=obj["line"],
        )


class OneIssueTool(HangTool):
    name = "one"
    executable = "fake-one"


class PipedTool(OneIssueTool):
    """Feeds `lines` lines through stdin and names the file `-` (the script counts them)."""

    name = "piped"
    executable = "fake-stdin"
    lines = 200_000  # more than a pipe holds: written as the tool reads

    def piped(self, ctx: RunContext) -> tuple[list[str], bytes] | None:
        return ["-"], b"x\n" * self.lines


class ScratchTool(OneIssueTool):
    """Leaves a file in its scratch dir (named as its last argument)."""

    name = "scratch"
    executable = "fake-scratch"
    seen: list[Path] = []

    def targets(self, ctx: RunContext) -> list[str]:
        self.seen.append(ctx.scratch_dir)
        return [str(ctx.scratch_dir)]


class TidyTool(ScratchTool):
    """Leaves its scratch dir empty."""

    name = "tidy"
    executable = "fake-one"


class _ThreadNoting(_LineParser):
    threads: list[str] = []

    def finish(self, returncode: int, stderr: str) -> Parsed:
        self.threads.append(threading.current_thread().name)
        return super().finish(returncode, stderr)


class _SlowFinishing(_ThreadNoting):
    LOOP_BYTES = 0  # any output is more than is parsed on the loop


class QuickFinishTool(OneIssueTool):
    name = "quick"

    def parser(self, ctx: RunContext) -> OutputParser:
        return _ThreadNoting(ctx)


class SlowFinishTool(OneIssueTool):
    name = "slow"

    def parser(self, ctx: RunContext) -> OutputParser:
        return _SlowFinishing(ctx)


class _BuggyParser(OutputParser):
    def feed(self, chunk: bytes) -> None:
        raise ZeroDivisionError("a bug in a third-party parser")

    def finish(self, returncode: int, stderr: str) -> Parsed:
        return Parsed()


class BuggyTool(OneIssueTool):
    name = "buggy"

    def parser(self, ctx: RunContext) -> OutputParser:
        return _BuggyParser()


class MissingTool(HangTool):
    name = "missing"
    executable = "aegisd-no-such-linter"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    bindir = root / ".venv" / "bin"
    write_script(bindir / "fake-hang", HANG)
    write_script(bindir / "fake-one", ONE_ISSUE)
    write_script(bindir / "garbage-bandit", GARBAGE)
    write_script(bindir / "garbage-ruff", GARBAGE)
    write_script(bindir / "fake-stdin", STDIN)
    write_script(bindir / "fake-scratch", SCRATCH)
    return root


def _live_group_members(pgid: int) -> list[int]:
    """Processes in group `pgid` that are not zombies (a killed child awaiting its reaper)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, _ppid, pgrp = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:3]
        except OSError:
            continue
        if int(pgrp) == pgid and state != "Z":
            members.append(int(entry.name))
    return members


async def _group_gone(pgid: int) -> bool:
    for _ in range(200):  # SIGKILL is immediate; this only waits for the kernel to finish
        if not _live_group_members(pgid):
            return True
        await asyncio.sleep(0.05)
    return False


async def test_a_missing_tool_is_skipped(workspace: Path) -> None:
    result = await run_trusted(MissingTool(), workspace)
    assert (result.status, result.message) == (Status.SKIPPED, "not installed")
    assert result.issues == [] and result.version is None and result.error_code is None


async def test_no_files_means_nothing_to_run(workspace: Path) -> None:
    result = await run_trusted(Ruff(), workspace, [])
    assert (result.status, result.argv) == (Status.SKIPPED, [])


async def test_a_tool_that_hangs_is_killed_with_its_children(
    workspace: Path, tmp_path: Path
) -> None:
    pidfile = tmp_path / "pids"
    result = await run_trusted(
        HangTool(), workspace, timeout_s=2, extra_args=["--pidfile", str(pidfile)]
    )
    assert (result.status, result.error_code) == (Status.ERROR, "TIMEOUT")
    assert result.version == "1.2.3"
    assert pidfile.exists(), "the fake tool never started within its timeout"
    leader, child = map(int, pidfile.read_text().split())
    assert leader != os.getpgid(0)  # it had a process group of its own
    assert await _group_gone(leader)
    assert child not in _live_group_members(leader)


async def test_cancelling_a_run_kills_the_tool(workspace: Path, tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    run = asyncio.create_task(
        run_trusted(HangTool(), workspace, timeout_s=300, extra_args=["--pidfile", str(pidfile)])
    )
    for _ in range(400):
        if pidfile.exists() or run.done():
            break
        await asyncio.sleep(0.05)
    assert pidfile.exists() and not run.done()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    leader, _child = map(int, pidfile.read_text().split())
    assert await _group_gone(leader)


@pytest.mark.parametrize("tool", [Bandit, Ruff], ids=["json-document", "json-lines"])
async def test_garbage_output_is_an_error(workspace: Path, tool: type[CommandTool]) -> None:
    garbage = type("Garbage", (tool,), {"executable": f"garbage-{tool.name}", "module": None})
    result = await run_trusted(garbage(), workspace)
    assert (result.status, result.error_code) == (Status.ERROR, "BAD_OUTPUT")
    assert result.returncode == 0 and result.message and "not JSON" in result.message


async def test_a_parser_bug_is_an_error_not_an_exception(workspace: Path) -> None:
    result = await run_trusted(BuggyTool(), workspace)
    assert (result.status, result.error_code) == (Status.ERROR, "BAD_OUTPUT")
    assert result.message and "third-party parser" in result.message


async def test_a_result_records_the_run(workspace: Path) -> None:
    result = await run_trusted(OneIssueTool(), workspace, ["a.py"], extra_args=["--flag"])
    assert result.status is Status.WARN
    assert result.argv == [str(workspace / ".venv" / "bin" / "fake-one"), "--flag", "a.py"]
    assert (result.version, result.returncode, result.files) == ("2.0", 0, ["a.py"])
    assert [(i.path, i.line) for i in result.issues] == [("a.py", 3)]
    assert json.loads(result.model_dump_json())["status"] == "warn"


async def test_a_piped_tool_reads_its_input_from_stdin(workspace: Path) -> None:
    result = await run_trusted(PipedTool(), workspace, ["a.py"])
    assert result.argv[-1] == "-" and result.status is Status.WARN
    assert [(i.path, i.line) for i in result.issues] == [("-", PipedTool.lines)]


async def test_the_exit_is_noticed_without_pidfd(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(os, "pidfd_open", raising=False)
    result = await run_trusted(OneIssueTool(), workspace, ["a.py"])
    assert (result.status, result.returncode) == (Status.WARN, 0)
    assert [(i.path, i.line) for i in result.issues] == [("a.py", 3)]


async def test_the_scratch_dir_is_removed_with_what_the_tool_left(workspace: Path) -> None:
    ScratchTool.seen.clear()
    for tool in (ScratchTool(), TidyTool()):
        assert (await run_trusted(tool, workspace)).returncode == 0
    assert len(ScratchTool.seen) == 2
    assert not any(scratch.exists() for scratch in ScratchTool.seen)


async def test_only_a_quick_finish_runs_on_the_event_loop(workspace: Path) -> None:
    _ThreadNoting.threads.clear()
    found = []
    for tool in (QuickFinishTool(), SlowFinishTool()):
        result = await run_trusted(tool, workspace, ["a.py"])
        assert result.status is Status.WARN
        found.append([(i.path, i.line) for i in result.issues])
    assert found == [[("a.py", 3)], [("a.py", 3)]]  # parsed at exit, the same
    main = threading.current_thread().name
    assert _ThreadNoting.threads[0] == main and _ThreadNoting.threads[1] != main


def _issue(severity: Severity) -> Issue:
    return Issue(tool="t", code="c", message="m", severity=severity, path="a.py")


@pytest.mark.parametrize(
    ("severities", "status"),
    [
        ([], Status.PASS),
        ([Severity.INFO], Status.PASS),
        ([Severity.INFO, Severity.LOW], Status.WARN),
        ([Severity.MEDIUM], Status.WARN),
        ([Severity.LOW, Severity.HIGH], Status.FAIL),
        ([Severity.CRITICAL], Status.FAIL),
    ],
)
def test_status_follows_the_worst_severity(severities: list[Severity], status: Status) -> None:
    assert status_for([_issue(severity) for severity in severities]) is status


async def test_a_relative_root_is_refused() -> None:
    with pytest.raises(ValueError, match="absolute"):
        await run_trusted(Ruff(), "relative/root")


class RaisingTool(OneIssueTool):
    name = "raising"

    def options(self, ctx: RunContext) -> list[str]:
        raise KeyError("a bug in a third-party tool")


async def test_a_tool_bug_is_an_error_not_an_exception(workspace: Path) -> None:
    result = await run_trusted(RaisingTool(), workspace)
    assert (result.status, result.error_code) == (Status.ERROR, "TOOL_FAILED")
    assert result.message and "third-party tool" in result.message


class _Blocking(InProcessTool):
    name = "blocking"
    version = "0"

    def __init__(self) -> None:
        self.release = threading.Event()

    def check(self, ctx: RunContext) -> Parsed:
        self.release.wait(60)
        return Parsed()


class _Crashing(_Blocking):
    name = "crashing"

    def check(self, ctx: RunContext) -> Parsed:
        raise RuntimeError("in-process rule crashed")


async def test_an_in_process_tool_that_hangs_times_out(tmp_path: Path) -> None:
    tool = _Blocking()
    try:
        result = await run_trusted(tool, tmp_path, timeout_s=0.2)
    finally:
        tool.release.set()  # the worker thread cannot be killed; let it finish
    assert (result.status, result.error_code, result.version) == (Status.ERROR, "TIMEOUT", "0")


async def test_an_in_process_tool_that_raises_is_an_error(tmp_path: Path) -> None:
    result = await run_trusted(_Crashing(), tmp_path)
    assert (result.status, result.error_code) == (Status.ERROR, "TOOL_FAILED")
    assert result.message == "RuntimeError: in-process rule crashed"


def test_tools_run_with_the_workspace_virtualenv_active(tmp_path: Path) -> None:
    python = tmp_path / ".venv" / "bin" / "python"
    (tmp_path / ".venv" / "pyvenv.cfg").parent.mkdir()
    (tmp_path / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    env = tool_env(python)
    assert env["VIRTUAL_ENV"] == str(tmp_path / ".venv")
    assert env["PATH"].split(os.pathsep)[0] == str(python.parent)
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert tool_env(None).get("VIRTUAL_ENV") == os.environ.get("VIRTUAL_ENV")
    # an interpreter that is no virtualenv's (lint.python = /usr/bin/python3) leads PATH only
    plain = tool_env(Path("/usr/bin/python3"))
    assert plain.get("VIRTUAL_ENV") == os.environ.get("VIRTUAL_ENV")
    assert plain["PATH"].split(os.pathsep)[0] == "/usr/bin"


NICENESS = """
import json, os, sys
if "--version" in sys.argv:
    print("nice 1.0")
else:
    print(json.dumps({"path": "a.py", "line": os.nice(0) + 1}))
"""


class NicenessTool(OneIssueTool):
    """Reports its own nice value plus one as the issue's line (lines start at 1)."""

    name = executable = "fake-nice"


async def test_a_background_run_has_a_lower_priority(workspace: Path) -> None:
    write_script(workspace / ".venv" / "bin" / "fake-nice", NICENESS)
    result = await run_trusted(NicenessTool(), workspace, None, background=True)
    assert [i.line - 1 for i in result.issues] == [min(19, os.nice(0) + WORKER_NICENESS)]


async def test_other_runs_have_the_daemon_priority(workspace: Path) -> None:
    write_script(workspace / ".venv" / "bin" / "fake-nice", NICENESS)
    result = await run_trusted(NicenessTool(), workspace, None)
    assert [i.line - 1 for i in result.issues] == [os.nice(0)]


class _ScratchUser(InProcessTool):
    """Writes into its scratch dir, as mypy's cache does, and says where that was."""

    name = "scratch_user"
    version = "0"

    def __init__(self) -> None:
        self.scratch: Path | None = None

    def check(self, ctx: RunContext) -> Parsed:
        self.scratch = ctx.scratch_dir
        (ctx.scratch_dir / "cache").mkdir()
        (ctx.scratch_dir / "cache" / "data.json").write_text("{}")
        return Parsed()


async def test_scratch_dirs_are_made_under_the_root_given_and_removed(tmp_path: Path) -> None:
    root = tmp_path / "scratch"
    root.mkdir()
    tool = _ScratchUser()
    result = await run_trusted(tool, tmp_path, scratch_root=root)
    assert result.status is Status.PASS
    assert tool.scratch is not None and tool.scratch.parent == root
    assert list(root.iterdir()) == []  # gone with what the tool wrote in it


class _LaneProbe(InProcessTool):
    """Says whether its check ran as background work (where `step_aside` yields)."""

    name = "lane_probe"
    version = "0"

    def __init__(self) -> None:
        self.yielding: bool | None = None

    def check(self, ctx: RunContext) -> Parsed:
        self.yielding = bool(getattr(threads._lane, "yielding", False))
        return Parsed()


@pytest.mark.parametrize("background", [False, True])
async def test_in_process_rules_step_aside_only_in_background_passes(
    tmp_path: Path, background: bool
) -> None:
    tool = _LaneProbe()
    await run_trusted(tool, tmp_path, background=background)
    assert tool.yielding is background


LIMITS = """
import resource, sys
if "--version" in sys.argv:
    print("limits 1.0")
    sys.exit(0)
soft, _ = resource.getrlimit(resource.RLIMIT_DATA)
mib = 999_999 if soft == resource.RLIM_INFINITY else soft >> 20
print('{"path": "a.py", "line": %d}' % mib, flush=True)
if "--hoard" in sys.argv:
    hoard = bytearray(512 << 20)
"""


class LimitsTool(OneIssueTool):
    """Reports its data-memory limit in MiB as the issue's line; `--hoard` asks for 512 MiB."""

    name = executable = "fake-limits"


async def test_a_tool_runs_under_its_memory_limit_and_over_it_is_out_of_memory(
    workspace: Path,
) -> None:
    write_script(workspace / ".venv" / "bin" / "fake-limits", LIMITS)
    fits = await run_trusted(LimitsTool(), workspace, ["a.py"], max_memory_mb=300)
    assert fits.status is Status.WARN and [i.line for i in fits.issues] == [300]
    over = await run_trusted(
        LimitsTool(), workspace, ["a.py"], extra_args=["--hoard"], max_memory_mb=100
    )
    # it printed a finding before it died: no verdict is taken from a run cut short
    assert (over.status, over.error_code, over.unchecked) == (
        Status.ERROR,
        "OUT_OF_MEMORY",
        ["a.py"],
    )
    assert over.message and "100 MiB" in over.message and "MemoryError" in over.message
    unlimited = await run_trusted(LimitsTool(), workspace, ["a.py"])
    assert unlimited.issues[0].line == 999_999  # no limit


async def test_a_running_tool_is_counted_for_lint_in_the_memory_shares(tmp_path: Path) -> None:
    seen: list[dict[int, str]] = []
    script = "import time; print('started', flush=True); time.sleep(0.3)"
    exit_ = await execute(
        [sys.executable, "-c", script], tmp_path, dict(os.environ), 30, lambda _: seen.append(
            worker_owners()
        ),
    )  # fmt: skip
    assert exit_.returncode == 0
    assert "lint" in seen[0].values()
    assert "lint" not in worker_owners().values()


KILLED_PARENT = """
import asyncio, sys
from pathlib import Path
from aegisd_lint.process import execute

out = Path(sys.argv[1])
tool = "import os, time; print(os.getpid(), flush=True); time.sleep(60)"
asyncio.run(execute([sys.executable, "-c", tool], out.parent, {}, 120, out.write_bytes))
"""


def test_a_tool_dies_with_a_daemon_killed_by_sigkill(tmp_path: Path) -> None:
    pid_file = tmp_path / "tool.pid"
    daemon = subprocess.Popen(
        [sys.executable, "-c", KILLED_PARENT, str(pid_file)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        deadline = time.monotonic() + 30
        while not pid_file.exists() or not pid_file.read_bytes().strip():
            assert time.monotonic() < deadline and daemon.poll() is None, "the tool never ran"
            time.sleep(0.02)
        tool = int(pid_file.read_bytes())
        daemon.send_signal(signal.SIGKILL)
        daemon.wait()
        deadline = time.monotonic() + 10
        while _alive(tool):
            assert time.monotonic() < deadline, "the tool outlived its daemon"
            time.sleep(0.02)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"  # a zombie is gone
    except FileNotFoundError:
        return False
