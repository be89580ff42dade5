"""`run_tool`: one run of one tool on a workspace (or some of its files), as a `ToolResult`.

Never raises for anything the tool does: missing -> skipped, would run the code of a workspace
not trusted -> skipped, hung -> error TIMEOUT (its whole process group killed), over its memory
limit -> error OUT_OF_MEMORY, crashed -> error TOOL_FAILED, stopped before checking every file
-> error INCOMPLETE (the files it did check keep their verdicts), garbage output -> error
BAD_OUTPUT. Files are run in batches (see `batches`): a failing batch leaves only its own files
unchecked.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from loguru import logger

from aegisd import threads
from aegisd.safeio import DEFAULT_MAX_FILE_BYTES
from aegisd.settings import DEFAULT_EXCLUDE_DIRS
from aegisd_lint import batches
from aegisd_lint.discovery import VersionCache, WorkspaceEnv, missing_reason, workspace_env
from aegisd_lint.issues import Status, ToolResult, status_for
from aegisd_lint.process import Exit, execute, tool_env
from aegisd_lint.tool import CommandTool, InProcessTool, LintTool, Parsed, RunContext, ToolFailure

DEFAULT_TIMEOUT_S = 300.0
NOT_TRUSTED = "workspace not trusted"
OVERLAY_UNSUPPORTED = "checks files on disk only, not an unsaved buffer"


def trust_reason(tool: LintTool, root: Path, trusted: bool) -> str | None:
    """Why `tool` may not run in `root` (it would execute the code of a workspace that is not
    trusted), or None. Reads the tool's config files when it is not trusted."""
    if trusted:
        return None
    why = tool.workspace_code(root)
    if why is None:
        return None
    return f"{NOT_TRUSTED}: {why} (trust it with `aegisd trust {root}` or workspace.trust)"


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
    trusted: bool = False,
    python: str | None = None,
    max_memory_mb: int | None = None,
    overlay: bytes | None = None,
) -> ToolResult:
    """Run `tool` on `files` ("/" paths relative to the absolute `root`, already validated) or,
    when None, on the whole workspace.

    `cache_dir` is a persistent directory for the tool's own cache, outside the workspace (by
    default a throwaway one); `versions` shares version probes between runs. A `background`
    run's process group gets a lower CPU priority (see `execute`). The run's scratch dir is
    made under `scratch_root` (the system's temp dir by default). Only a `trusted` workspace
    runs a tool that executes its code, or tools from its virtualenv; `python` is the
    `lint.python` setting; a command may use `max_memory_mb` (None: no limit). The timeout
    and the memory limit apply to each batch. An in-process tool reads no file over
    `max_file_bytes`. `overlay`: the text to check for the one file of `files` (an unsaved
    buffer), for a tool that reads stdin (`CommandTool.piped`); others are skipped.
    """
    started = time.monotonic()
    base = Path(root)
    if not base.is_absolute():
        raise ValueError(f"workspace root must be absolute: {root}")
    names = None if files is None else tuple(files)
    if names == ():
        return _Outcome(tool.name, names, started).done(Status.SKIPPED, message="no files to check")
    if overlay is not None and (names is None or len(names) != 1):
        raise ValueError("an overlay is checked for exactly one file")
    refused = trust_reason(tool, base, trusted)
    if refused is not None:
        return _Outcome(tool.name, names, started).done(Status.SKIPPED, message=refused)
    job = _Job(
        tool,
        workspace_env(base, trusted, python),
        timeout_s,
        tuple(extra_args),
        cache_dir,
        frozenset(exclude_dirs),
        versions or VersionCache(),
        background,
        scratch_root,
        max_memory_mb,
        max_file_bytes,
        overlay,
    )
    if names is None:
        return await job.run(None)
    results = []
    for batch in batches.split(names, tool.batch_files):
        result = await job.run(batch)
        if result.status is Status.SKIPPED:
            return result  # not installed: no batch can run
        results.append(result)
    if len(results) == 1:
        return results[0]
    return batches.merge(tool.name, results, int((time.monotonic() - started) * 1000))


