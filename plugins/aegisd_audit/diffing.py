"""What changed in a file: `diff_change` turns the content before and after into a `FileChange`
(kind, line counts, a capped unified diff), and `PreimageStore` keeps the content before.
"""

import difflib
import hashlib
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from aegisd.store.pathtext import display

DIFF_MAX_BYTES = 64 * 1024
MEMORY_MAX_BYTES = 32 * 1024 * 1024
DISK_MAX_BYTES = 256 * 1024 * 1024

ChangeKind = Literal["created", "modified", "deleted"]
_BLOB_NAME = re.compile(r"\.?[0-9a-f]{64}(?:\.tmp)?")  # what PreimageStore writes


@dataclass(frozen=True)
class FileChange:
    """One file's change. `diff` is None for binary files; `lines_*` count the whole change even
    when the diff text was capped (`truncated`)."""

    path: str
    change: ChangeKind
    binary: bool
    lines_added: int
    lines_removed: int
    diff: str | None
    truncated: bool
    old_size: int | None
    new_size: int | None


def diff_change(
    path: str, old: bytes | None, new: bytes | None, max_bytes: int = DIFF_MAX_BYTES
) -> FileChange:
    """The change from `old` to `new` (None: the file did not / does not exist) at `path`.

    A side with a NUL byte or that is not UTF-8 makes the change binary: no diff, no line counts.
    Equal contents give a "modified" change with no lines and an empty diff, for the caller to skip.
    """
    if old is None and new is None:
        raise ValueError(f"{path}: no content before nor after")
    change: ChangeKind = "created" if old is None else "deleted" if new is None else "modified"
    old_text, new_text = _text(old), _text(new)
    old_size = None if old is None else len(old)
    new_size = None if new is None else len(new)
    if old_text is None or new_text is None:
        return FileChange(path, change, True, 0, 0, None, False, old_size, new_size)
    diff_lines = difflib.unified_diff(
        _lines(old_text),
        _lines(new_text),
        "/dev/null" if old is None else f"a/{display(path)}",
        "/dev/null" if new is None else f"b/{display(path)}",
    )
    parts: list[str] = []
    used, added, removed, truncated = 0, 0, 0, False
    for number, line in enumerate(diff_lines):
        if number >= 2:  # the first two lines are the ---/+++ header
            added += line.startswith("+")
            removed += line.startswith("-")
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        size = len(line.encode())
        if truncated or used + size > max_bytes:
            truncated = True
            continue
        parts.append(line)
        used += size
    diff = "".join(parts)
    return FileChange(path, change, False, added, removed, diff, truncated, old_size, new_size)


def is_text(data: bytes) -> bool:
    """Whether `data` is diffable text: UTF-8 without NUL bytes."""
    return _text(data) is not None


def _text(data: bytes | None) -> str | None:
    """`data` decoded, "" for a missing side, None when binary."""
    if data is None:
        return ""
    if b"\0" in data:
        return None
    try:
        return data.decode()
    except UnicodeDecodeError:
        return None


def _lines(text: str) -> list[str]:
    # Split on "\n" only, as diff and git do (str.splitlines also splits on \x0c, \u2028, ...).
    return re.findall(r"[^\n]*\n|[^\n]+$", text)


class PreimageStore:
    """The last known content of files, so that a change can be diffed against it.

    Contents live in memory (least recently used first out, up to `memory_max_bytes`) and spill
    to `directory` as content-addressed files named by their sha256 (up to `disk_max_bytes`,
    least recently used first out; identical contents share one file). A content larger than the
    disk bound is not kept: `get` answers None, as for a file never seen. The path → content map
    lives in memory only, so a new store starts empty and clears the blobs a previous one left.
    Thread-safe; disk I/O happens in the calling thread (call it off the event loop).
    """

    def __init__(
        self,
        directory: Path,
        memory_max_bytes: int = MEMORY_MAX_BYTES,
        disk_max_bytes: int = DISK_MAX_BYTES,
    ) -> None:
        self.directory = directory
        self.memory_max_bytes = memory_max_bytes
        self.disk_max_bytes = disk_max_bytes
        self._memory: OrderedDict[str, bytes] = OrderedDict()
        self._memory_bytes = 0
        self._disk: OrderedDict[str, str] = OrderedDict()  # path -> sha256
        self._blobs: dict[str, tuple[int, int]] = {}  # sha256 -> (size, number of paths)
        self._disk_bytes = 0
        self._lock = threading.Lock()
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        for entry in directory.iterdir():
            if _BLOB_NAME.fullmatch(entry.name):
                entry.unlink()

    @property
    def memory_bytes(self) -> int:
        """Bytes of content held in memory."""
        return self._memory_bytes

    @property
    def disk_bytes(self) -> int:
        """Bytes of content held on disk."""
        return self._disk_bytes

    def remember(self, path: str, data: bytes) -> bool:
        """Keep `data` as the content of `path`; False when it is too large to keep at all."""
        with self._lock:
            self._forget(path)
            if len(data) > self.disk_max_bytes:
                return False
            if len(data) > self.memory_max_bytes:
                self._to_disk(path, data)
                return True
            self._memory[path] = data
            self._memory_bytes += len(data)
            while self._memory_bytes > self.memory_max_bytes:
                old_path, old_data = self._memory.popitem(last=False)
                self._memory_bytes -= len(old_data)
                self._to_disk(old_path, old_data)
            return True

    def get(self, path: str) -> bytes | None:
        """The content remembered for `path`, or None."""
        with self._lock:
            if path in self._memory:
                self._memory.move_to_end(path)
                return self._memory[path]
            digest = self._disk.get(path)
            if digest is None:
                return None
            self._disk.move_to_end(path)
            return (self.directory / digest).read_bytes()

    def forget(self, path: str) -> None:
        """Drop what is remembered for `path` (nothing happens when there is none)."""
        with self._lock:
            self._forget(path)

    def forget_prefix(self, prefix: str) -> None:
        """Drop what is remembered for every path starting with `prefix`."""
        with self._lock:
            for path in [p for p in (*self._memory, *self._disk) if p.startswith(prefix)]:
                self._forget(path)

    def _forget(self, path: str) -> None:
        data = self._memory.pop(path, None)
        if data is not None:
            self._memory_bytes -= len(data)
        digest = self._disk.pop(path, None)
        if digest is not None:
            self._release(digest)

    def _to_disk(self, path: str, data: bytes) -> None:
        digest = hashlib.sha256(data).hexdigest()
        size, users = self._blobs.get(digest, (len(data), 0))
        if users == 0:
            tmp = self.directory / f".{digest}.tmp"
            tmp.write_bytes(data)
            os.replace(tmp, self.directory / digest)
            self._disk_bytes += size
        self._blobs[digest] = (size, users + 1)
        self._disk[path] = digest
        while self._disk_bytes > self.disk_max_bytes:
            _, old_digest = self._disk.popitem(last=False)
            self._release(old_digest)

    def _release(self, digest: str) -> None:
        size, users = self._blobs[digest]
        if users > 1:
            self._blobs[digest] = (size, users - 1)
            return
        del self._blobs[digest]
        self._disk_bytes -= size
        (self.directory / digest).unlink(missing_ok=True)
