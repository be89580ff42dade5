"""Analysis in workers and in a thread: files read, hashed as the core hashes them, skipped."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from aegisd_similarity import pool as pool_module
from aegisd_similarity import store
from aegisd_similarity.fingerprint import analyze_file
from aegisd_similarity.index import CloneIndex
from aegisd_similarity.match import CloneParams, files_of, parts_by_files
from aegisd_similarity.pool import (
    CHUNK,
    INLINE_MAX,
    AnalysisPool,
    _split,
    analyze_chunk,
    match_task,
)
from aegisd_similarity.seeds import seeds_of

from aegisd.safeio import content_hash
from tests.plugins.similarity.helpers import FIXTURES, index_of
from tests.plugins.similarity.test_index import PAIRS

pytestmark = pytest.mark.usefixtures("pool_servers")


def _project(root: Path, copies: int) -> list[tuple[str, str]]:
    code = (FIXTURES / "python" / "renamed_a.py").read_bytes()
    for n in range(copies):
        (root / f"m{n}.py").write_bytes(code + f"VALUE = {n}\n".encode())
    return [(f"m{n}.py", "python") for n in range(copies)]


def test_analyze_chunk_reads_hashes_and_skips(tmp_path: Path) -> None:
    files = _project(tmp_path, 1)
    limit = 64 * 1024
    (tmp_path / "big.py").write_bytes(b"x = 1\n" * (limit // 6 + 1))
    (tmp_path / "blob.c").write_bytes(b"\x00\x01binary")
    os.mkfifo(tmp_path / "pipe.py")
    files += [("big.py", "python"), ("blob.c", "c"), ("gone.py", "python"), ("pipe.py", "python")]
    ok, big, blob, gone, pipe = analyze_chunk(str(tmp_path), files, 20, 11, limit)
    expected = analyze_file("m0.py", (tmp_path / "m0.py").read_bytes())
    assert (ok.tokens, ok.fingerprints) == expected
    assert ok.digest == content_hash(tmp_path, "m0.py", limit)
    # Over the limit, or a FIFO: not read at all (the workspace lists it as skipped).
    assert big.digest is None and pipe.digest is None
    assert blob.digest is not None and blob.tokens is blob.fingerprints is None
    assert gone.digest is None


async def test_small_batches_in_a_thread_large_ones_in_workers(tmp_path: Path) -> None:
    pool = AnalysisPool(workers=2)
    files = _project(tmp_path, INLINE_MAX + 4)
    progress: list[tuple[int, int]] = []
    few = await pool.analyze(tmp_path, files[:2], 20, 11, lambda *p: progress.append(p))
    assert [a.path for a in few] == ["m0.py", "m1.py"] and progress == [(2, 2)]
    many = await pool.analyze(tmp_path, files, 20, 11, lambda *p: progress.append(p))
    assert sorted(a.path for a in many) == sorted(p for p, _ in files)
    assert all(a.tokens is not None for a in many)
    assert progress[-1] == (len(files), len(files))
    assert pool._pool is None  # workers stop once the last large batch is done


async def test_stream_yields_chunks_as_workers_finish(tmp_path: Path) -> None:
    pool = AnalysisPool(workers=2)
    files = _project(tmp_path, 2 * CHUNK + 1)
    chunks = [chunk async for chunk in pool.stream(tmp_path, files, 20, 11)]
    assert sorted(len(c) for c in chunks) == [1, CHUNK, CHUNK]
    assert pool._pool is None


async def test_results_never_pile_up_ahead_of_a_slow_consumer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks are submitted as the caller takes results: at most IN_FLIGHT per worker wait
    (all at once, a large tree's tokens piled up in the daemon faster than it stored them)."""
    monkeypatch.setattr(pool_module, "CHUNK", 1)
    pool = AnalysisPool(workers=2)
    files = _project(tmp_path, INLINE_MAX + 12)
    submitted: list[int] = []
    real = pool._executor

    def counting() -> Any:
        executor = real()
        if not getattr(executor, "_counted", False):
            submit = executor.submit

            def counted(*args: Any, **kwargs: Any) -> Any:
                submitted.append(1)
                return submit(*args, **kwargs)

            executor.submit = counted  # type: ignore[method-assign]
            executor._counted = True  # type: ignore[attr-defined]
        return executor

    monkeypatch.setattr(pool, "_executor", counting)
    taken = 0
    ahead: list[int] = []
    async for chunk in pool.stream(tmp_path, files, 20, 11):
        taken += len(chunk)
        ahead.append(len(submitted) - taken)
        await asyncio.sleep(0.02)  # the store, slower than the workers
    assert taken == len(files) == len(submitted)
    assert max(ahead) <= 2 * pool_module.IN_FLIGHT


