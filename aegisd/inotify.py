"""Recursive inotify watching on Linux, through the C library (ctypes).

watchfiles' notifier fails for good on the first event about a name that is not valid UTF-8
("Unable to decode path") — reading such a file is enough — so a single odd file name ended
live updates for its workspace. Here names stay bytes until they are decoded the way `os`
decodes them (surrogateescape, lossless), and the caller chooses which directories to watch:
excluded and ignored ones (`node_modules`, the daemon's own state dir) cost no watches.
A kernel queue overflow is reported as `RESCAN` (the caller reconciles).

Watches are taken from a `WatchBudget`, shallowest directories first; a directory left without
one (the allowance used up, or the kernel's limit reached: ENOSPC) is polled with everything
under it (`aegisd.dirpoll`), every `poll_ms`, into the same batches.
"""

from __future__ import annotations

import ctypes
import errno
import os
import select
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator

from watchfiles import Change

from aegisd.dirpoll import DirPoller
from aegisd.watchbudget import WatchBudget

Changes = set[tuple[Change, str]]
#: in a batch: events were lost (the kernel queue overflowed); look at the whole tree
RESCAN: tuple[Change, str] = (Change.modified, "")

IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_DONT_FOLLOW = 0x02000000
IN_EXCL_UNLINK = 0x04000000
IN_ISDIR = 0x40000000
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC

WATCH_MASK = (
    IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
    | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK
)  # fmt: skip
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, name length
#: a directory that vanished, or is not ours to read, is simply not watched
_SKIPPED_ERRNOS = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EACCES, errno.ELOOP})

_libc: ctypes.CDLL | None = None


def _lib() -> ctypes.CDLL:
    global _libc
    if _libc is None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.inotify_init1.argtypes = [ctypes.c_int]
        libc.inotify_init1.restype = ctypes.c_int
        libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        libc.inotify_add_watch.restype = ctypes.c_int
        libc.inotify_rm_watch.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.inotify_rm_watch.restype = ctypes.c_int
        _libc = libc
    return _libc


