"""The cache: exact invalidation by path, LRU bounds, per-namespace counters."""

from __future__ import annotations

import time

from aegisd.cache import ANY_PATH, Cache


def test_invalidation_is_exact_by_path() -> None:
    cache = Cache()
    cache.put("codemap", "w1", "outline:a.py", 1, paths=["a.py"])
    cache.put("codemap", "w1", "outline:b.py", 2, paths=["b.py"])
    cache.put("codemap", "w1", "search:x", 3, paths=[ANY_PATH])
    cache.put("codemap", "w2", "outline:a.py", 4, paths=["a.py"])
    cache.put("settings", "w1", "effective", 5, paths=())
    assert cache.invalidate_paths("w1", ["a.py"]) == 2
    assert cache.get("codemap", "w1", "outline:a.py") is None
    assert cache.get("codemap", "w1", "search:x") is None
    assert cache.get("codemap", "w1", "outline:b.py") == 2
    assert cache.get("codemap", "w2", "outline:a.py") == 4
    assert cache.get("settings", "w1", "effective") == 5
    assert cache.stats()["codemap"]["invalidations"] == 2


def test_a_batch_larger_than_the_cache_invalidates_exactly_the_same() -> None:
    """A first index's 50k paths are matched against the few cached ones, not one by one."""
    cache = Cache()
    cache.put("codemap", "w1", "outline:a.py", 1, paths=["a.py"])
    cache.put("codemap", "w1", "outline:b.py", 2, paths=["b.py"])
    cache.put("codemap", "w2", "outline:a.py", 3, paths=["a.py"])
    batch = {f"gen/m{n}.py": "created" for n in range(1000)} | {"a.py": "modified"}
    assert cache.invalidate_paths("w1", batch) == 1
    assert cache.get("codemap", "w1", "outline:a.py") is None
    assert cache.get("codemap", "w1", "outline:b.py") == 2
    assert cache.get("codemap", "w2", "outline:a.py") == 3
    many = (f"gen/m{n}.py" for n in range(1000))  # not a collection: looked up one by one
    assert cache.invalidate_paths("w1", many) == 0


def test_workspace_invalidation() -> None:
    cache = Cache()
    cache.put("a", "w1", 1, "x")
    cache.put("b", "w1", 2, "y")
    cache.put("a", "w2", 1, "z")
    assert cache.invalidate_workspace("w1") == 2
    assert len(cache) == 1


def test_lru_bounds_entries_and_bytes() -> None:
    cache = Cache(max_entries=3, max_bytes=10_000)
    for i in range(5):
        cache.put("n", "w", i, i, size=10)
    assert len(cache) == 3
    assert cache.get("n", "w", 0) is None and cache.get("n", "w", 4) == 4
    assert cache.stats()["n"]["evictions"] == 2
    cache.get("n", "w", 2)  # touch: 3 becomes the oldest
    cache.put("n", "w", "big", "v", size=9_975)
    assert cache.total_bytes <= 10_000
    assert cache.get("n", "w", 2) == 2 and cache.get("n", "w", 3) is None
    cache.put("n", "w", "huge", "v", size=20_000)  # larger than the whole cache: not kept
    assert cache.get("n", "w", "huge") is None


def test_ttl_and_counters() -> None:
    cache = Cache()
    cache.put("n", "w", "k", "v", ttl=0.01)
    assert cache.get("n", "w", "k") == "v"
    time.sleep(0.02)
    assert cache.get("n", "w", "k") is None
    stats = cache.stats()["n"]
    assert stats["hits"] == 1 and stats["misses"] == 1 and stats["entries"] == 0
