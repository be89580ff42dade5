"""The notifier's side of a live workspace: which notifications matter, re-arming, failures.

`WorkspaceWatch.run` keeps a notifier (`aegisd.notify`) on the workspace's root, hands the
paths worth settling to `LiveWorkspace.touch`, reconciles when events were lost or the notifier
is re-armed, and marks the workspace degraded while the notifier fails (reconciling every
`watcher.reconcile_interval_s` instead) or polls directories it has no inotify watch for.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
from typing import TYPE_CHECKING

from loguru import logger

from aegisd.ignore import GITIGNORE
from aegisd.notify import RESCAN, watch_changes
from aegisd.threads import note_interactive

if TYPE_CHECKING:
    from aegisd.watcher import LiveWorkspace

INOTIFY_HINT = (
    "raise the inotify limits, e.g. `sudo sysctl fs.inotify.max_user_watches=524288 "
    "fs.inotify.max_user_instances=1024` (persist in /etc/sysctl.d/)"
)
POLLING = "polling"  # the workspace's fault source while directories are polled


class WorkspaceWatch:
    """The notifier of one live workspace, restarted whenever `rearm` is called."""

    def __init__(self, live: LiveWorkspace) -> None:
        self.live = live
        self._rearm = asyncio.Event()
        #: set once the notifier watches (or gave up): the first reconciliation waits for it,
        #: so a change between the two is seen by one or the other
        self.armed = asyncio.Event()
        self._arms = 0
        self._rescan: asyncio.Task[None] | None = None
        self._events_lost = False
        self.restarts = 0  # the notifier failed and was started again

    def rearm(self) -> None:
        """Stop the notifier; `run` starts a new one (with the settings then) unless stopping."""
        self._rearm.set()

    def _relevant(self, path: str) -> str | None:
        """The root-relative path of a notified change worth settling, or None. Rules not
        read yet let a path through: settling decides with all of them."""
        rules = self.live.rules
        rel = rules.relative(path)
        if rel is None or rel == ".git/index.lock":
            return None
        parent, _, name = rel.rpartition("/")
        if name == GITIGNORE and not rules.is_own(rel):
            # git reads a .gitignore wherever its directory is not ignored
            ignored = bool(parent) and rules.is_ignored(parent, is_dir=True, load=False)
            return None if ignored else rel
        return None if rules.is_ignored(rel, is_dir=False, load=False) else rel

    def _prune(self, path: str) -> bool:
        """Directories never worth watching (called in the notifier's thread): excluded and
        the daemon's own. Gitignored ones are watched: a `.gitignore` edit may bring them in."""
        rules = self.live.rules
        rel = rules.relative(path)
        return rel is not None and rules.excluded_dir(rel)

    async def run(self) -> None:
        """Watch until the workspace stops: re-armed on request, degraded when it fails."""
        while not self.live.supervisor.stopping.is_set():
            self._rearm.clear()
            try:
                await self._watch()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.armed.set()  # not watching: the first reconciliation need not wait
                await self._degrade(exc)

    async def _rescan_loop(self) -> None:
        while self._events_lost:
            self._events_lost = False
            await self.live.reconcile_or_recover("events lost")

    def _on_armed(self) -> None:
        self._arms += 1
        self.armed.set()
        if self._arms > 1:
            # Re-armed (settings changed, or after a failure): what changed while no notifier
            # watched is found by looking.
            self.live.supervisor.spawn(
                "rearmed", lambda: self.live.reconcile_or_recover("watcher re-armed"), restart=False
            )

    async def _watch(self) -> None:
        settings = self.live.ws.settings.watcher
        first = True
        async for changes in watch_changes(
            self.live.ws.root,
            debounce_ms=settings.debounce_ms,
            step_ms=settings.step_ms,
            stop=self._rearm,
            prune=self._prune,
            budget=self.live.daemon.watches,
            poll_ms=int(settings.poll_interval_s * 1000),
            on_polled=self._polled,
        ):
            if first:
                first = False
                self._on_armed()
            if "watcher" in self.live.ws.faults:
                logger.info("workspace {} watcher recovered", self.live.ws.id)
                self.live.ws.fault("watcher", None)
            if RESCAN in changes:
                # Events were lost (the kernel's queue overflowed): look at the whole tree,
                # again after each look during which more were lost.
                changes.discard(RESCAN)
                self._events_lost = True
                if self._rescan is None or self._rescan.done():
                    self._rescan = self.live.supervisor.spawn(
                        "rescan", self._rescan_loop, restart=False
                    )
            rels = [rel for _, path in changes if (rel := self._relevant(path))]
            if rels:
                note_interactive()  # bulk work steps aside until this change is answered
                self.live.touch(rels)

    def _polled(self, count: int) -> None:
        """The notifier polls `count` directories for want of inotify watches: the workspace
        is degraded (never silently unwatched) while it does."""
        if not count:
            if POLLING in self.live.ws.faults:
                logger.info("workspace {}: every directory is watched again", self.live.ws.id)
            self.live.ws.fault(POLLING, None)
            return
        every = self.live.ws.settings.watcher.poll_interval_s
        watches = self.live.daemon.watches
        limit = watches.limit
        fix = "raise [watch] max_watches" if limit == watches.cap else INOTIFY_HINT
        reason = (
            f"{count} directories polled every {every:g} s, not watched: the inotify watches "
            f"this daemon allows itself ({limit}) are in use; {fix}"
        )
        if POLLING not in self.live.ws.faults:
            logger.warning("workspace {} degraded: {}", self.live.ws.id, reason)
        self.live.ws.fault(POLLING, reason)

    async def _degrade(self, exc: Exception) -> None:
        limit = isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EMFILE)
        hint = f"; {INOTIFY_HINT}" if limit or "inotify" in str(exc).lower() else ""
        self.live.ws.fault("watcher", f"watcher failed: {exc}")
        interval = self.live.ws.settings.watcher.reconcile_interval_s
        logger.warning(
            "workspace {} degraded: watcher failed ({}); reconciling every {} s instead{}",
            self.live.ws.id, exc, interval, hint,
        )  # fmt: skip
        self.restarts += 1
        await self.live.reconcile_or_recover("watcher failure")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.live.supervisor.stopping.wait(), timeout=interval)
