"""Reporting skipped workspace files: the error a request naming one gets, and the bounded
summary `index.status` shows (see `filestate` for what is skipped and why)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from heapq import nsmallest
from typing import TYPE_CHECKING

from aegisd.rpc.errors import InvalidPath, RpcError, TooLarge, Unsupported

if TYPE_CHECKING:
    from aegisd.filestate import SkipState
    from aegisd.workspace import Workspace

#: how many skipped files a summary names (the counts cover them all)
LISTED = 100


def error_for(path: str, kind: str, reason: str, skipped: bool = True) -> RpcError:
    """The error of a request about a file skipped for `reason` (of `kind`, see `safeio.Skip`):
    by the workspace, or (`skipped` false) by the request itself when it opened the file."""
    message = f"{path}: skipped, {reason}" if skipped else f"{path}: {reason}"
    if kind == "too_large":
        return TooLarge(message, path=path, reason=reason)
    if kind in ("binary", "encoding"):
        return Unsupported(message, path=path, reason=reason)
    return InvalidPath(message, path=path, reason=reason)


def refuse_skipped(ws: Workspace, rel: str) -> None:
    """Raise `error_for` when `rel` is a file the workspace skips."""
    state = ws.live.skipped.get(rel) if ws.live is not None else None
    if state is not None:
        raise error_for(rel, state.kind, state.reason)


@dataclass(frozen=True)
class SkipSummary:
    """How many files are skipped, by kind, and the first `LISTED` of them by path."""

    total: int
    by_kind: dict[str, int]
    files: list[tuple[str, str]]  # (path, reason)


def summarize(skipped: Mapping[str, SkipState], listed: int = LISTED) -> SkipSummary:
    kinds = Counter(state.kind for state in skipped.values())
    first = nsmallest(listed, skipped)
    return SkipSummary(
        len(skipped), dict(sorted(kinds.items())), [(p, skipped[p].reason) for p in first]
    )
