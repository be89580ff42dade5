"""How many inotify watches this daemon allows itself, shared by its workspaces' notifiers.

The kernel's limit (`fs.inotify.max_user_watches`) is per user: every editor, IDE and file
sync of the user draws on it too, and one that finds it used up fails in ways nobody connects
with us. So the daemon takes at most `FREE_SHARE` of what is free when it first needs a watch
(less when `[watch] max_watches` says so), and once a kernel refusal (ENOSPC) says the
user's limit is reached, no more than it holds then. A directory left without a watch is
polled instead (`aegisd.dirpoll`), and its workspace says so.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

#: the share of the user's free watches the daemon takes for itself
FREE_SHARE = 0.5
MAX_USER_WATCHES = Path("/proc/sys/fs/inotify/max_user_watches")
_INOTIFY_FD = "anon_inode:inotify"


class WatchBudget:
    """A thread-safe count of watches held against an allowance fixed at the first `take`."""

    def __init__(self, cap: int | None = None) -> None:
        self.cap = cap
        self._lock = threading.Lock()
        self._limit: int | None = None
        self.held = 0

    @property
    def limit(self) -> int:
        """The allowance (worked out now if no watch was taken yet)."""
        with self._lock:
            return self._allowance()

    def _allowance(self) -> int:
        if self._limit is None:
            free = user_watches_free()
            limit = self.held + int(free * FREE_SHARE) if free is not None else None
            if self.cap is not None:
                limit = self.cap if limit is None else min(limit, self.cap)
            self._limit = limit if limit is not None else 1 << 62
        return self._limit

    def take(self) -> bool:
        """One watch more, if the allowance has room for it."""
        with self._lock:
            if self.held >= self._allowance():
                return False
            self.held += 1
            return True

    def give(self, count: int = 1) -> None:
        """Watches removed (their directories gone, or a notifier closed)."""
        with self._lock:
            self.held = max(0, self.held - count)

    def refused(self) -> None:
        """The kernel refused a watch (ENOSPC, the one just taken given back): the user's
        limit is reached, so the allowance is what is held now."""
        with self._lock:
            self._limit = min(self._allowance(), self.held)


def user_watches_free() -> int | None:
    """The user's inotify watches not in use (None when the limit cannot be read). Only the
    user's own processes count against its limit, and only theirs can be looked at."""
    try:
        limit = int(MAX_USER_WATCHES.read_text())
    except (OSError, ValueError):
        return None
    return max(0, limit - _user_watches_used())


def _user_watches_used() -> int:
    used = 0
    uid = os.getuid()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.stat(f"/proc/{pid}").st_uid != uid:
                continue
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue  # gone meanwhile, or not ours to look at
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") != _INOTIFY_FD:
                    continue
                with open(f"/proc/{pid}/fdinfo/{fd}") as info:
                    used += sum(1 for line in info if line.startswith("inotify wd:"))
            except OSError:
                continue
    return used