def available() -> bool:
    """True on Linux with a C library that has inotify."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return hasattr(_lib(), "inotify_init1")
    except OSError:
        return False


class RecursiveWatch:
    """inotify watches on `root` and every directory under it that `prune` does not refuse,
    as many as `budget` allows (shallowest first); the rest are in `polled`."""

    def __init__(
        self, root: str, prune: Callable[[str], bool], budget: WatchBudget | None = None
    ) -> None:
        self.root = root
        self.prune = prune
        self.budget = budget if budget is not None else WatchBudget()
        #: directories without a watch, polled instead
        self.polled = DirPoller(prune)
        fd = _lib().inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"inotify_init1: {os.strerror(err)}")
        self.fd = fd
        self._paths: dict[int, str] = {}  # watch descriptor -> directory
        self._wds: dict[str, int] = {}
        try:
            if self._add(root):
                self.add_tree(root)
            elif not self.polled:
                raise OSError(errno.ENOENT, f"cannot watch {root}")
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
            self.budget.give(len(self._paths))
            self._paths.clear()
            self._wds.clear()

    def _add(self, path: str) -> bool:
        """Watch `path`; False when it is not watched (gone, or polled: no watch to spare)."""
        if not self.budget.take():
            self.polled.add(path)
            return False
        wd = _lib().inotify_add_watch(self.fd, os.fsencode(path), WATCH_MASK)
        if wd < 0:
            err = ctypes.get_errno()
            self.budget.give()
            if err in _SKIPPED_ERRNOS:
                return False
            if err == errno.ENOSPC:  # the user's limit is reached: as good as no allowance
                self.budget.refused()
                self.polled.add(path)
                return False
            raise OSError(err, f"cannot watch {path!r}: {os.strerror(err)}")
        old = self._paths.get(wd)
        if old is not None:
            self.budget.give()  # the same directory again: no new watch
            if old != path:
                self._wds.pop(old, None)  # the same directory, moved: known under its new name
        self._paths[wd] = path
        self._wds[path] = wd
        return True

    def add_tree(self, top: str) -> None:
        """Watch the directories under `top` (watched already), breadth first so that the
        shallowest get the watches there are; symlinks not followed."""
        queue = deque([top])
        while queue:
            directory = queue.popleft()
            try:
                with os.scandir(directory) as entries:
                    subdirs = [e.path for e in entries if _is_dir(e)]
            except OSError:
                continue  # gone meanwhile, or unreadable: not watched
            for sub in subdirs:
                if not self.prune(sub) and self._add(sub):
                    queue.append(sub)

    def _forget(self, top: str) -> None:
        """Stop watching (or polling) `top` and everything under it (moved away)."""
        inside = top + "/"
        for path in [p for p in self._wds if p == top or p.startswith(inside)]:
            wd = self._wds.pop(path)
            if self._paths.pop(wd, None) is not None:
                self.budget.give()
            _lib().inotify_rm_watch(self.fd, wd)
        self.polled.forget(top)

    def read(self) -> Changes:
        """The changes waiting in the queue (empty when none)."""
        data = bytearray()
        while True:
            try:
                chunk = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                break
            data += chunk
        changes: Changes = set()
        at = 0
        while at + _EVENT.size <= len(data):
            wd, mask, _, length = _EVENT.unpack_from(data, at)
            name = bytes(data[at + _EVENT.size : at + _EVENT.size + length]).rstrip(b"\0")
            at += _EVENT.size + length
            self._event(wd, mask, name, changes)
        return changes

    def _event(self, wd: int, mask: int, name: bytes, changes: Changes) -> None:
        if mask & IN_Q_OVERFLOW:
            changes.add(RESCAN)
            return
        directory = self._paths.get(wd)
        if mask & IN_IGNORED:
            if directory is not None and self._wds.get(directory) == wd:
                del self._wds[directory]
            if self._paths.pop(wd, None) is not None:
                self.budget.give()  # the kernel removed it (its directory is gone)
            return
        if directory is None:
            return  # a watch already forgotten
        if not name:
            if directory == self.root and mask & (IN_DELETE_SELF | IN_MOVE_SELF):
                raise OSError(errno.ENOENT, f"the watched root {self.root} was removed or moved")
            return  # a subdirectory's own events come to its parent too
        path = f"{directory}/{os.fsdecode(name)}"
        if mask & IN_ISDIR:
            if mask & IN_MOVED_FROM:
                self._forget(path)
            elif mask & (IN_CREATE | IN_MOVED_TO) and not self.prune(path) and self._add(path):
                self.add_tree(path)
        if mask & (IN_CREATE | IN_MOVED_TO):
            changes.add((Change.added, path))
        elif mask & (IN_DELETE | IN_MOVED_FROM):
            changes.add((Change.deleted, path))
        else:
            changes.add((Change.modified, path))


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def watch(
    root: str,
    *,
    prune: Callable[[str], bool],
    debounce_ms: int,
    step_ms: int,
    stop: threading.Event,
    quiet_ms: int,
    budget: WatchBudget | None = None,
    poll_ms: int = 2_000,
    on_polled: Callable[[int], None] | None = None,
) -> Iterator[Changes]:
    """Debounced batches like watchfiles' `watch`: after the first event, gather until a
    `step_ms` passes without one or `debounce_ms` passed; an empty set after `quiet_ms`
    without any, and one as soon as every watch is in place. Directories without a watch are
    polled every `poll_ms`; `on_polled(count)` hears how many there are whenever that changes
    (and once when armed). Ends when `stop` is set."""
    watcher = RecursiveWatch(root, prune, budget)
    reported = -1

    def report() -> None:
        nonlocal reported
        if on_polled is not None and len(watcher.polled) != reported:
            reported = len(watcher.polled)
            on_polled(reported)

    try:
        report()
        yield set()  # armed: every change from now on is seen
        poller = select.poll()
        poller.register(watcher.fd, select.POLLIN)
        batch: Changes = set()
        first = quiet_since = time.monotonic()
        next_poll = first + poll_ms / 1000
        while not stop.is_set():
            ready = poller.poll(step_ms)
            now = time.monotonic()
            changes = watcher.read() if ready else set()
            if watcher.polled.tops and now >= next_poll:
                changes |= watcher.polled.scan()
                next_poll = now + poll_ms / 1000
            report()
            if changes:
                if not batch:
                    first = now
                batch |= changes
                if ready and (now - first) * 1000 < debounce_ms:
                    continue
            if batch:
                yield batch
                batch = set()
                quiet_since = now
            elif (now - quiet_since) * 1000 >= quiet_ms:
                yield set()
                quiet_since = now
    finally:
        watcher.close()
