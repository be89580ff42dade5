"""In-memory result cache: per workspace, LRU-bounded in entries and bytes, invalidated by path.

Each entry lists the workspace paths it depends on; a change batch drops exactly the entries
depending on a changed path (or on `ANY_PATH`, for answers derived from the whole tree). A
settings update drops the workspace's entries. Counters per namespace feed `daemon.status`.
"""

from __future__ import annotations

import sys
import time
from collections import OrderedDict, defaultdict
from collections.abc import Collection, Iterable, Mapping, Set
from dataclasses import dataclass, field
from typing import Any

#: Dependency meaning "any change in the workspace invalidates this entry".
ANY_PATH = "*"


Key = tuple[str, str, Any]  # namespace, workspace id, key


@dataclass
class _Entry:
    value: Any
    size: int
    paths: frozenset[str]
    expires: float | None


@dataclass
class NamespaceStats:
    hits: int = 0
    misses: int = 0
    evictions: int = 0
    invalidations: int = 0
    entries: int = 0
    bytes: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def approx_size(value: Any, _depth: int = 0) -> int:
    """A cheap estimate of an object's memory, good enough to bound the cache."""
    size = sys.getsizeof(value)
    if _depth > 3:
        return size
    if isinstance(value, dict):
        return size + sum(
            approx_size(k, _depth + 1) + approx_size(v, _depth + 1) for k, v in value.items()
        )
    if isinstance(value, list | tuple | set | frozenset):
        return size + sum(approx_size(v, _depth + 1) for v in value)
    if hasattr(value, "__dict__"):
        return size + approx_size(vars(value), _depth + 1)
    return size


@dataclass
class Cache:
    """The daemon's one cache; namespaces keep plugins' entries and counters apart."""

    max_entries: int = 20_000
    max_bytes: int = 64 * 1024 * 1024
    _entries: OrderedDict[Key, _Entry] = field(default_factory=OrderedDict)
    _by_path: dict[tuple[str, str], set[Key]] = field(default_factory=lambda: defaultdict(set))
    _stats: dict[str, NamespaceStats] = field(default_factory=lambda: defaultdict(NamespaceStats))
    _bytes: int = 0

    def get(self, namespace: str, workspace: str, key: Any, default: Any = None) -> Any:
        full = (namespace, workspace, key)
        entry = self._entries.get(full)
        stats = self._stats[namespace]
        if entry is None or (entry.expires is not None and entry.expires < time.monotonic()):
            if entry is not None:
                self._drop(full)
            stats.misses += 1
            return default
        self._entries.move_to_end(full)
        stats.hits += 1
        return entry.value

    def put(
        self,
        namespace: str,
        workspace: str,
        key: Any,
        value: Any,
        *,
        paths: Iterable[str] = (ANY_PATH,),
        ttl: float | None = None,
        size: int | None = None,
    ) -> None:
        """Store `value`; it is dropped when any of `paths` changes, after `ttl` s, or by LRU."""
        full = (namespace, workspace, key)
        if full in self._entries:
            self._drop(full)
        entry = _Entry(
            value,
            size if size is not None else approx_size(value),
            frozenset(paths),
            time.monotonic() + ttl if ttl is not None else None,
        )
        if entry.size > self.max_bytes:
            return
        self._entries[full] = entry
        self._bytes += entry.size
        stats = self._stats[namespace]
        stats.entries += 1
        stats.bytes += entry.size
        for path in entry.paths:
            self._by_path[(workspace, path)].add(full)
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            oldest = next(iter(self._entries))
            self._stats[oldest[0]].evictions += 1
            self._drop(oldest)

    def invalidate_paths(self, workspace: str, paths: Iterable[str]) -> int:
        """Drop the entries of `workspace` that depend on any of `paths` (or on ANY_PATH)."""
        doomed: set[Key] = set(self._by_path.get((workspace, ANY_PATH), ()))
        by_path = self._by_path
        if isinstance(paths, Collection) and len(paths) > len(by_path):
            # A batch of 50k paths against a few cached ones: look at the cached ones.
            wanted = paths if isinstance(paths, Set | Mapping) else set(paths)
            for (ws, path), keys in by_path.items():
                if ws == workspace and path in wanted:
                    doomed |= keys
        else:
            for path in paths:
                found = by_path.get((workspace, path))
                if found:
                    doomed |= found
        for full in doomed:
            self._stats[full[0]].invalidations += 1
            self._drop(full)
        return len(doomed)

    def invalidate_workspace(self, workspace: str, namespace: str | None = None) -> int:
        """Drop every entry of `workspace` (in one namespace, or all)."""
        doomed = [
            k
            for k in self._entries
            if k[1] == workspace and (namespace is None or k[0] == namespace)
        ]
        for full in doomed:
            self._stats[full[0]].invalidations += 1
            self._drop(full)
        return len(doomed)

    def _drop(self, full: Key) -> None:
        entry = self._entries.pop(full, None)
        if entry is None:
            return
        self._bytes -= entry.size
        stats = self._stats[full[0]]
        stats.entries -= 1
        stats.bytes -= entry.size
        for path in entry.paths:
            keys = self._by_path.get((full[1], path))
            if keys is not None:
                keys.discard(full)
                if not keys:
                    del self._by_path[(full[1], path)]

    def shrink(self, target_bytes: int) -> int:
        """Evict least recently used entries until at most `target_bytes` are held; return
        the bytes freed (the memory budget asks this under pressure)."""
        before = self._bytes
        while self._entries and self._bytes > target_bytes:
            oldest = next(iter(self._entries))
            self._stats[oldest[0]].evictions += 1
            self._drop(oldest)
        return before - self._bytes

    def stats(self) -> dict[str, dict[str, int]]:
        return {name: s.as_dict() for name, s in sorted(self._stats.items())}

    @property
    def total_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)


class ResultCacheShare:
    """The result cache as a participant of the memory budget (`aegisd.budget`)."""

    name = "core.results"
    owner = "core"

    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    @property
    def bytes(self) -> int:
        return self.cache.total_bytes

    def shrink(self, target_bytes: int) -> int:
        return self.cache.shrink(target_bytes)


__all__ = ["ANY_PATH", "Cache", "ResultCacheShare", "approx_size"]
