"""The memory budget: caches that size themselves to `[memory] budget_mib`, and its report.

The database is the index; memory is a cache over it. Plugins keep hot working sets in
`BudgetedCache`s (one global LRU across all of them) or register their own bounded structures
as `Participant`s. A monitor measures the daemon's process tree (PSS: shared pages counted once
between the daemon and its forked workers) every `check_interval_s` and sets how much the
caches may hold: what the budget leaves beside everything else, between a floor and a ceiling.
Over budget, caches shrink first (least recently used entries across all caches, then
participants in proportion); if the tree stays over budget with the caches at their floor, the
daemon says it is degraded (`daemon.health`) rather than pretending all is well.

A cache never decides whether an entry is stale: key entries by something that changes with
the content (a path and its content hash, a workspace clock), or drop them when a file changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from loguru import logger

from aegisd.cache import approx_size

MiB = 1 << 20
#: caches may hold this share of the budget before the first measurement (and at most this)
CEILING_SHARE = 0.5
#: ... and always at least this much, however tight the budget: below it caching is pointless
FLOOR_BYTES = 4 * MiB
#: an over-budget daemon is healthy again below this share of its budget (no flapping)
RECOVER_SHARE = 0.95
#: entries evicted per hold of the lock when the monitor shrinks the caches
EVICT_STEP = 256
#: the owner of pools' workers and children no plugin claims
OTHER = "other"

K = TypeVar("K")
V = TypeVar("V")


class Participant(Protocol):
    """A plugin's own bounded structure that counts against the budget (not a plain map)."""

    name: str
    owner: str

    @property
    def bytes(self) -> int: ...

    def shrink(self, target_bytes: int) -> int:
        """Drop what it can until it holds at most `target_bytes`; return the bytes freed.
        Called on the event loop: it must be quick."""
        ...


@dataclass
class _Entry(Generic[V]):
    value: V
    size: int
    tick: int


class BudgetedCache(Generic[K, V]):
    """An LRU map whose entries count against the daemon's memory budget. Thread-safe: one
    lock (the budget's) for every cache, every operation O(1) but `discard_where`."""

    def __init__(self, budget: MemoryBudget, name: str, owner: str) -> None:
        self.name = name
        self.owner = owner
        self._budget = budget
        self._lock = budget.lock
        self._entries: OrderedDict[K, _Entry[V]] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    def get(self, key: K) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            entry.tick = self._budget.next_tick()
            self.hits += 1
            return entry.value

    def put(self, key: K, value: V, size: int | None = None) -> None:
        """Keep `value` under `key`; `size` is its memory in bytes (estimated when None). An
        entry larger than the caches' whole allowance is not kept."""
        size = approx_size(value) if size is None else max(0, size)
        with self._lock:
            self._remove(key)
            if size > self._budget.cache_allowance:
                return
            self._entries[key] = _Entry(value, size, self._budget.next_tick())
            self._bytes += size
            self._budget.cached_bytes += size
            self._budget.enforce_locked()

    def pop(self, key: K) -> V | None:
        with self._lock:
            entry = self._remove(key)
            return None if entry is None else entry.value

    def discard_where(self, predicate: Callable[[K], bool]) -> int:
        """Drop every entry whose key satisfies `predicate`; return how many."""
        with self._lock:
            doomed = [key for key in self._entries if predicate(key)]
            for key in doomed:
                self._remove(key)
            return len(doomed)

    def clear(self) -> None:
        with self._lock:
            self._budget.cached_bytes -= self._bytes
            self._entries.clear()
            self._bytes = 0

    @property
    def bytes(self) -> int:
        return self._bytes

    @property
    def fill(self) -> float:
        """The share of the caches' allowance every cache together holds (at 1 the least
        used are evicted): work that only fills a cache ahead of use stops before that."""
        return self._budget.cached_bytes / max(1, self._budget.cache_allowance)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def stats(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "entries": len(self._entries),
            "bytes": self._bytes,
            "hits": self.hits,
            "misses": self.misses,
            "evictions": self.evictions,
        }

    # -- under the budget's lock --------------------------------------------------------

    def _remove(self, key: K) -> _Entry[V] | None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry.size
            self._budget.cached_bytes -= entry.size
        return entry

    def oldest_tick(self) -> int | None:
        for entry in self._entries.values():
            return entry.tick
        return None

    def evict_oldest(self) -> tuple[int, V]:
        """Drop the least recently used entry; its size and value (freed by the caller)."""
        _, entry = self._entries.popitem(last=False)
        self._bytes -= entry.size
        self._budget.cached_bytes -= entry.size
        self.evictions += 1
        return entry.size, entry.value


