"""The collector policy: survivors of a full collection are frozen; the idle sweep finds the
cyclic garbage among frozen objects."""

from __future__ import annotations

import asyncio
import gc
import platform
import sys
import weakref
from collections.abc import Iterator

import pytest

from aegisd import memory, threads
from aegisd.memory import CollectorPolicy


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> tuple[Node, weakref.ref[Node]]:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return a, weakref.ref(a)


class Activity:
    def __init__(self) -> None:
        self.started = 0
        self.in_flight = 0

    def __call__(self) -> tuple[int, int]:
        return self.started, self.in_flight


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def policy() -> Iterator[CollectorPolicy]:
    policy = CollectorPolicy(Activity())
    policy.install()
    try:
        yield policy
    finally:
        policy.uninstall()
    assert gc.get_freeze_count() == 0


def test_install_freezes_what_exists_and_uninstall_undoes_it() -> None:
    policy = CollectorPolicy(Activity())
    policy.install()
    try:
        assert gc.get_freeze_count() > 0
        assert policy._after_collection in gc.callbacks
        policy.install()  # twice is once
        assert gc.callbacks.count(policy._after_collection) == 1
    finally:
        policy.uninstall()
    assert gc.get_freeze_count() == 0
    assert policy._after_collection not in gc.callbacks
    policy.uninstall()  # harmless when not installed


def test_automatic_full_collections_wait_longer_while_installed() -> None:
    default = gc.get_threshold()
    policy = CollectorPolicy(Activity())
    policy.install()
    try:
        assert gc.get_threshold() == (*default[:2], default[2] * memory.DEFER_FULL_FACTOR)
    finally:
        policy.uninstall()
    assert gc.get_threshold() == default


def test_a_full_collection_is_due_when_cpython_would_run_one_and_nobody_waits(
    policy: CollectorPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    activity: Activity = policy.activity  # type: ignore[assignment]
    monkeypatch.setattr(threads, "_last_interactive", -1e9)  # nothing answered lately
    gc.collect()
    assert not policy.full_due()  # no middle-generation collection since
    for _ in range(gc.get_threshold()[2] // memory.DEFER_FULL_FACTOR):
        gc.collect(1)
    assert policy.full_due()
    activity.in_flight = 1
    assert not policy.full_due()  # a request is being answered
    activity.in_flight = 0
    threads.note_interactive()
    assert not policy.full_due()  # an answer (an edit's) may still be in the making


async def test_run_collects_in_a_quiet_moment(
    policy: CollectorPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memory, "_CHECK_EVERY_S", 0.001)
    monkeypatch.setattr(threads, "_last_interactive", -1e9)
    node, ref = cycle()
    for _ in range(gc.get_threshold()[2] // memory.DEFER_FULL_FACTOR):
        gc.collect(1)  # young collections alone: the cycle survives into the oldest generation
    del node
    gc.collect(1)
    assert ref() is not None  # garbage now, within reach of a full collection only
    task = asyncio.create_task(policy.run())
    try:
        async with asyncio.timeout(5):
            while not policy.quiet_collections:
                await asyncio.sleep(0.005)
    finally:
        task.cancel()
    assert ref() is None  # collected by the policy's own full collection
    assert gc.get_count()[2] == 0


def test_survivors_of_a_full_collection_are_frozen(policy: CollectorPolicy) -> None:
    kept = cycle()[0]
    dropped = cycle()[1]
    before = gc.get_freeze_count()
    gc.collect()
    assert dropped() is None  # garbage is collected, not frozen
    assert gc.get_freeze_count() > before
    assert not any(obj is kept for obj in gc.get_objects())  # frozen: out of the collector's view


def test_a_young_collection_freezes_nothing(policy: CollectorPolicy) -> None:
    gc.collect()
    before = gc.get_freeze_count()
    kept = [cycle() for _ in range(10)]
    gc.collect(0)
    assert gc.get_freeze_count() == before
    assert kept


def test_the_sweep_collects_garbage_among_frozen_objects(policy: CollectorPolicy) -> None:
    node, ref = cycle()
    gc.collect()  # the cycle survives and is frozen
    del node
    gc.collect()
    assert ref() is not None  # a frozen cycle is out of reach of ordinary collections
    assert policy.sweep() > 0
    assert ref() is None
    assert gc.get_freeze_count() > 0  # survivors frozen again
    assert policy.sweeps == 1


def test_a_sweep_is_due_only_after_the_interval_and_a_quiet_spell() -> None:
    activity, clock = Activity(), Clock()
    policy = CollectorPolicy(activity, sweep_every_s=60, sweep_anyway_s=600, idle_s=5, clock=clock)
    assert not policy.sweep_due()  # just started
    clock.now += 61
    assert policy.sweep_due()  # an interval on, and nothing happened for 5 s
    activity.started += 1  # a request came
    assert not policy.sweep_due()
    clock.now += 5
    activity.in_flight = 1  # and one is still running
    assert not policy.sweep_due()
    activity.in_flight = 0
    clock.now += 4
    assert not policy.sweep_due()
    clock.now += 1
    assert policy.sweep_due()
    policy.sweep()
    for _ in range(599):  # a request every second for ten minutes: never idle
        clock.now += 1
        activity.started += 1
        assert not policy.sweep_due()
    clock.now += 1
    activity.started += 1
    assert policy.sweep_due()  # swept anyway


def test_a_sweep_not_installed_leaves_nothing_frozen() -> None:
    policy = CollectorPolicy(Activity())
    policy.sweep()
    assert gc.get_freeze_count() == 0


async def test_run_sweeps_when_due(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_CHECK_EVERY_S", 0.001)
    clock = Clock()
    policy = CollectorPolicy(Activity(), sweep_every_s=10, idle_s=1, clock=clock)
    task = asyncio.create_task(policy.run())
    try:
        await asyncio.sleep(0.02)
        assert policy.sweeps == 0
        clock.now += 11
        async with asyncio.timeout(5):
            while not policy.sweeps:
                await asyncio.sleep(0.005)
    finally:
        task.cancel()
    assert policy.sweeps == 1  # the next one is another interval away


def test_malloc_arenas_are_capped_unless_the_user_chose(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    glibc = sys.platform == "linux" and platform.libc_ver()[0] == "glibc"
    assert memory.limit_malloc_arenas() is glibc
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert memory.limit_malloc_arenas() is False
