"""The hot sets a clone index keeps in memory: token arrays and source lines of recently used
files, keyed by file id (ids never come back, so an entry is never stale).

In the daemon they are the memory budget's caches (`similarity.tokens`, `similarity.lines`);
elsewhere (tests, benches, workers) a small LRU map of its own.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Protocol

from aegisd_similarity.tokens import FileTokens


class Cache(Protocol):
    def get(self, key: Any) -> Any | None: ...
    def put(self, key: Any, value: Any, size: int | None = None) -> None: ...


class LocalCache:
    """An LRU map of at most `size` entries."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()

    def get(self, key: Any) -> Any | None:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, key: Any, value: Any, size: int | None = None) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


def tokens_size(tokens: FileTokens) -> int:
    """About what one file's tokens hold, in bytes."""
    arrays = len(tokens.norm) * 2 + len(tokens.breaks) + len(tokens.layout)
    return 4 * arrays + len(tokens.packed_source) + 400


def lines_size(source: str, lines: list[str]) -> int:
    """About what the lines of `source` hold, in bytes (each line a str of 49 bytes and its
    characters, and 8 in the list): counted without walking the lines."""
    return len(source) + 65 * len(lines) + 56
