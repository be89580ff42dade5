"""A tiny edit is parsed on the loop, a small one in a thread, a large batch in the worker
pool: the same answers."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from aegisd_codemap import parsing
from aegisd_codemap.parsing import ParserPool

from aegisd.workers import worker_owners

pytestmark = pytest.mark.usefixtures("pool_servers")


def _write(root: Path, count: int, size: int = 0) -> list[str]:
    paths = []
    for i in range(count):
        padding = "# " + "x" * size + "\n" if size else ""
        (root / f"m{i}.py").write_text(f"{padding}def f{i}(a):\n    return a\n")
        paths.append(f"m{i}.py")
    return paths


async def test_small_edit_is_parsed_without_the_pool(tmp_path: Path) -> None:
    pool = ParserPool(workers=1)
    parsed = await pool.parse(tmp_path, _write(tmp_path, 1), include_docstrings=False)
    assert pool._pool is None  # no worker process was needed
    ((path, digest, extract),) = parsed
    assert path == "m0.py" and digest is not None and extract is not None
    assert [s.name for s in extract.symbols] == ["f0"]
    assert pool.files_parsed == 1


async def test_pool_and_thread_agree(tmp_path: Path) -> None:
    paths = _write(tmp_path, parsing.INLINE_MAX_FILES + 1)
    pool = ParserPool(workers=1)
    try:
        by_pool = sorted(await pool.parse(tmp_path, paths, include_docstrings=False))
        assert pool._pool is not None
        inline = [item for p in paths for item in await pool.parse(tmp_path, [p], False)]
    finally:
        pool.shutdown()
    assert by_pool == sorted(inline)


async def test_large_file_goes_to_the_pool(tmp_path: Path) -> None:
    paths = _write(tmp_path, 1, size=parsing.INLINE_MAX_BYTES)
    pool = ParserPool(workers=1)
    try:
        ((_, _, extract),) = await pool.parse(tmp_path, paths, include_docstrings=False)
        assert pool._pool is not None and extract is not None
    finally:
        pool.shutdown()


async def test_unreadable_file_is_reported(tmp_path: Path) -> None:
    pool = ParserPool(workers=1)
    assert await pool.parse(tmp_path, ["missing.py"], include_docstrings=False) == [
        ("missing.py", None, None)
    ]


async def test_where_an_edit_is_parsed_follows_its_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    real = parsing.parse_chunk

    def noting(*args: Any) -> Any:
        threads.append(threading.current_thread().name)
        return real(*args)

    monkeypatch.setattr(parsing, "parse_chunk", noting)
    pool = ParserPool(workers=1)
    tiny = _write(tmp_path, 1)
    (tmp_path / "big.py").write_text("# " + "x" * parsing.LOOP_MAX_BYTES + "\ndef g():\n    pass\n")
    for paths in (tiny, ["big.py"]):
        ((_, _, extract),) = await pool.parse(tmp_path, paths, include_docstrings=False)
        assert extract is not None and extract.symbols
    assert threads[0] == threading.current_thread().name  # on the loop
    assert threads[1].startswith("aegisd-interactive")
    assert pool._pool is None


async def test_an_idle_pool_is_retired_and_starts_again_when_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers hold tens of MiB each: once a large batch is done and nothing used the pool for
    IDLE_S, they exit; the next large batch gets new ones."""
    monkeypatch.setattr(parsing, "IDLE_S", 0.2)
    paths = _write(tmp_path, parsing.INLINE_MAX_FILES + 1)
    pool = ParserPool(workers=1)
    try:
        first = sorted(await pool.parse(tmp_path, paths, include_docstrings=False))
        assert pool.running
        workers = set(worker_owners())
        assert workers
        for _ in range(200):
            if not pool.running and not any(_alive(pid) for pid in workers):
                break
            await asyncio.sleep(0.05)
        assert not pool.running
        assert not any(_alive(pid) for pid in workers)
        again = sorted(await pool.parse(tmp_path, paths, include_docstrings=False))
        assert pool.running and again == first
    finally:
        pool.shutdown()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A worker that exited but is not reaped yet is a zombie: gone for memory's sake.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_an_extractor_failing_on_one_file_costs_that_file_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A binder's bug (an IndexError in jsbind, met while building JS navigation) used to fail
    # the whole chunk, and so every file of the batch.
    for name in ("a.py", "bad.ts", "c.py"):
        (tmp_path / name).write_text("def f():\n    pass\n")
    real = parsing.extract_file

    def flaky(rel: str, *args: Any) -> Any:
        if rel == "bad.ts":
            raise IndexError("list index out of range")
        return real(rel, *args)

    monkeypatch.setattr(parsing, "extract_file", flaky)
    parsed = parsing.parse_chunk(str(tmp_path), ["a.py", "bad.ts", "c.py"], False)
    by_path = {rel: extract for rel, _, extract in parsed}
    assert [s.name for s in by_path["a.py"].symbols] == ["f"]
    assert [s.name for s in by_path["c.py"].symbols] == ["f"]
    bad = by_path["bad.ts"]
    assert bad.language == "typescript" and bad.symbols == []
    assert [e.message for e in bad.errors] == [
        "the extractor failed on this file: IndexError: list index out of range"
    ]
