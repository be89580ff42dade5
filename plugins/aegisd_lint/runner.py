"""`run_tool`: one run of one tool on a workspace (or some of its files), as a `ToolResult`.

Never raises for anything the tool does: missing -> skipped, hung -> error TIMEOUT (its whole
process group killed), crashed -> error TOOL_FAILED, garbage output -> error BAD_OUTPUT.
"""

import asyncio
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from loguru import logger

from aegisd import threads
from aegisd.safeio import DEFAULT_MAX_FILE_BYTES
from aegisd.settings import DEFAULT_EXCLUDE_DIRS
from aegisd_lint.discovery import VersionCache, venv_python
from aegisd_lint.issues import Status, ToolResult, status_for
from aegisd_lint.process import execute, tool_env
from aegisd_lint.tool import CommandTool, InProcessTool, LintTool, Parsed, RunContext, ToolFailure

DEFAULT_TIMEOUT_S = 300.0


async def run_tool(
    tool: LintTool,
    root: Path | str,
    files: Sequence[str] | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    extra_args: Sequence[str] = (),
    *,
    cache_dir: Path | None = None,
    exclude_dirs: Iterable[str] = DEFAULT_EXCLUDE_DIRS,
    versions: VersionCache | None = None,
    background: bool = False,
    scratch_root: Path | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> ToolResult:
    """Run `tool` on `files` ("/" paths relative to the absolute `root`, already validated) or,
    when None, on the whole workspace.

    `cache_dir` is a persistent directory for the tool's own cache, outside the workspace (by
    default a throwaway one); `versions` shares version probes between runs. A `background`
    run's process group gets a lower CPU priority (see `execute`). The run's scratch dir is
    made under `scratch_root` (the system's temp dir by default). An in-process tool reads no
    file over `max_file_bytes`.
    """
    started = time.monotonic()
    base = Path(root)
    if not base.is_absolute():
        raise ValueError(f"workspace root must be absolute: {root}")
    names = None if files is None else tuple(files)
    outcome = _Outcome(tool.name, names, started)
    if names == ():
        return outcome.done(Status.SKIPPED, message="no files to check")
    scratch = Path(tempfile.mkdtemp(prefix=f"aegisd-lint-{tool.name}-", dir=scratch_root))
    try:
        ctx = RunContext(
            root=base,
            files=names,
            scratch_dir=scratch,
            cache_dir=cache_dir or scratch / "cache",
            python=venv_python(base),
            exclude_dirs=frozenset(exclude_dirs),
            max_file_bytes=max_file_bytes,
        )
        if isinstance(tool, InProcessTool):
            outcome.version = tool.version
            return await _run_in_process(tool, ctx, timeout_s, outcome, background)
        if isinstance(tool, CommandTool):
            return await _run_command(
                tool, ctx, timeout_s, extra_args, versions, outcome, background
            )
        raise TypeError(f"{tool.name}: a lint tool is a CommandTool or an InProcessTool")
    finally:
        await _remove(scratch)


async def _remove(scratch: Path) -> None:
    """Remove the run's scratch dir: at once when the tool left it empty (most do), else in a
    worker thread."""
    try:
        scratch.rmdir()  # noqa: ASYNC240 - one syscall, less than a thread hop
    except OSError:
        await asyncio.to_thread(shutil.rmtree, scratch, ignore_errors=True)


class _Outcome:
    """Collects what is known about a run as it goes, then builds the ToolResult."""

    def __init__(self, tool: str, files: tuple[str, ...] | None, started: float) -> None:
        self.tool = tool
        self.files = None if files is None else list(files)
        self.started = started
        self.version: str | None = None
        self.argv: list[str] = []
        self.returncode: int | None = None

    def done(
        self,
        status: Status,
        parsed: Parsed | None = None,
        error_code: str | None = None,
        message: str | None = None,
    ) -> ToolResult:
        return ToolResult(
            tool=self.tool,
            version=self.version,
            status=status,
            issues=parsed.issues if parsed else [],
            duration_ms=int((time.monotonic() - self.started) * 1000),
            files=self.files,
            argv=self.argv,
            returncode=self.returncode,
            error_code=error_code,
            message=message,
            totals=parsed.totals if parsed else None,
            file_totals=parsed.file_totals if parsed else None,
        )

    def verdict(self, parsed: Parsed) -> ToolResult:
        return self.done(status_for(parsed.issues), parsed)

    def error(self, code: str, message: str) -> ToolResult:
        return self.done(Status.ERROR, error_code=code, message=message)


_IN_PROCESS: ThreadPoolExecutor | None = None


def _in_process_threads() -> ThreadPoolExecutor:
    """In-process tools' own threads: one that hangs past its timeout keeps its thread (a
    thread cannot be killed) without taking one of the daemon's few bulk threads with it."""
    global _IN_PROCESS
    if _IN_PROCESS is None:
        _IN_PROCESS = ThreadPoolExecutor(4, thread_name_prefix="aegisd-lint-tool")
    return _IN_PROCESS


async def _run_in_process(
    tool: InProcessTool, ctx: RunContext, timeout_s: float, outcome: _Outcome, background: bool
) -> ToolResult:
    loop = asyncio.get_running_loop()
    check = partial(tool.check, ctx)
    try:
        # a background pass's rule steps aside for requests where it calls `step_aside`
        job = threads.yielding(check) if background else check
        checking = loop.run_in_executor(_in_process_threads(), job)
        parsed = await asyncio.wait_for(checking, timeout_s)
    except TimeoutError:
        return outcome.error("TIMEOUT", f"timed out after {timeout_s:g} s")
    except Exception as exc:
        logger.opt(exception=exc).error("lint tool {} raised", tool.name)
        return outcome.error("TOOL_FAILED", f"{type(exc).__name__}: {exc}")
    return outcome.verdict(parsed)


async def _run_command(
    tool: CommandTool,
    ctx: RunContext,
    timeout_s: float,
    extra_args: Sequence[str],
    versions: VersionCache | None,
    outcome: _Outcome,
    background: bool,
) -> ToolResult:
    resolved = await (versions or VersionCache()).resolve(tool, ctx.root)
    if resolved is None:
        return outcome.done(Status.SKIPPED, message="not installed")
    outcome.version = resolved.version
    try:
        piped = tool.piped(ctx)
        targets, stdin = piped if piped is not None else (tool.targets(ctx), None)
        outcome.argv = [*resolved.command, *tool.options(ctx), *extra_args, *targets]
        parser = tool.parser(ctx)
    except Exception as exc:
        logger.opt(exception=exc).error("lint tool {} raised", tool.name)
        return outcome.error("TOOL_FAILED", f"{type(exc).__name__}: {exc}")
    try:
        env = tool_env(ctx.python)
        ended = await execute(
            outcome.argv, ctx.root, env, timeout_s, parser.feed, stdin, background
        )
    except FileNotFoundError:
        return outcome.done(Status.SKIPPED, message="not installed")
    except OSError as exc:
        return outcome.error("TOOL_FAILED", f"could not start: {exc}")
    if ended.returncode is None:
        return outcome.error("TIMEOUT", f"timed out after {timeout_s:g} s; process group killed")
    outcome.returncode = ended.returncode
    if ended.sink_error is not None:
        return outcome.error("BAD_OUTPUT", f"unparseable output: {ended.sink_error}")
    try:
        if parser.quick_finish:
            parsed = parser.finish(ended.returncode, ended.stderr)
        else:
            # a background pass's output is parsed stepping aside for requests
            off_loop = threads.background if background else asyncio.to_thread
            parsed = await off_loop(parser.finish, ended.returncode, ended.stderr)
    except ToolFailure as failure:
        return outcome.error(failure.code, failure.message)
    except Exception as exc:
        # a third-party parser's bug is this run's error, never the daemon's
        logger.opt(exception=exc).error("parser of lint tool {} raised", tool.name)
        return outcome.error("BAD_OUTPUT", f"{type(exc).__name__}: {exc}")
    return outcome.verdict(parsed)
