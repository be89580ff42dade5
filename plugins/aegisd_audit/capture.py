"""Automatic capture: what the files of a change batch became, diffed against what they were.

The content before a change comes from a `PreimageStore`: seeded when a capturing run starts
(`snapshot`, small text files up to a byte budget) and kept current by every captured batch
(`capture_batch` remembers each new content). Both read files and diff: call them in a thread.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from aegisd.filestate import SkippedChange
from aegisd.safeio import Skip, open_file, read_bytes
from aegisd.store.pathtext import display
from aegisd_audit.diffing import ChangeKind, FileChange, PreimageStore, diff_change, is_text

FILE_MAX_BYTES = 1024 * 1024  # larger files are noted without a diff
SNAPSHOT_FILE_MAX_BYTES = 256 * 1024
UNKNOWN_BEFORE = "content before the change unknown"
TOO_LARGE = f"over {FILE_MAX_BYTES} bytes: not diffed"
#: files the workspace skips (see `aegisd.filestate`) whose content a diff would not show
_NOT_TEXT = frozenset({"binary", "encoding"})


@dataclass(frozen=True)
class Captured:
    """One file's change, and why it has no diff when it is neither binary nor diffed."""

    change: FileChange
    note: str | None = None


def preimage_key(ws_id: str, path: str) -> str:
    return f"{ws_id}:{path}"


def snapshot(
    root: Path,
    ws_id: str,
    files: Iterable[tuple[str, int]],
    preimages: PreimageStore,
    budget_bytes: int,
) -> int:
    """Remember the small text files among `files` (path, size), in order, until `budget_bytes`
    are read; returns how many were remembered."""
    used = remembered = 0
    for path, size in files:
        if size > SNAPSHOT_FILE_MAX_BYTES or used + size > budget_bytes:
            continue
        data = _read(root, path, SNAPSHOT_FILE_MAX_BYTES)
        if data is None:
            continue
        used += len(data)
        if is_text(data) and preimages.remember(preimage_key(ws_id, path), data):
            remembered += 1
    return remembered


def capture_batch(
    root: Path,
    ws_id: str,
    changes: dict[str, str],
    preimages: PreimageStore,
    skipped: Mapping[str, SkippedChange] | None = None,
) -> list[Captured]:
    """The change of each path of a batch ("created", "modified", "deleted"), diffed against
    the remembered content, which is then replaced by the new one. Unchanged contents and files
    gone before they could be read (a later batch reports them) give nothing. What happened to
    `skipped` files is noted without reading them."""
    out: list[Captured] = []
    for path, note in (skipped or {}).items():
        preimages.forget(preimage_key(ws_id, path))
        size = None if note.change == "deleted" else note.size
        change = _plain(path, cast(ChangeKind, note.change), size, note.kind in _NOT_TEXT)
        out.append(Captured(change, f"skipped: {note.reason}"))
    for path, given in changes.items():
        if skipped and path in skipped:
            continue  # it became skipped: noted above
        kind = cast(ChangeKind, given)
        key = preimage_key(ws_id, path)
        old = None if kind == "created" else preimages.get(key)
        if kind == "deleted":
            preimages.forget(key)
            if old is None:
                out.append(Captured(_plain(path, "deleted", None), UNKNOWN_BEFORE))
            else:
                out.append(Captured(diff_change(path, old, None)))
            continue
        opened = _read_diffable(root, path)
        if opened is None:
            continue
        size, new = opened
        if new is None:
            preimages.forget(key)
            out.append(Captured(_plain(path, kind, size), TOO_LARGE))
            continue
        if new == old:
            continue
        if not is_text(new):
            preimages.forget(key)
            out.append(Captured(_plain(path, kind, len(new), binary=True)))
            continue
        preimages.remember(key, new)
        if old is None and kind == "modified":
            out.append(Captured(_plain(path, kind, len(new)), UNKNOWN_BEFORE))
        else:
            out.append(Captured(diff_change(path, old, new)))
    return out


def event_fields(captured: Captured) -> dict[str, Any]:
    """The fields of the `file_change` event of a capture; its detail is the diff."""
    c = captured.change
    stats = "binary" if c.binary else f"+{c.lines_added} -{c.lines_removed}"
    payload: dict[str, Any] = {
        "path": c.path,
        "change": c.change,
        "lines_added": c.lines_added,
        "lines_removed": c.lines_removed,
        "binary": c.binary,
        "old_size": c.old_size,
        "new_size": c.new_size,
    }
    if captured.note is not None:
        payload["note"] = captured.note
    return {
        "type": "file_change",
        "title": f"{c.change} {display(c.path)} ({stats})"[:200],
        "detail": c.diff,
        "payload": payload,  # the path itself, lossless: JSON escapes what is not UTF-8
        "actor": "system",
        "ref": display(c.path)[:200],
        "truncated": c.truncated,
    }


def _plain(path: str, kind: ChangeKind, size: int | None, binary: bool = False) -> FileChange:
    """A change without a diff nor line counts (`size`: the new size)."""
    return FileChange(path, kind, binary, 0, 0, None, False, None, size)


def _read(root: Path, path: str, limit: int) -> bytes | None:
    try:
        return read_bytes(root, path, limit)
    except OSError:
        return None


def _read_diffable(root: Path, path: str) -> tuple[int, bytes | None] | None:
    """The size and content of a file, the content None when it is over FILE_MAX_BYTES; None
    when it is gone or cannot be read."""
    try:
        with open_file(root, path, sys.maxsize) as fh:
            size = fh.stat.st_size
            if size > FILE_MAX_BYTES:
                return size, None
            fh.limit = FILE_MAX_BYTES
            try:
                return size, fh.read()
            except Skip:  # grew past the limit while read
                return size, None
    except OSError:
        return None
