"""What the daemon knows of each workspace file, and how a set of touched paths settles.

Settling turns raw notifications into facts by looking at the disk: a path that exists now and
was known is *modified* (so an atomic save — write a temp file, rename it over — is a
modification, not a delete), one that exists and was not known is *created*, one that is gone
and was known is *deleted*, and a temp file that came and went is nothing. Size and mtime are
compared first; the content hash only when they differ, so a touch without an edit is no change.

Files the daemon does not read are *skipped*, each with a reason (`safeio.Skip`): FIFOs,
sockets, devices, files over the workspace's `max_file_bytes`, unreadable ones, binary ones
(NUL bytes), UTF-16/32 text and source files that do not decode. They are kept apart from the
known files, so every plugin sees only eligible ones: a file that becomes skipped is *deleted*
for them, one that stops being skipped is *created*. What happened on disk to skipped files is
reported beside the changes (`Settled.skipped_changes`).

A path that cannot even be looked at (a name too long, a symlink loop, a directory without
permission, an I/O error) is that path's problem only: it is reported in `Settled.errors` and
the rest settles. A path hidden by its error counts as not present; a passing fault (out of
descriptors) leaves what is known of it unchanged. These functions do blocking I/O: callers run
them in a thread (or on the loop for an edit's small files: nothing here blocks on a special
file, see `safeio`).
"""

from __future__ import annotations

import errno
import os
import stat
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from aegisd.ignore import GITIGNORE, IgnoreRules
from aegisd.safeio import Skip, hash_text_file, skip_for_mode, too_large

#: size, mtime_ns, content hash ("" when not hashed yet: read again without reporting a change)
FileStat = tuple[int, int, str]

#: skips whose verdict may change without the file's size or mtime changing: judged again
#: whenever the file is looked at (a chmod touches only its ctime; the limit may change)
REJUDGED_KINDS = frozenset({"unreadable", "too_large"})
#: errors that say the path itself cannot be seen: it counts as not present
HIDING_ERRNOS = frozenset(
    {errno.EACCES, errno.EPERM, errno.ENAMETOOLONG, errno.ELOOP, errno.EINVAL}
)
GONE_ERRNOS = frozenset({errno.ENOENT, errno.ENOTDIR})


class SkipState(NamedTuple):
    """A skipped file as last seen, and why it is skipped."""

    size: int
    mtime_ns: int
    kind: str
    reason: str


class SkippedChange(NamedTuple):
    """What happened on disk to a file that is skipped (now, or until it was deleted)."""

    change: str  # "created", "modified" or "deleted"
    kind: str  # of skip, as `SkipState.kind`
    reason: str
    size: int


@dataclass
class Settled:
    """The outcome of settling: changes to report and the new known state to store."""

    changes: dict[str, str] = field(default_factory=dict)
    updates: dict[str, FileStat] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    #: skipped files to store (new, or with a new stat or reason), and those no longer skipped
    skipped: dict[str, SkipState] = field(default_factory=dict)
    unskipped: list[str] = field(default_factory=list)
    skipped_changes: dict[str, SkippedChange] = field(default_factory=dict)
    gitignore_changed: bool = False
    #: touched paths that were directories (walked whole): the watcher looks at them again
    walked_dirs: list[str] = field(default_factory=list)
    #: paths that could not be looked at, and why
    errors: dict[str, str] = field(default_factory=dict)

    def walk_error(self, rel: str, exc: OSError) -> None:
        self.errors[rel] = describe(exc)

    def __bool__(self) -> bool:
        return bool(self.changes or self.updates or self.skipped or self.unskipped)

    def merge(self, extra: Settled) -> None:
        """Add what `extra` (settled after this, over other paths) found."""
        for rel, kind in extra.changes.items():
            self.changes.setdefault(rel, kind)
        self.updates.update(extra.updates)
        removed, unskipped = set(self.removed), set(self.unskipped)
        self.removed.extend(r for r in extra.removed if r not in removed)
        self.skipped.update(extra.skipped)
        self.unskipped.extend(r for r in extra.unskipped if r not in unskipped)
        for rel, change in extra.skipped_changes.items():
            self.skipped_changes.setdefault(rel, change)
        for rel, why in extra.errors.items():
            self.errors.setdefault(rel, why)
        self.sort()

    def sort(self) -> None:
        """Changes in path order, as batches carry them (done where settling ran: sorting a
        first index's 50k paths took 70 ms, too long for the event loop)."""
        self.changes = dict(sorted(self.changes.items()))
        self.skipped_changes = dict(sorted(self.skipped_changes.items()))