async def test_match_in_workers_equals_matching_here(tmp_path: Path) -> None:
    index = index_of(*PAIRS)
    here, there = CloneIndex(), CloneIndex()
    for path in index.files():
        tokens = index.get(path)
        assert tokens is not None
        here.add_file(tokens)
        there.add_file(tokens)
    pool = AnalysisPool(workers=2)
    async with pool.hold():
        await asyncio.to_thread(there.prepare, CloneParams(), pool.matcher(there.db.path))
    assert pool._pool is None
    assert there.clones() == here.clones() != []


def test_split_balances_seeds_and_keeps_every_pair() -> None:
    sizes = [50, 1, 1, 1, 47, 2, 30, 70, 5, 5, 5, 40, 3, 60, 9]
    groups = {pair: list(range(size)) for pair, size in enumerate(sizes)}
    tasks = _split(groups, 4)
    assert len(tasks) == 4
    assert [p for task in tasks for p in task] == sorted(groups)
    seeds = [sum(map(len, task.values())) for task in tasks]
    assert max(seeds) <= sum(sizes) / 4 + max(sizes)


def test_parts_by_files_bound_the_files_and_keep_every_pair_in_order() -> None:
    groups = {a << 32 | b: [a + b] for a in range(1, 6) for b in range(a, 40, 3)}
    parts = list(parts_by_files(groups, 7))
    assert [p for part in parts for p in part] == sorted(groups)
    assert all(part[p] is groups[p] for part in parts for p in part)
    assert max(len(files_of(part)) for part in parts) <= 7
    assert list(parts_by_files({1 << 32 | 2: [0]}, 1)) == [{1 << 32 | 2: [0]}]  # never empty


@contextmanager
def _stored_pairs(tmp_path: Path) -> Iterator[tuple[CloneIndex, sqlite3.Connection, list[int]]]:
    """The test pairs in a clone index on disk: the index, a read connection, the file ids."""
    index = index_of(*PAIRS, max_postings=3)
    with CloneIndex.local(tmp_path / "index.db") as there:
        for path in index.files():
            tokens = index.get(path)
            assert tokens is not None
            there.add_file(tokens)
        there.flush()
        conn = there.db.read()
        yield there, conn, [fid for _, fid in store.indexed_paths(conn, there.space)]


def test_a_match_task_holds_a_few_files_at_a_time_and_finds_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _stored_pairs(tmp_path) as (there, conn, fids):
        groups = seeds_of(conn, there.space, fids, set(fids), 3)
        [whole] = there._match_here([groups], there.k, CloneParams())
        held: list[int] = []
        reading = store.read_tokens

        def counted(conn: Any, fids: Any, source: bool) -> Any:
            found = reading(conn, fids, source)
            held.append(len(found))
            return found

        monkeypatch.setattr(pool_module, "MATCH_FILES", 3)
        monkeypatch.setattr(store, "read_tokens", counted)
        parted = match_task(str(there.db.path), groups, there.k, CloneParams())
    assert len(files_of(groups)) > 3 and len(held) > 1 and max(held) <= 3
    assert sorted(parted) == sorted(whole) != []


async def test_the_next_batch_is_seeded_while_workers_match_the_last(tmp_path: Path) -> None:
    with _stored_pairs(tmp_path) as (there, conn, fids):
        parts = [fids[:3], fids[3:], []]  # an empty batch keeps its place too
        taken: list[int] = []

        def batches() -> Iterator[dict[int, list[int]]]:
            for n, part in enumerate(parts):
                taken.append(n)
                yield seeds_of(conn, there.space, part, set(fids), 3) if part else {}

        pool = AnalysisPool(workers=2)
        async with pool.hold():
            rows = pool.matcher(there.db.path)(batches(), there.k, CloneParams())
            first = await asyncio.to_thread(next, rows)
            assert taken == [0, 1]  # batch 1 seeded before batch 0's rows came back
            rest = await asyncio.to_thread(list, rows)
        here = list(there._match_here(list(batches()), there.k, CloneParams()))
        assert [sorted(r) for r in [first, *rest]] == [sorted(r) for r in here]
        assert [bool(r) for r in here] == [True, True, False]
