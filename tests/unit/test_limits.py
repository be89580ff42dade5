"""Rate limits and the store's resilience: token buckets, retries, timeout, breaker."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest

from aegisd.breaker import CircuitBreaker
from aegisd.config import RateLimitsConfig
from aegisd.limits import RateLimiter
from aegisd.rpc.errors import RateLimited, Timeout, Unavailable
from aegisd.store.database import Store, StorePolicy


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_buckets_per_client_and_cost_refill_over_time() -> None:
    clock = FakeClock()
    config = RateLimitsConfig.model_validate(
        {"heavy": {"rate": 0.5, "burst": 2}, "exempt_clients": ["ci"]}
    )
    rejected: list[str] = []
    limiter = RateLimiter(config, rejected.append, clock)
    limiter.check("a", "heavy")
    limiter.check("a", "heavy")
    with pytest.raises(RateLimited) as info:
        limiter.check("a", "heavy")
    assert info.value.details["retry_after_ms"] == 2000
    limiter.check("b", "heavy")  # another client has its own bucket
    limiter.check("a", "read")  # another cost class too
    for _ in range(10):
        limiter.check("ci", "heavy")  # exempt
    clock.now += 2.0
    limiter.check("a", "heavy")
    assert rejected == ["heavy"] and limiter.rejected == 1


def test_breaker_opens_probes_and_closes() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("thing", failure_threshold=2, cooldown_s=5, clock=clock)
    breaker.before_call()
    breaker.record_failure()
    breaker.record_failure()
    with pytest.raises(Unavailable) as info:
        breaker.before_call()
    assert info.value.details["retry_after_ms"] == 5000
    clock.now += 5
    breaker.before_call()  # the probe
    with pytest.raises(Unavailable):
        breaker.before_call()  # only one probe at a time
    breaker.record_failure()  # failed probe: open again
    assert breaker.state == "open"
    clock.now += 5
    breaker.before_call()
    breaker.record_success()
    assert breaker.state == "closed"


def _hold_write_lock(path: Path, held: threading.Event, release: threading.Event) -> None:
    with closing(sqlite3.connect(path, isolation_level=None, timeout=0)) as con:
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO t VALUES (0)")
        held.set()
        release.wait(10)
        con.execute("COMMIT")


async def _store(tmp_path: Path, **policy: float) -> Store:
    store = Store(tmp_path / "s.db", pragmas={"busy_timeout": 10}, policy=StorePolicy(**policy))  # type: ignore[arg-type]
    await store.open()
    await store.run(store.db.execute_sql, "CREATE TABLE t (x INTEGER)")
    return store


async def test_busy_database_is_retried_until_the_lock_goes(tmp_path: Path) -> None:
    store = await _store(tmp_path, retries=8, backoff_ms=20)
    held, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(store.path, held, release))
    holder.start()
    held.wait(5)
    asyncio.get_running_loop().call_later(0.3, release.set)
    await store.run(store.db.execute_sql, "INSERT INTO t VALUES (1)")
    holder.join()
    assert store.retries >= 1
    rows = await store.run(lambda: store.db.execute_sql("SELECT count(*) FROM t").fetchone())
    assert rows == (2,)
    await store.close()


async def test_sustained_lock_fails_loudly_then_opens_the_breaker(tmp_path: Path) -> None:
    store = await _store(
        tmp_path, retries=1, backoff_ms=5, breaker_failures=2, breaker_cooldown_s=30
    )
    held, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(store.path, held, release))
    holder.start()
    held.wait(5)
    try:
        for _ in range(2):
            with pytest.raises(Unavailable) as info:
                await store.run(store.db.execute_sql, "INSERT INTO t VALUES (1)")
            assert "busy" in info.value.message and info.value.details["retry_after_ms"] > 0
        assert store.breaker_open
        with pytest.raises(Unavailable, match="is unavailable after 2 consecutive failures"):
            await store.run(store.db.execute_sql, "SELECT 1")
    finally:
        release.set()
        holder.join()
    await store.close()


async def test_slow_operation_is_interrupted_as_timeout(tmp_path: Path) -> None:
    store = await _store(tmp_path, timeout_s=0.2)
    slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    with pytest.raises(Timeout):
        await store.run(lambda: store.db.execute_sql(slow).fetchone())
    # The DB thread is free again.
    assert await store.run(lambda: store.db.execute_sql("SELECT 1").fetchone()) == (1,)
    await store.close()


def test_unix_peers_of_another_uid_are_refused() -> None:
    import os
    import socket as socket_module

    from aegisd.security import PeerCheck, bearer_ok

    class Transport:
        def __init__(self, sock: socket_module.socket) -> None:
            self.sock = sock

        def get_extra_info(self, name: str) -> object:
            return self.sock if name == "socket" else None

    left, right = socket_module.socketpair(socket_module.AF_UNIX)
    try:
        transport = Transport(left)
        assert PeerCheck().allowed(transport) is True
        assert PeerCheck(uid=os.getuid() + 1).allowed(transport) is False
    finally:
        left.close()
        right.close()
    assert bearer_ok("Bearer s3cret", "s3cret") and not bearer_ok("Bearer nope", "s3cret")
    assert not bearer_ok(None, "s3cret") and not bearer_ok("Basic s3cret", "s3cret")


async def test_a_call_that_times_out_while_queued_is_dropped(tmp_path: Path) -> None:
    store = await _store(tmp_path, timeout_s=0.3)
    gate = threading.Event()
    ran: list[str] = []
    busy = store._executor.submit(gate.wait, 5)  # the DB thread is taken, with no timeout
    with pytest.raises(Timeout):
        await store.run(ran.append, "queued")  # waits behind it past its own timeout
    gate.set()
    busy.result(5)
    assert await store.run(lambda: store.db.execute_sql("SELECT 1").fetchone()) == (1,)
    assert ran == []  # dropped from the queue: it never ran late
    await store.close()


def test_a_limited_client_stays_limited_however_many_others_come() -> None:
    clock = FakeClock()
    config = RateLimitsConfig.model_validate({"heavy": {"rate": 0.5, "burst": 2}})
    limiter = RateLimiter(config, clock=clock)
    limiter.check("victim", "heavy")
    limiter.check("victim", "heavy")
    with pytest.raises(RateLimited):
        limiter.check("victim", "heavy")
    # 10,001 other names (the table used to be cleared past 10,000, handing out a new burst).
    for n in range(10_001):
        limiter.check(f"other-{n}", "read")
    with pytest.raises(RateLimited):
        limiter.check("victim", "heavy")
    # Once the others' buckets are full again they are forgotten, oldest first: the table
    # stays bounded, and the victim, whose bucket is not full, is still limited.
    clock.now += 0.01
    for n in range(20_000):
        limiter.check(f"later-{n}", "read")
        clock.now += 0.000_001  # 20 ms in all: a read bucket refills in 2 ms
    assert len(limiter) <= config.max_buckets + config.max_buckets // 4
    with pytest.raises(RateLimited):
        limiter.check("victim", "heavy")
    clock.now += 2.0
    limiter.check("victim", "heavy")  # refilled by time, not by forgetting


def test_the_caller_learns_its_most_constrained_bucket() -> None:
    from aegisd.rpc.context import Caller

    clock = FakeClock()
    config = RateLimitsConfig.model_validate({"heavy": {"rate": 0.5, "burst": 3}})
    limiter = RateLimiter(config, clock=clock)
    caller = Caller("a", "unix", "r1")
    limiter.check("a", "read", caller)
    assert caller.limit is not None and caller.limit.burst == 1000
    limiter.check("a", "heavy", caller)  # 2 of 3 left: more constrained than 999 of 1000
    limiter.check("a", "read", caller)
    assert caller.limit.burst == 3 and caller.retry_after_ms == 0
    limiter.check("a", "heavy")
    limiter.check("a", "heavy")
    refused = Caller("a", "unix", "r2")
    with pytest.raises(RateLimited):
        limiter.check("a", "heavy", refused)
    assert refused.retry_after_ms == 2000 and refused.limit is not None
