"""Polling the directories the inotify notifier could not watch (its allowance used up).

Each polled directory tree is listed, and every entry's type, size, mtime and inode kept; a
later scan that finds an entry new, gone or different reports it as the notifier would
(`added`, `deleted`, `modified`), so the same intake settles it. A new directory is reported
once (settling walks it) and polled from then on. Blocking: runs in the notifier's thread.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable

from watchfiles import Change

Changes = set[tuple[Change, str]]
#: what a scan compares an entry by
Entry = tuple[bool, int, int, int]  # is a directory, size, mtime_ns, inode


class DirPoller:
    """The polled directories (absolute paths, each with what is under it that `prune` does not
    refuse) and what each held at the last scan."""

    def __init__(self, prune: Callable[[str], bool]) -> None:
        self.prune = prune
        self.tops: set[str] = set()
        self._seen: dict[str, dict[str, Entry]] = {}  # directory -> name -> entry

    def __len__(self) -> int:
        """How many directories are polled (the tops and every directory under them)."""
        return len(self._seen)

    def add(self, top: str) -> None:
        """Poll `top` and what is under it from now on (what is there now is no change)."""
        if top in self._seen:
            return
        self.tops.add(top)
        self._snapshot(top)

    def forget(self, top: str) -> None:
        """Stop polling `top` and everything under it (moved away)."""
        inside = top + "/"
        for directory in [d for d in self._seen if d == top or d.startswith(inside)]:
            del self._seen[directory]
        self.tops = {t for t in self.tops if t != top and not t.startswith(inside)}

    def scan(self) -> Changes:
        """What changed in the polled directories since the last scan."""
        changes: Changes = set()
        for top in list(self.tops):
            if not self._rescan(top, changes):
                self.tops.discard(top)  # gone: its parent's watch or poll reports it
        return changes

    def _rescan(self, top: str, changes: Changes) -> bool:
        stack = [top]
        while stack:
            directory = stack.pop()
            before = self._seen.get(directory)
            now = _list(directory)
            if now is None:
                self._drop(directory)
                if directory == top:
                    return False
                continue
            self._seen[directory] = now
            for name, entry in now.items():
                path = f"{directory}/{name}"
                old = before.get(name) if before is not None else None
                if entry[0]:
                    if self.prune(path):
                        continue
                    if old is None or not old[0]:
                        changes.add((Change.added, path))
                        self._snapshot(path)
                    else:
                        stack.append(path)
                    continue
                if old is None:
                    changes.add((Change.added, path))
                elif old != entry:
                    changes.add((Change.modified, path))
            for name, old in (before or {}).items():
                if name not in now:
                    path = f"{directory}/{name}"
                    changes.add((Change.deleted, path))
                    if old[0]:
                        self._drop(path)
        return True

    def _snapshot(self, top: str) -> None:
        stack = [top]
        while stack:
            directory = stack.pop()
            now = _list(directory)
            if now is None:
                continue
            self._seen[directory] = now
            for name, entry in now.items():
                path = f"{directory}/{name}"
                if entry[0] and not self.prune(path):
                    stack.append(path)

    def _drop(self, directory: str) -> None:
        inside = directory + "/"
        for known in [d for d in self._seen if d == directory or d.startswith(inside)]:
            del self._seen[known]


def _list(directory: str) -> dict[str, Entry] | None:
    """The directory's entries, symlinks not followed; None when it cannot be listed."""
    try:
        with os.scandir(directory) as entries:
            listed = {}
            for entry in entries:
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue  # gone meanwhile
                is_dir = stat.S_ISDIR(st.st_mode)
                listed[entry.name] = (
                    is_dir,
                    0 if is_dir else st.st_size,
                    st.st_mtime_ns,
                    st.st_ino,
                )
            return listed
    except OSError:
        return None
