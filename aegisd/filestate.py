"""What the daemon knows of each workspace file, and how a set of touched paths settles.

Settling turns raw notifications into facts by looking at the disk: a path that exists now and
was known is *modified* (so an atomic save — write a temp file, rename it over — is a
modification, not a delete), one that exists and was not known is *created*, one that is gone
and was known is *deleted*, and a temp file that came and went is nothing. Size and mtime are
compared first; the content hash only when they differ, so a touch without an edit is no change.
These functions do blocking I/O: callers run them in a thread.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aegisd.ignore import IgnoreRules

#: size, mtime_ns, content hash
FileStat = tuple[int, int, str]


def content_hash(path: Path | str) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Settled:
    """The outcome of settling: changes to report and the new known state to store."""

    changes: dict[str, str] = field(default_factory=dict)
    updates: dict[str, FileStat] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    gitignore_changed: bool = False
    #: touched paths that were directories (walked whole): the watcher looks at them again
    walked_dirs: list[str] = field(default_factory=list)


def _regular_stat(path: Path) -> os.stat_result | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st if stat.S_ISREG(st.st_mode) else None


def _judge(
    rel: str, st: os.stat_result | None, prev: FileStat | None, root: Path, out: Settled
) -> None:
    if st is None:
        if prev is not None:
            out.changes[rel] = "deleted"
            out.removed.append(rel)
        return
    if prev is not None and (st.st_size, st.st_mtime_ns) == prev[:2]:
        return
    try:
        digest = content_hash(root / rel)
    except OSError:
        return  # vanished or unreadable between stat and read: the next batch will tell
    out.updates[rel] = (st.st_size, st.st_mtime_ns, digest)
    if prev is None:
        out.changes[rel] = "created"
    elif digest != prev[2]:
        out.changes[rel] = "modified"


def settle(
    root: Path, rules: IgnoreRules, known: Mapping[str, FileStat], touched: Iterable[str]
) -> Settled:
    """Decide what happened to each touched path (and, for directories, to what they hold)."""
    out = Settled()
    seen: set[str] = set()
    for rel in touched:
        if rel in seen:
            continue
        seen.add(rel)
        if rel.endswith(".gitignore"):
            out.gitignore_changed = True
        path = root / rel
        if path.is_dir() and not path.is_symlink():
            # A directory moved in: everything under it is new to us.
            if not rules.is_ignored(rel, is_dir=True):
                out.walked_dirs.append(rel)
                sub = IgnoreRules(root / rel, rules.exclude_dirs, rules.use_gitignore)
                for inner, st in sub.walk():
                    full = f"{rel}/{inner}"
                    if full not in seen and not rules.is_ignored(full):
                        seen.add(full)
                        _judge(full, st, known.get(full), root, out)
            continue
        prefix = rel + "/"
        if rel not in known and not path.exists():
            # A directory moved out or deleted: its known files are gone.
            for other in [k for k in known if k.startswith(prefix)]:
                if other not in seen:
                    seen.add(other)
                    _judge(other, _regular_stat(root / other), known[other], root, out)
            continue
        if rules.is_ignored(rel):
            continue
        if path.is_symlink() and not rules.inside_root(str(path)):
            _judge(rel, None, known.get(rel), root, out)
            continue
        _judge(rel, _regular_stat(path), known.get(rel), root, out)
    return out


def reconcile(root: Path, rules: IgnoreRules, known: Mapping[str, FileStat]) -> Settled:
    """Compare the whole tree with `known`: what changed while nobody was watching."""
    out = Settled()
    present: set[str] = set()
    for rel, st in rules.walk():
        present.add(rel)
        _judge(rel, st, known.get(rel), root, out)
    for rel, prev in known.items():
        if rel not in present:
            _judge(rel, None, prev, root, out)
    return out
