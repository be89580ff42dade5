"""The background lane: what a workspace's linters owe beyond the edits, done in chunks.

An edit's files are linted at once, in a run of their own (`service`). Everything else a tool
still owes is its *backlog*, checked here: the first whole-workspace pass, the files a tool
left without a verdict (a batch timed out, ran out of memory), and the results a config change
or a batch of many files left stale. A backlog run takes at most `CHUNK_FILES` files per tool,
starts only while no edit is being linted, and does not hold the workspace's lock while its
tools run, so an edit's run never waits for it: a verdict it brings on a file an edit touched
meanwhile is dropped (`touched`), the edit's own run being newer. A tool whose backlog run
fails is retried after a delay that doubles with each failure (`BACKOFF_*`), never on every
edit; the other tools go on meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

#: files per tool in one backlog run: a failure or a timeout costs one chunk, and an edit
#: lands between chunks
CHUNK_FILES = 2000
#: an edit run takes up to this many files per tool, its changed ones first (a checkout,
#: dependents, a config change's scope: the rest is left to the backlog)
CHANGE_FILES = 64
BACKOFF_FIRST_S = 30.0
BACKOFF_MAX_S = 900.0
#: an edit may have fixed what made a tool's backlog fail (a syntax error that stopped mypy):
#: after an edit it is retried at once, unless it failed more than this many times in a row
EDIT_RETRIES = 2

Mode = Literal["full", "refresh"]


@dataclass
class Backlog:
    """One workspace's background lane.

    `mode`: "full" while the first whole-workspace pass is due (files that never had a
    result count), "refresh" when only stale and unchecked results do, None when idle.
    `due`: tools with work left. `owed`: files an edit run left over that may have no
    result yet (run even in "refresh" mode). `touched`: paths changed while a backlog run
    is in flight (None when none is). `chunks`: backlog runs started since it was idle."""

    mode: Mode | None = None
    due: set[str] = field(default_factory=set)
    owed: set[str] = field(default_factory=set)
    chunks: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    retry_at: dict[str, float] = field(default_factory=dict)
    left: dict[str, int] = field(default_factory=dict)
    touched: set[str] | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def arm(self, mode: Mode, tools: Iterable[str]) -> None:
        """Owe `tools` a pass of `mode` ("full" wins over "refresh")."""
        names = set(tools)
        if not names:
            return
        if self.mode is None:
            self.chunks = 0
        if self.mode != "full":
            self.mode = mode
        self.due |= names
        self.wake.set()

    def edited(self, tool: str, deferred: Iterable[str], unchecked: bool) -> None:
        """Another run (an edit's, `lint.run`) of `tool` left `deferred` files over, or files
        `unchecked` (its own or earlier ones): owe them, and retry a tool that did not keep
        failing at once."""
        if self.failures.get(tool, 0) <= EDIT_RETRIES and tool in self.retry_at:
            del self.retry_at[tool]
            self.wake.set()
        self.owed.update(deferred)
        if self.owed or unchecked:
            self.arm("refresh", [tool])

    @property
    def absorbs(self) -> bool:
        """A whole pass is due and has not started: it covers what a reconciliation found."""
        return self.mode == "full" and not self.chunks

    def note_touched(self, paths: Iterable[str]) -> None:
        if self.touched is not None:
            self.touched.update(paths)

    def ready(self, now: float | None = None) -> list[str]:
        """The due tools not waiting out a backoff, by name."""
        now = time.monotonic() if now is None else now
        return sorted(name for name in self.due if self.retry_at.get(name, 0.0) <= now)

    def next_retry_in(self) -> float | None:
        """Seconds until the first backed-off due tool may run again; None when none waits."""
        waits = [self.retry_at[name] for name in self.due if name in self.retry_at]
        return max(0.0, min(waits) - time.monotonic()) if waits else None

    def finished(self, tool: str, deferred: int, failed: bool, unchecked: bool = False) -> None:
        """After a backlog run of `tool`: it failed (back off), has `deferred` files left
        or files `unchecked` (not its failure: they changed meanwhile), or is done."""
        self.left[tool] = deferred
        if failed:
            count = self.failures.get(tool, 0) + 1
            self.failures[tool] = count
            delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (count - 1))
            self.retry_at[tool] = time.monotonic() + delay
            return
        self.failures.pop(tool, None)
        self.retry_at.pop(tool, None)
        if not deferred and not unchecked:
            self.due.discard(tool)
        if not self.due:
            self.idle()

    def idle(self) -> None:
        self.mode = None
        self.owed.clear()

    def drop(self, tool: str) -> None:
        """`tool` owes nothing (skipped, disabled)."""
        self.due.discard(tool)
        self.left.pop(tool, None)
        if not self.due:
            self.idle()

    @property
    def busy(self) -> bool:
        """A backlog run is going, or one may start now."""
        return self.touched is not None or bool(self.ready())

    @property
    def files(self) -> int:
        """Files the due tools were last known to owe beyond their current chunk."""
        return sum(self.left.get(name, 0) for name in self.due)
