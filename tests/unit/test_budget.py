"""The memory budget: one LRU across every budgeted cache, an allowance fitted to the measured
process tree, participants shrunk in proportion, and over-budget reported."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from aegisd import budget as budget_module
from aegisd import workers
from aegisd.budget import FLOOR_BYTES, BudgetedCache, Measurement, MemoryBudget, MiB, measure
from aegisd.cache import Cache, ResultCacheShare


def fitted(budget: MemoryBudget, allowance: int) -> MemoryBudget:
    budget.cache_allowance = allowance
    return budget


def test_entries_are_kept_and_counted() -> None:
    budget = MemoryBudget(64 * MiB)
    cache: BudgetedCache[str, str] = budget.cache("test.a", "test")
    cache.put("k", "v", size=100)
    assert cache.get("k") == "v" and "k" in cache and len(cache) == 1
    assert cache.bytes == budget.cached_bytes == 100
    assert cache.get("missing") is None
    assert (cache.hits, cache.misses) == (1, 1)
    cache.put("k", "w", size=40)  # replaced, not added
    assert cache.bytes == budget.cached_bytes == 40
    assert cache.pop("k") == "w" and cache.pop("k") is None
    assert cache.bytes == budget.cached_bytes == 0
    assert budget.cache("test.a", "test") is cache


def test_the_least_recently_used_entry_of_any_cache_goes_first() -> None:
    budget = fitted(MemoryBudget(64 * MiB), 300)
    a: BudgetedCache[str, int] = budget.cache("test.a", "test")
    b: BudgetedCache[str, int] = budget.cache("test.b", "test")
    a.put("a1", 1, size=100)
    b.put("b1", 1, size=100)
    a.put("a2", 1, size=100)
    assert a.get("a1") == 1  # used again: b1 is now the oldest
    b.put("b2", 1, size=100)
    assert "b1" not in b and {"a1", "a2"} <= set(a._entries) and "b2" in b
    assert b.evictions == 1 and budget.cached_bytes == 300


def test_an_entry_larger_than_the_allowance_is_not_kept() -> None:
    budget = fitted(MemoryBudget(64 * MiB), 1000)
    cache: BudgetedCache[str, bytes] = budget.cache("test.a", "test")
    cache.put("small", b"x", size=10)
    cache.put("huge", b"y", size=2000)
    assert "huge" not in cache and cache.get("small") == b"x"


def test_sizes_are_estimated_when_not_given() -> None:
    budget = MemoryBudget(64 * MiB)
    cache: BudgetedCache[str, list[str]] = budget.cache("test.a", "test")
    cache.put("k", ["x" * 1000] * 3)
    assert cache.bytes > 1000


def test_discard_where_and_clear_and_forget_give_the_bytes_back() -> None:
    budget = MemoryBudget(64 * MiB)
    cache: BudgetedCache[tuple[str, str], int] = budget.cache("test.a", "test")
    for ws in ("w1", "w2"):
        for path in ("a.py", "b.py"):
            cache.put((ws, path), 1, size=10)
    assert cache.discard_where(lambda key: key[0] == "w1") == 2
    assert budget.cached_bytes == 20 and set(cache._entries) == {("w2", "a.py"), ("w2", "b.py")}
    cache.clear()
    assert budget.cached_bytes == 0 and len(cache) == 0
    cache.put(("w3", "c.py"), 1, size=10)
    budget.forget("test.a")
    assert budget.cached_bytes == 0 and "test.a" not in budget.report()["caches"]


def test_the_allowance_is_what_the_budget_leaves_between_floor_and_ceiling() -> None:
    budget = MemoryBudget(100 * MiB)
    cache: BudgetedCache[int, int] = budget.cache("test.a", "test")
    for i in range(30):
        cache.put(i, i, size=MiB)
    assert budget.cached_bytes == 30 * MiB
    # 60 MiB measured, 30 of them ours: the rest is 30, so caches may hold 50 (the ceiling)
    assert budget.apply(Measurement(60 * MiB, {})) == 0
    assert budget.cache_allowance == 50 * MiB and not budget.over_budget
    # the rest grows to 80 MiB: caches must fit in 20
    freed = budget.apply(Measurement(110 * MiB, {}))
    assert freed == 10 * MiB and budget.cached_bytes == 20 * MiB
    assert cache.get(0) is None and cache.get(29) == 29  # the oldest went
    assert not budget.over_budget  # 100 MiB after the shrink: at the budget, not over it


def test_over_budget_with_caches_at_the_floor_is_reported_until_well_under() -> None:
    budget = MemoryBudget(100 * MiB)
    cache: BudgetedCache[int, int] = budget.cache("test.a", "test")
    cache.put(1, 1, size=MiB)
    budget.apply(Measurement(150 * MiB, {"similarity": 20 * MiB}))
    assert budget.cache_allowance == FLOOR_BYTES and budget.over_budget
    [reason] = budget.reasons()
    assert "memory over budget: 170 MiB of 100 MiB" in reason
    budget.apply(Measurement(97 * MiB, {}))  # under, but not by enough to stop flapping
    assert budget.over_budget
    budget.apply(Measurement(90 * MiB, {}))
    assert not budget.over_budget and budget.reasons() == []


class Hoard:
    """A participant holding `size` bytes in units of 1 KiB."""

    def __init__(self, name: str, size: int) -> None:
        self.name = name
        self.owner = "test"
        self.size = size
        self.asked: list[int] = []

    @property
    def bytes(self) -> int:
        return self.size

    def shrink(self, target_bytes: int) -> int:
        self.asked.append(target_bytes)
        freed = max(0, self.size - target_bytes)
        self.size -= freed
        return freed


def test_participants_shrink_in_proportion_after_the_caches() -> None:
    budget = MemoryBudget(100 * MiB)
    big, small = Hoard("test.big", 30 * MiB), Hoard("test.small", 10 * MiB)
    budget.register(big)
    budget.register(small)
    # rest 70 MiB: the allowance is 30 MiB, 10 MiB too many, shared 3:1
    budget.apply(Measurement(110 * MiB, {}))
    assert big.size == int(22.5 * MiB) and small.size == int(7.5 * MiB)
    assert budget.report()["by_owner"]["test"]["caches"] == 30 * MiB


def test_a_failing_participant_does_not_stop_the_others() -> None:
    class Broken(Hoard):
        def shrink(self, target_bytes: int) -> int:
            raise RuntimeError("bug")

    budget = MemoryBudget(100 * MiB)
    budget.register(Broken("test.broken", 30 * MiB))
    ok = Hoard("test.ok", 30 * MiB)
    budget.register(ok)
    budget.apply(Measurement(120 * MiB, {}))
    assert ok.size < 30 * MiB


def test_the_result_cache_takes_part() -> None:
    cache = Cache(max_entries=100, max_bytes=10 * MiB)
    for i in range(10):
        cache.put("ns", "w", i, "x", size=MiB // 2)
    share = ResultCacheShare(cache)
    assert share.bytes == 5 * MiB
    assert share.shrink(2 * MiB) == 3 * MiB
    assert cache.get("ns", "w", 0) is None and cache.get("ns", "w", 9) == "x"
    assert cache.stats()["ns"]["evictions"] == 6


def test_concurrent_use_keeps_the_accounting_exact() -> None:
    budget = fitted(MemoryBudget(64 * MiB), 50_000)
    caches = [budget.cache(f"test.{n}", "test") for n in range(4)]

    def churn(cache: BudgetedCache[Any, Any]) -> None:
        for i in range(5_000):
            cache.put(i % 300, i, size=100)
            cache.get((i * 7) % 300)
            if i % 11 == 0:
                cache.pop(i % 300)

    threads = [threading.Thread(target=churn, args=(cache,)) for cache in caches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert budget.cached_bytes == sum(cache.bytes for cache in caches) <= 50_000
    assert all(cache.bytes == 100 * len(cache) for cache in caches)


def _pid() -> int:
    return os.getpid()


@pytest.mark.skipif(not os.path.exists("/proc/self/smaps_rollup"), reason="Linux /proc")
def test_the_tree_is_measured_with_workers_by_owner() -> None:
    pool: ProcessPoolExecutor = workers.start_pool(1, ["aegisd.budget"], owner="testing")
    try:
        worker = pool.submit(_pid).result(timeout=60)
        assert workers.worker_owners()[worker] == "testing"
        measured = measure(os.getpid(), workers.worker_owners())
        assert measured.daemon > 10 * MiB and measured.by_owner["testing"] > 0
        assert measured.total == measured.daemon + sum(measured.by_owner.values())
    finally:
        workers.stop_pool(pool)
        workers.stop_servers()
    assert worker not in workers.worker_owners()


def test_a_pool_belongs_to_the_plugin_it_preloads() -> None:
    assert workers._plugin_of(["aegisd_similarity.poolinit"]) == "similarity"
    assert workers._plugin_of([]) == "other"


def test_a_large_shrink_frees_outside_the_lock_a_step_at_a_time() -> None:
    budget = MemoryBudget(100 * MiB)
    cache = budget.cache("test.many", "test")
    freed_under_lock: list[bool] = []

    class Watched:
        """Records, as it is freed, whether another thread could take the budget's lock."""

        def __del__(self) -> None:
            got: list[bool] = []

            def try_lock() -> None:
                if budget.lock.acquire(blocking=False):
                    budget.lock.release()
                    got.append(True)
                else:
                    got.append(False)

            thread = threading.Thread(target=try_lock)
            thread.start()
            thread.join()
            freed_under_lock.append(not got[0])

    cache.put("watched", Watched(), size=1024)
    for i in range(3 * budget_module.EVICT_STEP):
        cache.put(i, i, size=1024)
    # as if a measurement left the caches nothing
    budget.cache_allowance = 0
    freed = budget.enforce_in_steps()
    assert len(cache) == 0 and freed == (3 * budget_module.EVICT_STEP + 1) * 1024
    assert freed_under_lock == [False]
