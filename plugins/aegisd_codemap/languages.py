"""Language detection by file extension, binary sniffing and line counting."""

from __future__ import annotations

from itertools import accumulate

from aegisd.languages import EXTENSIONS

_BY_SUFFIX = EXTENSIONS

LANGUAGES = frozenset(_BY_SUFFIX.values())
SNIFF_BYTES = 8192
#: languages whose names are bound, so navigation answers in their files (`pybind`, `jsbind`,
#: `cbind`)
BOUND = ("python", "javascript", "typescript", "tsx", "c", "cpp")


def detect_language(path: str) -> str | None:
    """The language of ``path`` by its extension (case-insensitive), or None when unknown."""
    dot = path.rfind(".")
    if dot < 0 or "/" in path[dot:]:
        return None
    return _BY_SUFFIX.get(path[dot:].lower())


def is_binary(data: bytes) -> bool:
    """True when the first 8 KiB hold a NUL byte, the same test git and grep use."""
    return b"\0" in data[:SNIFF_BYTES]


def nonblank_prefix(data: bytes) -> list[int]:
    """``result[n]`` is the number of non-blank lines among the first ``n`` lines."""
    return list(accumulate((1 if line.strip() else 0 for line in data.splitlines()), initial=0))


def span_loc(nonblank: list[int], start: int, end: int) -> int:
    """Non-blank lines from line ``start`` to ``end`` (1-based, inclusive)."""
    last = len(nonblank) - 1
    return nonblank[min(end, last)] - nonblank[min(start - 1, last)]
