"""`ToolScheduler`: how many tools run at once, with a tighter limit for heavy ones."""

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from aegisd.safeio import DEFAULT_MAX_FILE_BYTES
from aegisd.settings import DEFAULT_EXCLUDE_DIRS
from aegisd_lint.discovery import VersionCache
from aegisd_lint.issues import ToolResult
from aegisd_lint.runner import DEFAULT_TIMEOUT_S, run_tool
from aegisd_lint.tool import LintTool


class ToolScheduler:
    """Runs tools with at most `max_heavy` heavy ones (mypy, pytest) and `max_parallel` in all
    at a time, sharing one `VersionCache`. One scheduler serves the whole daemon."""

    def __init__(self, max_heavy: int = 1, max_parallel: int = 4) -> None:
        if max_heavy < 1 or max_parallel < 1:
            raise ValueError("max_heavy and max_parallel must be at least 1")
        self.max_heavy = max_heavy
        self._heavy = asyncio.Semaphore(max_heavy)
        self._all = asyncio.Semaphore(max_parallel)
        self.versions = VersionCache()

    @asynccontextmanager
    async def slot(self, tool: LintTool) -> AsyncIterator[None]:
        """Wait for room to run `tool`; the slot is held until the block exits."""
        # the heavy permit first, so a heavy tool waiting its turn holds no general slot
        if tool.heavy:
            async with self._heavy, self._all:
                yield
        else:
            async with self._all:
                yield

    async def run(
        self,
        tool: LintTool,
        root: Path | str,
        files: Sequence[str] | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        extra_args: Sequence[str] = (),
        *,
        cache_dir: Path | None = None,
        exclude_dirs: Iterable[str] = DEFAULT_EXCLUDE_DIRS,
        background: bool = False,
        scratch_root: Path | None = None,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        trusted: bool = False,
        python: str | None = None,
        max_memory_mb: int | None = None,
        overlay: bytes | None = None,
    ) -> ToolResult:
        """`run_tool` once a slot is free; the timeout counts from the start, not the wait."""
        async with self.slot(tool):
            return await run_tool(
                tool,
                root,
                files,
                timeout_s,
                extra_args,
                cache_dir=cache_dir,
                exclude_dirs=exclude_dirs,
                versions=self.versions,
                background=background,
                scratch_root=scratch_root,
                max_file_bytes=max_file_bytes,
                trusted=trusted,
                python=python,
                max_memory_mb=max_memory_mb,
                overlay=overlay,
            )