@dataclass(frozen=True)
class FileTable:
    """The known and the skipped files of a workspace, and its size limit, as settling reads
    them (the caller's dicts, which must not change meanwhile). Once `halt` is set (the
    workspace closes), settling stops between two files by raising `Halted`: a first
    reconciliation hashes every file of the tree, and the process could not exit before it
    finished."""

    known: Mapping[str, FileStat]
    skipped: Mapping[str, SkipState]
    max_file_bytes: int
    halt: threading.Event = field(default_factory=threading.Event)

    def check(self) -> None:
        """Raise `Halted` once the workspace is closing."""
        if self.halt.is_set():
            raise Halted("the workspace is closing")


class Halted(Exception):
    """Settling stopped part way: its workspace is closing (nothing of it is stored)."""


def describe(exc: BaseException) -> str:
    """A short reason for a path's error ("Permission denied", "File name too long")."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, ValueError) and "null" in str(exc):
        # The wording changes between Python versions ("embedded null byte", "stat: embedded
        # null character in path"): say it once, the way path params are refused.
        return "path contains a NUL character"
    return str(exc) or type(exc).__name__


def _stat(path: Path, *, follow: bool) -> os.stat_result | None:
    """The path's stat, None when it is gone; other errors are raised."""
    try:
        return os.stat(path, follow_symlinks=follow)
    except OSError as exc:
        if exc.errno in GONE_ERRNOS:
            return None
        raise


def _file_stat(path: Path) -> os.stat_result | None:
    """The stat of what `path` leads to, unless it is missing or a directory (other errors
    are raised: they are the path's to report)."""
    st = _stat(path, follow=True)
    return None if st is None or stat.S_ISDIR(st.st_mode) else st


def _guarded(
    rel: str, st: os.stat_result | Path | None, root: Path, table: FileTable, out: Settled
) -> None:
    """`_judge` with the path's own errors reported (a Path `st`: stat it first)."""
    try:
        _judge(rel, _file_stat(st) if isinstance(st, Path) else st, root, table, out)
    except (OSError, ValueError) as exc:
        _failed(rel, exc, root, table, out)


def _failed(rel: str, exc: Exception, root: Path, table: FileTable, out: Settled) -> None:
    out.errors[rel] = describe(exc)
    if not isinstance(exc, OSError) or exc.errno in HIDING_ERRNOS:
        _judge(rel, None, root, table, out)  # known before, unseen now: gone from the model


def _judge(rel: str, st: os.stat_result | None, root: Path, table: FileTable, out: Settled) -> None:
    prev = table.known.get(rel)
    prev_skip = table.skipped.get(rel)
    if st is None:
        if prev is not None:
            out.changes[rel] = "deleted"
            out.removed.append(rel)
        if prev_skip is not None:
            out.unskipped.append(rel)
            out.skipped_changes[rel] = SkippedChange(
                "deleted", prev_skip.kind, prev_skip.reason, prev_skip.size
            )
        return
    same_stat = (st.st_size, st.st_mtime_ns)
    limit = table.max_file_bytes
    skip = skip_for_mode(st.st_mode)
    if skip is None and st.st_size > limit:
        skip = too_large(st.st_size, limit)
    if skip is None:
        if prev is not None and prev[2] and same_stat == prev[:2]:
            return
        if (
            prev_skip is not None
            and same_stat == prev_skip[:2]
            and prev_skip.kind not in REJUDGED_KINDS
        ):
            return  # the same content gets the same verdict
        try:
            hashed = hash_text_file(root, rel, limit)
        except Skip as exc:
            skip = exc
        except OSError as exc:
            if exc.errno in GONE_ERRNOS:
                return  # vanished between stat and read: the next batch will tell
            raise  # the path's error (a passing fault keeps what is known)
        else:
            _eligible(rel, (hashed.size, hashed.mtime_ns, hashed.digest), prev, prev_skip, out)
            return
    _skipped(rel, SkipState(*same_stat, skip.kind, skip.reason), prev, prev_skip, out)


