"""Winnowing: determinism, density, the detection guarantee, robustness to repetition."""

from __future__ import annotations

import pickle
import random
from array import array
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import pytest
from aegisd_similarity.fingerprint import (
    DEFAULT_K,
    DEFAULT_WINDOW,
    Fingerprints,
    analyze_file,
    fingerprint,
)
from aegisd_similarity.tokens import FileTokens

from tests.plugins.similarity.helpers import FIXTURES, load


def _tokens(codes: list[int]) -> FileTokens:
    values = array("I", codes)
    return FileTokens("x.py", "python", 1, values, values, array("I"), array("I"), b"")


def test_same_tokens_same_fingerprints() -> None:
    first, second = load("python/exact_a.py"), load("python/exact_a.py")
    assert fingerprint(first) == fingerprint(second)
    prints = fingerprint(first)
    assert (prints.k, prints.window) == (DEFAULT_K, DEFAULT_WINDOW)
    assert list(prints.positions) == sorted(set(prints.positions))
    assert all(0 <= p <= len(first) - DEFAULT_K for p in prints.positions)
    assert prints.rows() == list(zip(prints.hashes, prints.positions, strict=True))


def test_density_is_about_two_per_window() -> None:
    rng = random.Random(7)
    tokens = _tokens([rng.randrange(50) for _ in range(20_000)])
    prints = fingerprint(tokens, k=10, window=9)
    density = len(prints) / len(tokens)
    assert 0.15 < density < 0.25  # 2 / (window + 1) = 0.2 for random text


@pytest.mark.parametrize("seed", range(25))
def test_any_shared_run_of_k_plus_window_minus_one_tokens_is_found(seed: int) -> None:
    rng = random.Random(seed)
    k, window = 8, 6
    shared = [rng.randrange(40) for _ in range(k + window - 1)]
    head_a, head_b = rng.randrange(1, 50), rng.randrange(1, 50)
    a = [rng.randrange(40) for _ in range(head_a)] + shared + [rng.randrange(40) for _ in range(30)]
    b = [rng.randrange(40) for _ in range(head_b)] + shared + [rng.randrange(40) for _ in range(9)]
    pa, pb = fingerprint(_tokens(a), k, window), fingerprint(_tokens(b), k, window)
    in_a = {(h, p - head_a) for h, p in pa.rows()}
    in_b = {(h, p - head_b) for h, p in pb.rows()}
    aligned = {offset for h, offset in in_a & in_b if 0 <= offset <= window - 1}
    assert aligned, "the shared run produced no common fingerprint"


def test_repetition_is_fingerprinted_once_per_window() -> None:
    prints = fingerprint(_tokens([5] * 1_000), k=4, window=10)
    assert len(set(prints.hashes)) == 1
    assert len(prints) <= 1_000 // 10 + 1
    assert min(b - a for a, b in zip(prints.positions, prints.positions[1:], strict=False)) >= 10


def test_short_and_invalid_inputs() -> None:
    assert fingerprint(_tokens([1, 2, 3]), k=4, window=4) == Fingerprints(
        4, 4, array("I"), array("I")
    )
    assert len(fingerprint(_tokens([1, 2, 3, 4]), k=4, window=4)) == 1
    with pytest.raises(ValueError):
        fingerprint(_tokens([1, 2, 3]), k=0)


def test_record_round_trip() -> None:
    prints = fingerprint(load("python/gapped_a.py"))
    row = prints.to_record()
    assert (row["k"], row["window"]) == (DEFAULT_K, DEFAULT_WINDOW)
    assert len(row["hashes"]) == len(row["positions"]) == 4 * len(prints)  # type: ignore[arg-type]
    assert Fingerprints.from_record(row) == prints
    assert pickle.loads(pickle.dumps(prints)) == prints


@pytest.mark.usefixtures("pool_servers")
def test_analyze_file_runs_in_a_process_pool() -> None:
    data = (FIXTURES / "cpp" / "matrix_a.cpp").read_bytes()
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        tokens, prints = pool.submit(analyze_file, "cpp/matrix_a.cpp", data).result()
    assert tokens == load("cpp/matrix_a.cpp")
    assert prints == fingerprint(tokens)
    assert len(prints) > 0
