"""Workspace trust: whether the daemon may run tools that execute a workspace's own code.

Opening a directory never trusts it. A root is trusted by an explicit decision stored in the
database (`workspace.trust`, `aegisd trust DIR`, `aegisd serve --root DIR`) or by a pattern of
the daemon config's `[trust] roots`. A decision or pattern covers the directory it names and
everything under it; the nearest stored decision wins (so `aegisd trust --revoke` on one
project beats a trusted parent or a config pattern), then the patterns; else untrusted.

Patterns are absolute paths (`~` expanded) whose components may hold `*`, `?` and `[...]`
(within one component) and `**` (any number of components, none included): `~/src/**`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

_MAGIC = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class Trust:
    """A root's effective trust and what decided it: "store" (an explicit decision on `via`),
    "config" (the pattern `via`) or "default" (nothing: untrusted)."""

    trusted: bool
    source: str
    via: str | None = None


def ancestry(root: Path) -> list[str]:
    """`root` and every directory above it, nearest first (as stored: real paths)."""
    path = PurePosixPath(root)
    return [str(path), *(str(parent) for parent in path.parents)]


def decide(root: Path, stored: Mapping[str, bool], patterns: Iterable[str]) -> Trust:
    """The effective trust of `root` (a real absolute path), given the stored decisions on it
    and its ancestors and the config patterns."""
    for candidate in ancestry(root):
        if candidate in stored:
            return Trust(stored[candidate], "store", candidate)
    for pattern in patterns:
        if covers(pattern, root):
            return Trust(True, "config", pattern)
    return Trust(False, "default")


def covers(pattern: str, root: Path) -> bool:
    """Whether the config pattern names `root` or a directory above it."""
    regex = _compile(pattern)
    return regex is not None and any(regex.fullmatch(path) for path in ancestry(root))


def check_pattern(pattern: str) -> str:
    """`pattern` if usable, else ValueError saying why (for the config's validation)."""
    if not os.path.isabs(os.path.expanduser(pattern)):
        raise ValueError(f"trust pattern must be an absolute path (or start with ~): {pattern!r}")
    return pattern


def _compile(pattern: str) -> re.Pattern[str] | None:
    expanded = os.path.expanduser(pattern)
    if not os.path.isabs(expanded):
        return None
    parts = PurePosixPath(expanded).parts
    literal = 0
    while literal < len(parts) and not _MAGIC.search(parts[literal]):
        literal += 1
    # the literal head is resolved like workspace roots are (a symlinked ~/src still matches)
    base = os.path.realpath(os.path.join(*parts[:literal]))
    regex = re.escape(base.rstrip("/"))
    for part in parts[literal:]:
        regex += "(?:/[^/]+)*" if part == "**" else "/" + _component(part)
    return re.compile(regex or "/")


def _component(part: str) -> str:
    """One path component's glob as a regex that never crosses a "/"."""
    out, at = "", 0
    while at < len(part):
        char = part[at]
        if char == "*":
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif char == "[" and (end := part.find("]", at + 2)) != -1:
            inner = part[at + 1 : end]
            inner = "^" + inner[1:] if inner.startswith("!") else inner
            out += "[" + inner.replace("\\", "\\\\") + "]"
            at = end
        else:
            out += re.escape(char)
        at += 1
    return out


# -- the store's side (DB thread; peewee imported there: the config reads this module) ----------


def stored_decisions(roots: Iterable[str]) -> dict[str, bool]:
    """The stored decisions on any of `roots`."""
    from aegisd.store.core_models import TrustDecisionRow

    wanted = list(roots)
    rows = TrustDecisionRow.select().where(TrustDecisionRow.root.in_(wanted))
    return {row.root: bool(row.trusted) for row in rows}


def store_decision(root: str, trusted: bool) -> None:
    """Record the user's decision on `root` (replacing an earlier one)."""
    from aegisd.store.core_models import TrustDecisionRow, now_iso

    TrustDecisionRow.insert(
        root=root, trusted=trusted, decided_at=now_iso()
    ).on_conflict_replace().execute()
