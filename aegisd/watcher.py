"""A live workspace: its watcher task, its batch processor, reconciliation and degraded mode.

Raw notifications only mark paths as *touched*; one processor task settles them against the
disk (see `filestate`), stores the new state and clock in one transaction, publishes
`files.changed`, then lets every plugin react before the workspace stops being `pending`.
While `.git/index.lock` exists the processor waits (bounded), so a branch switch is one batch.
A path that cannot be looked at is reported for that path (`path_errors`, the log) and the rest
of its batch goes on. If watching fails, a batch fails, or a task dies (it is restarted, see
`supervise`), the workspace is *degraded* until a reconciliation succeeds, and says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import threading
import time
from collections.abc import AsyncIterator, Collection, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from loguru import logger

from aegisd.catchup import CatchUp
from aegisd.changefeed import publish_files_changed
from aegisd.filestate import (
    FileStat,
    FileTable,
    Halted,
    Settled,
    SkipState,
    describe,
    reconcile,
    reconcile_into,
    settle,
)
from aegisd.filestore import load_file_state, store_file_state
from aegisd.ignore import IgnoreRules
from aegisd.redelivery import Redelivery
from aegisd.rpc.errors import RpcError
from aegisd.skipped import SkipSummary, summarize
from aegisd.supervise import Supervisor
from aegisd.threads import interactive
from aegisd.watching import WorkspaceWatch
from aegisd.workspace import ChangeBatch, Workspace

if TYPE_CHECKING:
    from aegisd.daemon import Daemon

GIT_LOCK_POLL_S = 0.02
#: inotify watches a new directory only once it has seen it appear, so a file written into it
#: in between raises no event; the directory is walked again this long after it settled
NEW_DIR_RECHECK_S = 0.5
QUICK_SETTLE_PATHS = 2  # a batch this small, of regular files up to QUICK_SETTLE_BYTES,
QUICK_SETTLE_BYTES = 256 * 1024  # is settled on the loop, not in a thread
#: how long the first reconciliation waits for the notifier to be in place
ARM_WAIT_S = 2.0
LOGGED_PATH_ERRORS = 20  # new path errors logged one by one per batch; the rest counted


class LiveWorkspace:
    """Keeps one workspace's known file state and clock in step with the disk."""

    def __init__(self, daemon: Daemon, ws: Workspace) -> None:
        self.daemon = daemon
        self.ws = ws
        # Until `load` reads git's rules (in a thread): the daemon's own paths and exclusions.
        self.rules = IgnoreRules(ws.root, ws.settings.exclude_dirs, False, own=ws.own)
        self.known: dict[str, FileStat] = {}
        #: files the plugins do not see, and why (see `filestate`)
        self.skipped: dict[str, SkipState] = {}
        self._skip_summary: tuple[int, SkipSummary] | None = None
        self.skipped_version = 0  # bumped whenever `skipped` changes
        #: paths that could not be looked at, and why (until one settles or a reconcile)
        self.path_errors: dict[str, str] = {}
        self._touched: set[str] = set()
        #: new directories queued for their second look (which must not queue a third)
        self._rechecks: set[str] = set()
        self._wakeup = asyncio.Event()
        self._lock = asyncio.Lock()
        self.supervisor = Supervisor(ws, self.reconcile, self._retry_interval)
        self._stop = self.supervisor.stopping
        #: set with `_stop`, for settling in a thread: it stops between two files (`Halted`)
        self._halt = threading.Event()
        self._processing = 0
        #: set once the first reconciliation is processed: `known` then mirrors the disk
        self.ready = asyncio.Event()
        self.batches = 0
        #: the notifier's side: what it reports, re-arming it, its failures and polling
        self.watching = WorkspaceWatch(self)
        #: plugins loaded after this workspace opened, until they have caught up with it
        self.catching_up = CatchUp(self)
        #: changes plugins failed to take in, handed to them again
        self.redelivery = Redelivery(ws, self._redeliver)
        #: nothing of this workspace was stored when it opened: the first reconciliation's
        #: "created" files are a tree seen for the first time, nobody's edits (set by `load`)
        self.first_seen = False

    # -- lifecycle ------------------------------------------------------------------------------

    def _make_rules(self) -> IgnoreRules:
        """The workspace's exclusion rules, git's read (blocking: run in a thread)."""
        settings = self.ws.settings
        rules = IgnoreRules(
            self.ws.root, settings.exclude_dirs, settings.respect_gitignore, own=self.ws.own
        )
        return rules.load()

    def _retry_interval(self) -> float:
        return self.ws.settings.watcher.reconcile_interval_s

    async def load(self) -> None:
        """Load the stored file state; the workspace is `pending` until `ready` is set."""
        self.rules = await interactive(self._make_rules)
        self.known, self.skipped = await self.daemon.store.run(load_file_state, self.ws.id)
        self.first_seen = not self.known and not self.skipped
        self._processing += 1  # released by the first reconciliation
        self._set_busy()

    def start(self) -> None:
        """Watch and reconcile in the background; `ready` is set after the first reconcile.
        The watcher and the processor are restarted should either die."""
        self.supervisor.spawn("watch", self.watching.run)
        self.supervisor.spawn("batches", self._process_loop)
        self.supervisor.spawn("reconcile", self._first_reconcile, restart=False)

    async def _first_reconcile(self) -> None:
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.watching.armed.wait(), ARM_WAIT_S)
            await self.reconcile_or_recover("open")
        finally:
            self._processing -= 1
            self._set_busy()
            self.ready.set()

    def exclusive(self) -> asyncio.Lock:
        """Held, no batch is processed or reconciled (`async with live.exclusive():`)."""
        return self._lock

    def stop(self) -> None:
        self.supervisor.stop()
        self._halt.set()
        self.watching.rearm()
        self._wakeup.set()

    async def settings_changed(self) -> None:
        """Settings changed: re-arm the watcher (debounce, step), rebuild the exclusion rules
        and reconcile so the model follows them."""
        self.watching.rearm()
        self.rules = await interactive(self._make_rules)
        await self.reconcile_or_recover("settings")

    async def reconcile_or_recover(self, reason: str) -> None:
        """`reconcile`, and on failure degraded until a reconciliation succeeds."""
        try:
            await self.reconcile(reason)
        except Halted:
            return  # the workspace is closing
        except Exception as exc:
            logger.opt(exception=exc).error("workspace {}: reconciliation failed", self.ws.id)
            self.supervisor.failed(f"reconciliation failed ({type(exc).__name__}: {exc})")

    def skip_summary(self) -> SkipSummary:
        """The skipped files' counts and first paths (recomputed only after they changed)."""
        cached = self._skip_summary
        if cached is None or cached[0] != self.skipped_version:
            cached = self._skip_summary = (self.skipped_version, summarize(self.skipped))
        return cached[1]

    def hold_back(self, plugins: Iterable[str]) -> None:
        """Plugins that just loaded: no batch reaches them before `catch_up`."""
        self.catching_up.hold_back(plugins)

    async def catch_up(self, plugins: Collection[str]) -> None:
        """Hand `plugins` (just opened for this workspace) one batch of everything that
        changed since it opened (`catchup.CatchUp.start`)."""
        await self.catching_up.start(plugins)

    @property
    def held_back(self) -> set[str]:
        return self.catching_up.held_back

    @contextlib.asynccontextmanager
    async def _batch(self) -> AsyncIterator[None]:
        """The batch lock, held for one batch; a catch-up batch that came due meanwhile is
        handed over at its end, before the lock is let go."""
        async with self._lock:
            yield
            await self.catching_up.hand_over_due()

    def begin_work(self) -> None:
        """A batch (or a hand-over) is being processed: the workspace is `pending`."""
        self._processing += 1
        self._set_busy()

    def end_work(self) -> None:
        self._processing -= 1
        self._set_busy()

    # -- intake ---------------------------------------------------------------------------------

    @property
    def queue_depth(self) -> int:
        return len(self._touched)

    def touch(self, paths: Iterable[str]) -> None:
        """Mark root-relative paths as possibly changed; the processor settles them."""
        self._touched.update(paths)
        self._set_busy()
        self._wakeup.set()

    def _recheck(self, dirs: list[str]) -> None:
        if self._stop.is_set():
            return
        self._rechecks.update(dirs)
        self.touch(dirs)

    async def flush(self) -> int:
        """Process everything touched now (no debounce); returns the clock after it. A failed
        batch is not raised (its paths' errors and the workspace's fault say so) unless it is
        one the client should see as such (the store unavailable)."""
        try:
            await self._process()
        except RpcError:
            raise
        except Exception:  # recorded by _batch_failed
            pass
        return self.ws.clock

    # -- processing -----------------------------------------------------------------------------

    async def _process_loop(self) -> None:
        while not self._stop.is_set():
            await self._wakeup.wait()
            self._wakeup.clear()
            if self._stop.is_set():
                return
            await self._wait_for_git()
            try:
                await self._process()
            except Exception:  # recorded by _batch_failed; the next batch goes on
                continue

    async def _wait_for_git(self) -> None:
        lock = str(self.ws.root / ".git" / "index.lock")
        limit = self.ws.settings.watcher.git_lock_wait_ms / 1000
        deadline = time.monotonic() + limit
        # Polling: the lock file lives in the excluded .git dir, so no event says it went away.
        # os.path.exists, not Path.exists: an unreadable .git must not end the processor.
        while os.path.exists(lock) and time.monotonic() < deadline:  # noqa: ASYNC110, ASYNC240
            await asyncio.sleep(GIT_LOCK_POLL_S)

    def _set_busy(self) -> None:
        self.ws.busy = self._processing + (1 if self._touched else 0)

    async def _process(self) -> None:
        async with self._batch():
            if not self._touched:
                return
            touched, self._touched = self._touched, set()
            rechecked = self._rechecks & touched
            self._rechecks -= rechecked
            self._processing += 1
            try:
                table = self._table()
                if _quick_to_settle(self.ws.root, touched, table):
                    settled = settle(self.ws.root, self.rules, table, touched)
                else:
                    settled = await interactive(settle, self.ws.root, self.rules, table, touched)
                if settled.gitignore_changed:
                    self.rules = await interactive(self._make_rules)
                    settled = await interactive(
                        reconcile_into, settled, self.ws.root, self.rules, self._table()
                    )
                new_dirs = [d for d in settled.walked_dirs if d not in rechecked]
                if new_dirs:
                    asyncio.get_running_loop().call_later(
                        NEW_DIR_RECHECK_S, self._recheck, new_dirs
                    )
                await self._commit(settled, "watcher")
                self._note_errors(settled.errors, touched)
            except Halted:
                raise  # the workspace is closing: not a failure
            except Exception as exc:
                self._batch_failed(exc, touched)
                raise
            finally:
                self._processing -= 1
                self._set_busy()

    def _batch_failed(self, exc: Exception, touched: set[str]) -> None:
        """A batch failed as a whole: its paths say so, and the workspace is degraded until a
        reconciliation (which finds whatever the batch would have) succeeds."""
        logger.opt(exception=exc).error(
            "workspace {}: a batch of {} paths failed", self.ws.id, len(touched)
        )
        reason = f"not processed: {type(exc).__name__}: {describe(exc)}"
        self.path_errors.update(dict.fromkeys(touched, reason))
        self.supervisor.failed(f"a batch failed ({type(exc).__name__}: {exc})")

    def _note_errors(self, errors: dict[str, str], touched: set[str]) -> None:
        """Paths of a batch: the ones that settled have no error now; new errors are logged."""
        for rel in touched:
            if rel not in errors:
                self.path_errors.pop(rel, None)
        self._log_new_errors(errors)
        self.path_errors.update(errors)

    def _log_new_errors(self, errors: dict[str, str]) -> None:
        new = [(rel, why) for rel, why in errors.items() if self.path_errors.get(rel) != why]
        for rel, why in new[:LOGGED_PATH_ERRORS]:
            logger.warning("workspace {}: cannot read {!r}: {}", self.ws.id, rel, why)
        if len(new) > LOGGED_PATH_ERRORS:
            logger.warning(
                "workspace {}: {} more paths cannot be read",
                self.ws.id,
                len(new) - LOGGED_PATH_ERRORS,
            )

    async def reconcile(self, reason: str) -> None:
        """Compare the whole tree with what is known and emit the differences as one batch."""
        async with self._batch():
            self._processing += 1
            self._set_busy()
            token = f"reconcile-{self.ws.id}-{self.batches}"
            self._progress(token, f"reconciling {self.ws.name} ({reason})", 0, None)
            try:
                settled = await interactive(reconcile, self.ws.root, self.rules, self._table())
                await self._commit(settled, "reconcile")
                self._log_new_errors(settled.errors)
                self.path_errors = dict(settled.errors)
            finally:
                self._processing -= 1
                self._set_busy()
            self._progress(token, f"reconciled {self.ws.name}", len(self.known), len(self.known))

    def _table(self) -> FileTable:
        """What settling compares the disk with. Not a copy, even for a thread: these dicts
        change only in `_commit`, under the lock the settling runs under (a copy per batch
        cost O(files) on the loop)."""
        return FileTable(self.known, self.skipped, self.ws.settings.max_file_bytes, self._halt)

    async def _commit(self, settled: Settled, source: str) -> None:
        if not settled:
            return
        # A stat refresh alone (a touch without an edit) does not advance the clock.
        advanced = bool(settled.changes or settled.skipped_changes)
        clock = self.ws.clock + 1 if advanced else self.ws.clock
        # Urgent: every plugin waits for this batch, and the clock is stored before it is told.
        await self.daemon.store.urgent(store_file_state, self.ws.id, clock, settled)
        for rel in settled.removed:
            self.known.pop(rel, None)
        self.known.update(settled.updates)
        if settled.skipped or settled.unskipped:
            for rel in settled.unskipped:
                self.skipped.pop(rel, None)
            self.skipped.update(settled.skipped)
            self.skipped_version += 1
        if not advanced:
            return
        self.ws.clock = clock
        self.batches += 1
        self.daemon.metrics.watcher_batches.labels(source).inc()
        # Sorted where it was settled; kept as it is by the change log (O(1) here).
        batch = ChangeBatch(clock, settled.changes, source, settled.skipped_changes)
        self.ws.record_changes(clock, batch.changes)
        self.daemon.cache.invalidate_paths(self.ws.id, batch.changes)
        await publish_files_changed(self.daemon.events, self.ws.id, batch)
        skip = set(self.held_back)
        failed: list[str] = []
        await self.daemon.host.call_each_async(
            "aegisd_files_changed",
            block_on_error=False,
            skip=skip,
            failed=failed,
            daemon=self.daemon,
            workspace=self.ws,
            batch=batch,
        )
        called = [p for p in self.daemon.host.implementers("aegisd_files_changed") if p not in skip]
        self.redelivery.settle(batch, called, failed)

    async def _redeliver(self, batch: ChangeBatch, plugins: Collection[str]) -> list[str]:
        """Hand `batch` to `plugins` alone, as any batch (under the batch lock, `pending`
        meanwhile); returns the ones that failed it again."""
        failed: list[str] = []
        async with self._batch():
            self._processing += 1
            self._set_busy()
            try:
                await self.daemon.host.call_each_async(
                    "aegisd_files_changed",
                    block_on_error=False,
                    only=set(plugins) - self.held_back,
                    failed=failed,
                    daemon=self.daemon,
                    workspace=self.ws,
                    batch=ChangeBatch(self.ws.clock, batch.changes, batch.source),
                )
            finally:
                self._processing -= 1
                self._set_busy()
        return failed

    def _progress(self, token: str, title: str, done: int, total: int | None) -> None:
        self.daemon.events.publish(
            "progress",
            {"token": token, "title": title, "done": done, "total": total},
            workspace=self.ws.id,
        )


def _quick_to_settle(root: Path, touched: set[str], table: FileTable) -> bool:
    """An editor's save: a file or two, small enough to hash on the loop in well under a
    millisecond (a thread hand-over costs more while plugins' threads hold the interpreter)."""
    if len(touched) > QUICK_SETTLE_PATHS:
        return False
    for rel in touched:
        try:
            st = os.lstat(root / rel)
        except (OSError, ValueError):
            if rel in table.known or rel in table.skipped:
                continue  # a deletion: settling compares it with what is known, no reading
            # An editor's temp file, or a directory: what it held is looked for among every
            # known path (50k of them in a monorepo): in a thread.
            return False
        if not stat.S_ISREG(st.st_mode) or st.st_size > QUICK_SETTLE_BYTES:
            return False  # a directory is walked, a large file hashed: in a thread
    return True


__all__ = ["LiveWorkspace"]
