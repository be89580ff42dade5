"""Parsing in a process pool: workers read, hash and extract files themselves.

Shipping paths rather than bytes keeps the pipe traffic small; chunks of files per task keep
the per-task overhead low. The pool uses `forkserver`, so workers never inherit the daemon's
threads or locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from asyncio import FIRST_COMPLETED
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from aegisd.safeio import DEFAULT_MAX_FILE_BYTES, read_bytes
from aegisd.threads import interactive
from aegisd.workers import start_pool, stop_pool
from aegisd_codemap.cmacros import NO_MACROS, MacroSet
from aegisd_codemap.extract import extract_file
from aegisd_codemap.languages import detect_language
from aegisd_codemap.model import FileExtract, SyntaxIssue

CHUNK = 24
IN_FLIGHT = 4  # chunks queued per worker while streaming
#: an edit of a file or two this small is parsed in a thread: a round trip through a worker
#: process costs more than the parse itself (bench/index.py's edit-to-search figure)
INLINE_MAX_FILES = 2
INLINE_MAX_BYTES = 128 * 1024
LOOP_MAX_BYTES = 8 * 1024  # ~200 lines: 1-2 ms to parse
#: A pool nobody used for this long is stopped: its workers hold 65-100 MiB (PSS) between
#: them, for nothing once the first index and a checkout's batches are done. The forkserver
#: stays, so the next large batch gets workers again in tens of milliseconds.
IDLE_S = 15.0

Parsed = tuple[str, str, FileExtract] | tuple[str, None, None]
"""(path, content hash, extract), or (path, None, None) when the file could not be read (or
is skipped: see `aegisd.safeio`)."""


def indexable(path: str) -> bool:
    return detect_language(path) is not None


def parse_chunk(
    root: str,
    paths: Sequence[str],
    include_docstrings: bool,
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
    macros: MacroSet = NO_MACROS,
) -> list[Parsed]:
    """Worker side: read (safely, up to `max_bytes`), hash (as the core does: blake2b-128) and
    extract each file (C/C++ recovered with the project's `macros`)."""
    out: list[Parsed] = []
    for rel in paths:
        try:
            data = read_bytes(root, rel, max_bytes)
        except OSError:  # gone, or skipped since it settled: the next batch says so
            out.append((rel, None, None))
            continue
        digest = hashlib.blake2b(data, digest_size=16).hexdigest()
        try:
            extract = extract_file(rel, data, include_docstrings, root, macros)
        except Exception as exc:  # an extractor's bug costs this file, never the chunk
            extract = failed_extract(rel, exc)
        out.append((rel, digest, extract))
    return out


def failed_extract(rel: str, exc: Exception) -> FileExtract:
    """A file the extractor raised on: no outline, the failure as its one error, so the
    index keeps its last good symbols (stale) and `index.file` says why."""
    message = f"the extractor failed on this file: {type(exc).__name__}: {exc}"[:500]
    return FileExtract(path=rel, language=detect_language(rel), errors=[SyntaxIssue(message, 1, 1)])


def _total_size(root: Path, paths: Sequence[str]) -> int:
    total = 0
    for rel in paths:
        with contextlib.suppress(OSError):  # parse_chunk reports it as unreadable
            total += (root / rel).stat().st_size
    return total


class ParserPool:
    """A lazily started process pool sized to the machine."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or max(1, os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None
        #: the first submission to the pool (see `_run`)
        self._first: asyncio.Future[Future[list[Parsed]]] | None = None
        self.files_parsed = 0
        self._active = 0  # chunks submitted and not done
        self._retiring: asyncio.TimerHandle | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # Workers fork from a server that already imported the parsers and grammars.
            self._pool = start_pool(
                self.workers, ["aegisd_codemap.poolinit", "aegisd_codemap.extract"]
            )
            self._first = None
        return self._pool

    async def _run(self, *args: Any) -> list[Parsed]:
        """`parse_chunk(*args)` in the pool. The pool forks its workers on demand, in the
        submitting thread and under a lock later submissions wait for; the first fork waits
        for the fork server to start and import the parsers (hundreds of ms under load, once
        the loop's longest stall): the first chunk is submitted from a thread, and the others
        wait for that submission (not for its chunk) before going in from the loop."""
        pool = self._executor()
        self._active += 1
        if self._retiring is not None:
            self._retiring.cancel()
            self._retiring = None
        try:
            if self._first is None:
                self._first = asyncio.ensure_future(interactive(pool.submit, parse_chunk, *args))
                return await asyncio.wrap_future(await asyncio.shield(self._first))
            await asyncio.wait([self._first])
            return await asyncio.get_running_loop().run_in_executor(pool, parse_chunk, *args)
        finally:
            self._active -= 1
            if not self._active:
                self._retiring = asyncio.get_running_loop().call_later(IDLE_S, self._retire)

    def _retire(self) -> None:
        """Stop the pool, idle since IDLE_S (its workers exit in the background)."""
        self._retiring = None
        if self._active or self._pool is None:
            return
        pool, self._pool, self._first = self._pool, None, None
        stop_pool(pool, wait=False)

    @property
    def running(self) -> bool:
        """Whether the pool's workers are up (started and not retired)."""
        return self._pool is not None

    async def parse(
        self,
        root: Path,
        paths: Sequence[str],
        include_docstrings: bool,
        on_progress: Callable[[int, int], None] | None = None,
        max_bytes: int = DEFAULT_MAX_FILE_BYTES,
        macros: MacroSet = NO_MACROS,
    ) -> list[Parsed]:
        if not paths:
            return []
        if len(paths) <= INLINE_MAX_FILES:
            # An editor's save. A few KiB parse quicker than two hand-overs of the interpreter
            # to and from a thread while plugins' threads compete for it, so on the loop;
            # up to INLINE_MAX_BYTES in a thread; more goes to the pool.
            size = _total_size(root, paths)
            if size <= LOOP_MAX_BYTES:
                parsed = parse_chunk(str(root), paths, include_docstrings, max_bytes, macros)
            elif size <= INLINE_MAX_BYTES:
                parsed = await interactive(
                    parse_chunk, str(root), paths, include_docstrings, max_bytes, macros
                )
            else:
                parsed = None
            if parsed is not None:
                self.files_parsed += len(parsed)
                return parsed
        chunks = [paths[i : i + CHUNK] for i in range(0, len(paths), CHUNK)]
        futures = [
            asyncio.ensure_future(
                self._run(str(root), chunk, include_docstrings, max_bytes, macros)
            )
            for chunk in chunks
        ]
        results: list[Parsed] = []
        for future in asyncio.as_completed(futures):
            results.extend(await future)
            if on_progress is not None:
                on_progress(len(results), len(paths))
        self.files_parsed += len(results)
        return results

    async def stream(
        self,
        root: Path,
        paths: Sequence[str],
        include_docstrings: bool,
        on_progress: Callable[[int, int], None] | None = None,
        max_bytes: int = DEFAULT_MAX_FILE_BYTES,
        macros: MacroSet = NO_MACROS,
    ) -> AsyncIterator[list[Parsed]]:
        """`parse`, chunk by chunk as they are done, with at most IN_FLIGHT chunks per worker
        queued: a whole workspace's extracts are never all in memory at once."""
        if len(paths) <= INLINE_MAX_FILES:
            yield await self.parse(root, paths, include_docstrings, on_progress, max_bytes, macros)
            return
        chunks = iter([paths[i : i + CHUNK] for i in range(0, len(paths), CHUNK)])
        running: set[asyncio.Future[list[Parsed]]] = set()
        done_files = 0
        try:
            while True:
                while len(running) < self.workers * IN_FLIGHT:
                    chunk = next(chunks, None)
                    if chunk is None:
                        break
                    running.add(
                        asyncio.ensure_future(
                            self._run(str(root), chunk, include_docstrings, max_bytes, macros)
                        )
                    )
                if not running:
                    return
                finished, running = await asyncio.wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    parsed = future.result()
                    done_files += len(parsed)
                    self.files_parsed += len(parsed)
                    if on_progress is not None:
                        on_progress(done_files, len(paths))
                    yield parsed
        finally:
            for future in running:
                future.cancel()

    def shutdown(self) -> None:
        if self._retiring is not None:
            self._retiring.cancel()
            self._retiring = None
        if self._pool is not None:
            stop_pool(self._pool)
            self._pool = None
