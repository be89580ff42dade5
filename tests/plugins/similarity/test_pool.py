"""Analysis in workers and in a thread: files read, hashed as the core hashes them, skipped."""

from __future__ import annotations

from pathlib import Path

from aegisd_similarity.fingerprint import analyze_file
from aegisd_similarity.pool import INLINE_MAX, MAX_FILE_BYTES, AnalysisPool, analyze_chunk

from aegisd.filestate import content_hash
from tests.plugins.similarity.helpers import FIXTURES


def _project(root: Path, copies: int) -> list[tuple[str, str]]:
    code = (FIXTURES / "python" / "renamed_a.py").read_bytes()
    for n in range(copies):
        (root / f"m{n}.py").write_bytes(code + f"VALUE = {n}\n".encode())
    return [(f"m{n}.py", "python") for n in range(copies)]


def test_analyze_chunk_reads_hashes_and_skips(tmp_path: Path) -> None:
    files = _project(tmp_path, 1)
    (tmp_path / "big.py").write_bytes(b"x = 1\n" * (MAX_FILE_BYTES // 6 + 1))
    (tmp_path / "blob.c").write_bytes(b"\x00\x01binary")
    files += [("big.py", "python"), ("blob.c", "c"), ("gone.py", "python")]
    ok, big, blob, gone = analyze_chunk(str(tmp_path), files, 20, 11)
    expected = analyze_file("m0.py", (tmp_path / "m0.py").read_bytes())
    assert (ok.tokens, ok.fingerprints) == expected
    assert ok.digest == content_hash(tmp_path / "m0.py")
    assert big.digest == content_hash(tmp_path / "big.py") and big.tokens is None
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