@dataclass(frozen=True)
class _Job:
    """What every batch of one `run_tool` call shares."""

    tool: LintTool
    env: WorkspaceEnv
    timeout_s: float
    extra_args: tuple[str, ...]
    cache_dir: Path | None
    exclude_dirs: frozenset[str]
    versions: VersionCache
    background: bool
    scratch_root: Path | None
    max_memory_mb: int | None
    max_file_bytes: int
    overlay: bytes | None = None

    async def run(self, names: tuple[str, ...] | None) -> ToolResult:
        """One batch (None: the whole workspace) in a scratch dir of its own."""
        tool = self.tool
        outcome = _Outcome(tool.name, names, time.monotonic())
        scratch = Path(tempfile.mkdtemp(prefix=f"aegisd-lint-{tool.name}-", dir=self.scratch_root))
        try:
            ctx = RunContext(
                root=self.env.root,
                files=names,
                scratch_dir=scratch,
                cache_dir=self.cache_dir or scratch / "cache",
                python=self.env.python,
                exclude_dirs=self.exclude_dirs,
                max_file_bytes=self.max_file_bytes,
                trusted=self.env.trusted,
                overlay=self.overlay,
            )
            if isinstance(tool, InProcessTool):
                if ctx.overlay is not None:
                    return outcome.done(Status.SKIPPED, message=OVERLAY_UNSUPPORTED)
                outcome.version = tool.version
                return await _run_in_process(tool, ctx, self.timeout_s, outcome, self.background)
            if isinstance(tool, CommandTool):
                return await self._command(tool, ctx, outcome)
            raise TypeError(f"{tool.name}: a lint tool is a CommandTool or an InProcessTool")
        finally:
            await _remove(scratch)

    async def _command(self, tool: CommandTool, ctx: RunContext, outcome: _Outcome) -> ToolResult:
        resolved = await self.versions.resolve(tool, self.env)
        if resolved is None:
            return outcome.done(Status.SKIPPED, message=missing_reason(tool, self.env))
        outcome.version = resolved.version
        return await _run_command(
            tool,
            ctx,
            resolved.command,
            self.timeout_s,
            self.extra_args,
            outcome,
            self.background,
            self.max_memory_mb,
        )


def _out_of_memory(ended: Exit, on: str) -> str:
    said = ended.stderr.strip().splitlines()[-1:] or [f"exited with {ended.returncode}"]
    return (
        f"ran out of memory{on}: it may use {ended.memory_limit_mb} MiB (lint.max_memory_mb); "
        f"it said: {said[0][:200]}"
    )


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
        self.unchecked: list[str] | None = None
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
            unchecked=self.unchecked if status is Status.ERROR else None,
        )

    def verdict(self, parsed: Parsed) -> ToolResult:
        if parsed.incomplete is None:
            return self.done(status_for(parsed.issues), parsed)
        # the files it checked keep their verdicts; the others are the run's error
        given = self.files
        if parsed.unchecked is None:
            self.unchecked = given
        elif given is None:
            self.unchecked = sorted(parsed.unchecked)
        else:
            self.unchecked = [path for path in given if path in parsed.unchecked]
        return self.done(Status.ERROR, parsed, "INCOMPLETE", parsed.incomplete)

    def error(self, code: str, message: str) -> ToolResult:
        self.unchecked = self.files
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
    command: tuple[str, ...],
    timeout_s: float,
    extra_args: Sequence[str],
    outcome: _Outcome,
    background: bool,
    max_memory_mb: int | None,
) -> ToolResult:
    try:
        piped = tool.piped(ctx)
        if piped is None and ctx.overlay is not None:
            return outcome.done(Status.SKIPPED, message=OVERLAY_UNSUPPORTED)
        targets, stdin = piped if piped is not None else (tool.targets(ctx), None)
        outcome.argv = [*command, *tool.options(ctx), *extra_args, *targets]
        parser = tool.parser(ctx)
    except Exception as exc:
        logger.opt(exception=exc).error("lint tool {} raised", tool.name)
        return outcome.error("TOOL_FAILED", f"{type(exc).__name__}: {exc}")
    try:
        env = tool_env(ctx.python)
        ended = await execute(
            outcome.argv, ctx.root, env, timeout_s, parser.feed, stdin, background, max_memory_mb
        )
    except FileNotFoundError:
        return outcome.done(Status.SKIPPED, message="not installed")
    except OSError as exc:
        return outcome.error("TOOL_FAILED", f"could not start: {exc}")
    on = f" on {len(ctx.files)} files" if ctx.files is not None and len(ctx.files) > 1 else ""
    if ended.returncode is None:
        return outcome.error(
            "TIMEOUT", f"timed out after {timeout_s:g} s{on}; process group killed"
        )
    outcome.returncode = ended.returncode
    if ended.out_of_memory:
        return outcome.error("OUT_OF_MEMORY", _out_of_memory(ended, on))
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