@dataclass
class Measurement:
    """The daemon's process tree at one moment, in bytes (PSS where the kernel gives it)."""

    daemon: int
    by_owner: dict[str, int]  # workers and children, by the plugin that started them

    @property
    def total(self) -> int:
        return self.daemon + sum(self.by_owner.values())


class MemoryBudget:
    """One per daemon (`daemon.memory`): its caches, participants, allowance and report."""

    def __init__(self, budget_bytes: int, check_interval_s: float = 5.0) -> None:
        self.budget_bytes = budget_bytes
        self.check_interval_s = check_interval_s
        self.lock = threading.RLock()
        self.cached_bytes = 0
        self.cache_allowance = max(FLOOR_BYTES, int(budget_bytes * CEILING_SHARE))
        self.over_budget = False
        self.last: Measurement | None = None
        self.shrinks = 0
        self._tick = 0
        self._caches: dict[str, BudgetedCache[Any, Any]] = {}
        self._participants: dict[str, Participant] = {}

    # -- what plugins use ------------------------------------------------------------------

    def cache(self, name: str, owner: str) -> BudgetedCache[Any, Any]:
        """The cache called `name` ("<plugin>.<what>"), created on first use."""
        with self.lock:
            found = self._caches.get(name)
            if found is None:
                found = self._caches[name] = BudgetedCache(self, name, owner)
            return found

    def register(self, participant: Participant) -> None:
        """Count `participant` against the budget; it is asked to shrink under pressure."""
        with self.lock:
            self._participants[participant.name] = participant

    def forget(self, name: str) -> None:
        """Drop a cache (its entries freed) or a participant, e.g. when its plugin stops."""
        with self.lock:
            cache = self._caches.pop(name, None)
            if cache is not None:
                cache.clear()
            self._participants.pop(name, None)

    # -- the allowance ------------------------------------------------------------------

    def next_tick(self) -> int:
        self._tick += 1
        return self._tick

    def enforce_locked(self) -> int:
        """Evict least recently used entries across all caches until they fit the allowance
        (the caller holds the lock); return the bytes freed."""
        freed = 0
        while self.cached_bytes > self.cache_allowance:
            oldest = self._oldest_cache()
            if oldest is None:
                break
            freed += oldest.evict_oldest()[0]
        return freed

    def _oldest_cache(self) -> BudgetedCache[Any, Any] | None:
        """The cache holding the least recently used entry (the lock held)."""
        oldest: BudgetedCache[Any, Any] | None = None
        oldest_tick = 0
        for cache in self._caches.values():
            tick = cache.oldest_tick()
            if tick is not None and (oldest is None or tick < oldest_tick):
                oldest, oldest_tick = cache, tick
        return oldest

    def enforce_in_steps(self) -> int:
        """`enforce_locked` a step of EVICT_STEP entries at a time, the lock let go in between
        and the evicted values freed outside it: a large shrink (hundreds of thousands of
        entries) once held the lock, and the loop's cache reads with it, for 0.4 s. Call it in
        a thread."""
        freed = 0
        while True:
            doomed: list[Any] = []
            with self.lock:
                while len(doomed) < EVICT_STEP and self.cached_bytes > self.cache_allowance:
                    oldest = self._oldest_cache()
                    if oldest is None:
                        break
                    size, value = oldest.evict_oldest()
                    freed += size
                    doomed.append(value)
                done = len(doomed) < EVICT_STEP
            del doomed  # freed here, the lock let go
            if done:
                return freed

    def participant_bytes(self) -> int:
        return sum(p.bytes for p in list(self._participants.values()))

    def apply(self, measured: Measurement) -> int:
        """Fit the caches to what `measured` leaves of the budget; return the bytes freed.
        Evicts in steps: call it in a thread."""
        with self.lock:
            self.last = measured
            held = self.cached_bytes + self.participant_bytes()
            rest = measured.total - held  # what is not ours to shrink
            ceiling = max(FLOOR_BYTES, int(self.budget_bytes * CEILING_SHARE))
            allowance = min(ceiling, max(FLOOR_BYTES, self.budget_bytes - rest))
            self.cache_allowance = allowance
        freed = self.enforce_in_steps()
        with self.lock:
            freed += self._shrink_participants(allowance)
            if measured.total - freed > self.budget_bytes:
                if not self.over_budget:
                    logger.warning(
                        "memory over budget: {} MiB of {} MiB with the caches at {} MiB",
                        measured.total // MiB,
                        self.budget_bytes // MiB,
                        (self.cached_bytes + self.participant_bytes()) // MiB,
                    )
                self.over_budget = True
            elif measured.total < self.budget_bytes * RECOVER_SHARE:
                self.over_budget = False
            if freed:
                self.shrinks += 1
            return freed

    def _shrink_participants(self, allowance: int) -> int:
        participants = list(self._participants.values())
        held = self.cached_bytes + sum(p.bytes for p in participants)
        excess = held - allowance
        if excess <= 0 or not participants:
            return 0
        theirs = sum(p.bytes for p in participants) or 1
        freed = 0
        for participant in participants:
            size = participant.bytes
            target = max(0, size - (excess * size + theirs - 1) // theirs)
            try:
                freed += participant.shrink(target)
            except Exception:  # a plugin's bug must not stop the budget
                logger.exception("memory participant {} failed to shrink", participant.name)
        return freed

    # -- the report ---------------------------------------------------------------------

    def reasons(self) -> list[str]:
        if not self.over_budget or self.last is None:
            return []
        return [
            f"memory over budget: {self.last.total // MiB} MiB of {self.budget_bytes // MiB} MiB"
            " with the caches shrunk"
        ]

    def caches(self) -> Iterator[BudgetedCache[Any, Any]]:
        with self.lock:
            found = list(self._caches.values())
        yield from found

    def shares(self) -> dict[str, dict[str, int]]:
        """Bytes per owner: in caches and participants, and in worker processes."""
        shares: dict[str, dict[str, int]] = {}

        def share(owner: str) -> dict[str, int]:
            return shares.setdefault(owner, {"caches": 0, "workers": 0})

        with self.lock:
            for cache in self._caches.values():
                share(cache.owner)["caches"] += cache.bytes
            for participant in self._participants.values():
                share(participant.owner)["caches"] += participant.bytes
        if self.last is not None:
            for owner, size in self.last.by_owner.items():
                share(owner)["workers"] += size
        return dict(sorted(shares.items()))

    def report(self) -> dict[str, Any]:
        last = self.last
        return {
            "budget_bytes": self.budget_bytes,
            "used_bytes": None if last is None else last.total,
            "daemon_bytes": None if last is None else last.daemon,
            "over_budget": self.over_budget,
            "cache_allowance_bytes": self.cache_allowance,
            "cached_bytes": self.cached_bytes + self.participant_bytes(),
            "by_owner": self.shares(),
            "caches": {cache.name: cache.stats() for cache in self.caches()},
        }

    # -- the monitor --------------------------------------------------------------------

    async def run(self, owners: Callable[[], dict[int, str]]) -> None:
        """Measure the process tree every `check_interval_s` and fit the caches (a task).
        `owners` maps worker pids to the plugin that started them."""
        while True:
            try:
                measured = await asyncio.to_thread(measure, os.getpid(), owners())
                if await asyncio.to_thread(self.apply, measured):
                    await asyncio.to_thread(trim_malloc)
            except Exception:  # measuring must never end the monitor
                logger.exception("measuring memory failed")
            await asyncio.sleep(self.check_interval_s)


def process_bytes(pid: int) -> int:
    """A process's proportional set size (its RSS where the kernel gives no PSS); 0 if gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as rollup:
            for line in rollup:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def measure(pid: int, owners: dict[int, str], children: Iterable[int] | None = None) -> Measurement:
    """The tree under `pid`: the process itself, and its descendants by owner."""
    from aegisd.workers import descendants  # the workers module imports the budget's users

    by_owner: dict[str, int] = {}
    for child in descendants(pid) if children is None else children:
        owner = owners.get(child, OTHER)
        by_owner[owner] = by_owner.get(owner, 0) + process_bytes(child)
    return Measurement(process_bytes(pid), by_owner)


def trim_malloc() -> None:
    """Hand freed heap back to the system (glibc), so evictions show in the measurement."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


__all__ = ["BudgetedCache", "Measurement", "MemoryBudget", "Participant", "measure"]
