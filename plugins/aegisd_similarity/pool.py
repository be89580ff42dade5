"""Analysis in a process pool: workers read, hash, tokenize and fingerprint files themselves.

The code map's approach (`aegisd_codemap.parsing`): workers get paths, not bytes, so little
crosses the pipes on the way in; they fork from a `forkserver` that has already imported the
tokenizers and grammars, so they never inherit the daemon's threads or locks, and they exit
with the daemon even when it is killed (PR_SET_PDEATHSIG).

Workers live only while a large batch runs (`hold`): idle, each would hold some 50 MiB for
nothing. A few files (an editor's save) are analyzed in a thread of the daemon instead, which
also saves the round trip through the pool on the path from an edit to an updated report.

After a large batch the workers also match the clone index's pairs (`matcher`): matching every
pair is the other half of building the index, and it splits as well as reading does. Each task
carries seeds only; the worker reads its pairs' tokens from the database itself, so no process
holds the whole index.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import aclosing, asynccontextmanager, closing
from dataclasses import dataclass
from functools import partial
from itertools import islice
from pathlib import Path

from aegisd.safeio import DEFAULT_MAX_FILE_BYTES, read_bytes
from aegisd.workers import start_pool, stop_pool
from aegisd_similarity import store
from aegisd_similarity.db import read_only
from aegisd_similarity.fingerprint import Fingerprints, analyze_file
from aegisd_similarity.found import match_rows
from aegisd_similarity.index import Matcher
from aegisd_similarity.match import CloneParams, files_of, parts_by_files
from aegisd_similarity.store import CloneRow
from aegisd_similarity.tokens import FileTokens

CHUNK = 16
INLINE_MAX = 8  # batches up to this many files are analyzed in a thread, not in the pool
IN_FLIGHT = 2  # chunks submitted per worker while analyzing: results wait for the store
MATCH_TASKS = 4  # match tasks per worker, so that none is left with the last big one alone
#: files whose tokens a worker holds at once while matching: a batch's pairs name thousands of
#: files on a tree of near-copies, and holding them all took a worker to 180 MiB at 10k files
MATCH_FILES = 256


@dataclass(frozen=True, slots=True)
class Analyzed:
    """One file as a worker saw it. `digest` is None when the file could not be read (or is
    skipped: see `aegisd.safeio`); the records are None when it was read but not indexed
    (binary, or beyond the tokenizer)."""

    path: str
    digest: str | None
    tokens: FileTokens | None = None
    fingerprints: Fingerprints | None = None


def analyze_chunk(
    root: str,
    files: Sequence[tuple[str, str]],
    k: int,
    window: int,
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> list[Analyzed]:
    """Worker side: each (path, language) read (safely, up to `max_bytes`), hashed (as the
    core hashes: blake2b-128) and, unless binary or beyond the tokenizer, tokenized and
    fingerprinted."""
    out = []
    for rel, language in files:
        try:
            data = read_bytes(root, rel, max_bytes)
        except OSError:  # gone, or skipped since it settled: the next batch says so
            out.append(Analyzed(rel, None))
            continue
        digest = hashlib.blake2b(data, digest_size=16).hexdigest()
        if b"\0" in data[:8192]:
            out.append(Analyzed(rel, digest))
            continue
        try:
            tokens, prints = analyze_file(rel, data, language, k, window)
        except Exception:  # a file the tokenizer chokes on is skipped, not fatal to its chunk
            out.append(Analyzed(rel, digest))
            continue
        out.append(Analyzed(rel, digest, tokens, prints))
    return out


def match_task(
    db_path: str, groups: dict[int, list[int]], k: int, params: CloneParams
) -> list[CloneRow]:
    """Worker side of `AnalysisPool.match`: the pairs matched part by part, with the tokens of
    at most `MATCH_FILES` files held at once, read from the database as a part needs them (a
    file the part before held too, most often a pair's first, is kept, not read again)."""
    rows: list[CloneRow] = []
    held: dict[int, FileTokens] = {}
    with closing(read_only(Path(db_path))) as conn:
        for part in parts_by_files(groups, MATCH_FILES):
            needed = files_of(part)
            held = {fid: tokens for fid, tokens in held.items() if fid in needed}
            held.update(store.read_tokens(conn, sorted(needed - held.keys()), source=False))
            rows += match_rows(held, part, k, params)
    return rows


class AnalysisPool:
    """A process pool sized to the machine, started when a large batch comes and stopped when
    the last one running ends."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or max(1, os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None
        self._users = 0  # blocks holding the workers
        self._starting = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor:
        with self._starting:  # `match` asks for it from a thread: never start two
            if self._pool is None:
                self._pool = start_pool(self.workers, ["aegisd_similarity.poolinit"])
            return self._pool

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """Keep the workers, once started, until the block ends (and no other holds them)."""
        self._users += 1
        try:
            yield
        finally:
            self._users -= 1
            if not self._users:
                self.shutdown(wait=False)  # workers exit in the background

    async def analyze(
        self,
        root: Path,
        files: Sequence[tuple[str, str]],
        k: int,
        window: int,
        on_progress: Callable[[int, int], None] | None = None,
        max_bytes: int = DEFAULT_MAX_FILE_BYTES,
    ) -> list[Analyzed]:
        """Analyze (path, language) pairs; `on_progress(done, total)` after each chunk."""
        stream = self.stream(root, files, k, window, on_progress, max_bytes)
        async with aclosing(stream) as chunks:
            return [a async for chunk in chunks for a in chunk]

    async def stream(
        self,
        root: Path,
        files: Sequence[tuple[str, str]],
        k: int,
        window: int,
        on_progress: Callable[[int, int], None] | None = None,
        max_bytes: int = DEFAULT_MAX_FILE_BYTES,
    ) -> AsyncGenerator[list[Analyzed], None]:
        """`analyze`, its results yielded chunk by chunk as workers finish them (so the caller
        can index some while the rest are analyzed); close it when leaving early."""
        if not files:
            return
        if len(files) <= INLINE_MAX:
            results = await asyncio.to_thread(analyze_chunk, str(root), files, k, window, max_bytes)
            if on_progress is not None:
                on_progress(len(results), len(files))
            yield results
            return
        async with self.hold():
            async for chunk in self._in_pool(root, files, k, window, on_progress, max_bytes):
                yield chunk

    def matcher(self, db_path: Path) -> Matcher:
        """A `Matcher` that runs in the workers, reading tokens from `db_path`, for a thread of
        the daemon (it blocks on each batch's tasks); use it while holding the pool."""
        return partial(self.match_batches, db_path)

    def match(
        self, db_path: Path, groups: dict[int, list[int]], k: int, params: CloneParams
    ) -> list[CloneRow]:
        """One batch of pairs matched in the workers."""
        return next(self.match_batches(db_path, [groups], k, params))

    def match_batches(
        self, db_path: Path, batches: Iterable[dict[int, list[int]]], k: int, params: CloneParams
    ) -> Iterator[list[CloneRow]]:
        """Batches of pairs matched in the workers, each batch's rows in turn: the next batch
        is taken (its seeds computed by the caller) while the workers match the one before."""
        executor = self._executor()
        running: list[Future[list[CloneRow]]] | None = None  # the batch in the workers
        try:
            for groups in batches:
                tasks = _split(groups, self.workers * MATCH_TASKS) if groups else []
                submitted = [executor.submit(match_task, str(db_path), t, k, params) for t in tasks]
                if running is not None:
                    yield self._rows(running)
                running = submitted
            if running is not None:
                yield self._rows(running)
        except BrokenProcessPool:
            self._broken(executor)
            raise
        finally:
            for future in running or ():
                future.cancel()

    @staticmethod
    def _rows(futures: list[Future[list[CloneRow]]]) -> list[CloneRow]:
        return [row for future in futures for row in future.result()]

    async def _in_pool(
        self,
        root: Path,
        files: Sequence[tuple[str, str]],
        k: int,
        window: int,
        on_progress: Callable[[int, int], None] | None,
        max_bytes: int,
    ) -> AsyncGenerator[list[Analyzed], None]:
        pool = self._executor()
        chunks = iter([files[i : i + CHUNK] for i in range(0, len(files), CHUNK)])
        running: set[asyncio.Future[list[Analyzed]]] = set()

        def submit(batch: list[Sequence[tuple[str, str]]]) -> list[Future[list[Analyzed]]]:
            return [pool.submit(analyze_chunk, str(root), c, k, window, max_bytes) for c in batch]

        async def fill() -> None:
            """Keep IN_FLIGHT chunks per worker submitted: results are tokens and fingerprints
            (tens of KiB a file), so they must not come faster than the store takes them (all
            at once, 50,000 files' results piled up past 2 GiB). In a thread: submitting forks
            the workers (and may first start the forkserver), which would stall the loop."""
            batch = list(islice(chunks, self.workers * IN_FLIGHT - len(running)))
            if batch:
                running.update(
                    asyncio.wrap_future(f) for f in await asyncio.to_thread(submit, batch)
                )

        done = 0
        try:
            await fill()
            while running:
                finished, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                running.difference_update(finished)
                for future in finished:
                    chunk = future.result()
                    done += len(chunk)
                    if on_progress is not None:
                        on_progress(done, len(files))
                    yield chunk
                await fill()
        except BrokenProcessPool:
            self._broken(pool)  # a worker died (killed, out of memory): start afresh next time
            raise
        finally:
            for future in running:
                future.cancel()

    def shutdown(self, wait: bool = True) -> None:
        if self._pool is not None:
            stop_pool(self._pool, wait=wait)
            self._pool = None

    def _broken(self, pool: ProcessPoolExecutor) -> None:
        with self._starting:
            if self._pool is pool:
                self._pool = None
        stop_pool(pool, wait=False)


def _split(groups: dict[int, list[int]], parts: int) -> list[dict[int, list[int]]]:
    """Seed groups cut into about `parts` tasks with as many seeds each (matching costs about
    the same per seed, whatever the pair), each a run of pairs in key order, so a task's pairs
    share many files."""
    total = sum(map(len, groups.values()))
    tasks: list[dict[int, list[int]]] = [{}]
    done = 0
    for pair in sorted(groups):
        seeds = groups[pair]
        if done >= total * len(tasks) / parts and len(tasks) < parts:
            tasks.append({})
        tasks[-1][pair] = seeds
        done += len(seeds)
    return tasks