def _eligible(
    rel: str, new: FileStat, prev: FileStat | None, prev_skip: SkipState | None, out: Settled
) -> None:
    out.updates[rel] = new
    if prev_skip is not None:
        out.unskipped.append(rel)
    if prev is None:
        out.changes[rel] = "created"
    elif new[2] != prev[2] if prev[2] else new[:2] != prev[:2]:
        out.changes[rel] = "modified"  # without a hash to compare, a new stat tells


def _skipped(
    rel: str, state: SkipState, prev: FileStat | None, prev_skip: SkipState | None, out: Settled
) -> None:
    if state == prev_skip:
        return
    out.skipped[rel] = state
    if prev is not None:
        out.changes[rel] = "deleted"  # for the plugins: they see eligible files only
        out.removed.append(rel)
    if prev_skip is None or prev_skip[:2] != state[:2]:
        change = "created" if prev is None and prev_skip is None else "modified"
        out.skipped_changes[rel] = SkippedChange(change, state.kind, state.reason, state.size)


def settle(root: Path, rules: IgnoreRules, table: FileTable, touched: Iterable[str]) -> Settled:
    """Decide what happened to each touched path (and, for directories, to what they hold)."""
    out = Settled()
    seen: set[str] = set()
    for rel in touched:
        if rel in seen:
            continue
        seen.add(rel)
        table.check()
        try:
            _settle_one(root, rules, table, rel, seen, out)
        except (OSError, ValueError) as exc:  # too long, unreadable, a NUL in the name, ...
            _failed(rel, exc, root, table, out)
    out.sort()
    return out


def _settle_one(
    root: Path, rules: IgnoreRules, table: FileTable, rel: str, seen: set[str], out: Settled
) -> None:
    if rel == GITIGNORE or rel.endswith("/" + GITIGNORE):
        out.gitignore_changed = True
    path = root / rel
    st = _stat(path, follow=False)
    if st is not None and stat.S_ISDIR(st.st_mode):
        # A directory moved in: everything under it is new to us.
        if not rules.is_ignored(rel, is_dir=True):
            out.walked_dirs.append(rel)
            for inner, inner_st in rules.walk(rel, on_error=out.walk_error):
                table.check()
                if inner not in seen:
                    seen.add(inner)
                    _guarded(inner, inner_st, root, table, out)
        return
    if st is None and rel not in table.known and rel not in table.skipped:
        # A directory moved out or deleted: its files are gone.
        prefix = rel + "/"
        inside = [k for k in (*table.known, *table.skipped) if k.startswith(prefix)]
        for other in inside:
            if other not in seen:
                seen.add(other)
                _guarded(other, root / other, root, table, out)
        return
    if rules.is_ignored(rel):
        return
    _judge(rel, _file_stat(path), root, table, out)


def reconcile(root: Path, rules: IgnoreRules, table: FileTable) -> Settled:
    """Compare the whole tree with `table`: what changed while nobody was watching."""
    out = Settled()
    present: set[str] = set()
    for rel, st in rules.walk(on_error=out.walk_error):
        table.check()
        present.add(rel)
        _guarded(rel, st, root, table, out)
    for rel in (*table.known, *table.skipped):
        if rel not in present:
            _judge(rel, None, root, table, out)
    out.sort()
    return out


def reconcile_into(settled: Settled, root: Path, rules: IgnoreRules, table: FileTable) -> Settled:
    """`settled` with what a reconciliation of the whole tree adds (`.gitignore` changed)."""
    settled.merge(reconcile(root, rules, table))
    return settled
