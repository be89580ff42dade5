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
import inspect
import os
import stat
import threading
import time
from collections.abc import AsyncIterator, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger

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
from aegisd.workspace import ChangeBatch, Workspace, coalesce_batches

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
#: a catch-up batch of more changes than this is coalesced in a thread
LARGE_BATCH = 1_000
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
        #: plugins loaded after this workspace opened that have not caught up with it yet:
        #: batches pass them by until their catch-up batch (`catch_up`) is delivered
        self.held_back: set[str] = set()
        self._catching_up: set[str] = set()  # of those, the ones opened: their batch is due
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
        self.held_back.update(plugins)

    async def catch_up(self, plugins: Collection[str]) -> None:
        """Hand `plugins` (just opened for this workspace) one batch of everything that changed
        since it opened, in line with the other batches, without waiting for any batch: at the
        end of the one in progress (it may be a whole first index) before it lets go of the
        batch lock, and before `ready` for the first reconciliation; else now.

        The hooks' synchronous parts run before anything else can (their awaitables are
        awaited in a task holding the lock): the plugins' own tasks, which wait for `ready`,
        find the batch taken in, and a pass on open covers it instead of running again over
        every file for it."""
        self._catching_up.update(plugins)
        if self._lock.locked():
            return  # the batch in progress hands it over at its end
        since, early = await self._caught_up_early()
        if self._lock.locked() or not self._catching_up:
            return  # a batch started meanwhile: it hands it over
        await self._lock.acquire()  # free: taken at once, nothing runs in between
        self._processing += 1
        self._set_busy()
        try:
            hand_over = self._start_hand_over(since, early)
        except BaseException:
            self._handed_over([])
            raise
        returned = hand_over.returned

        async def finish() -> None:
            await self._finish_hand_over(hand_over)

        task = self.supervisor.spawn("catch-up", finish, restart=False)
        task.add_done_callback(lambda _: self._handed_over(returned))

    @contextlib.asynccontextmanager
    async def _batch(self) -> AsyncIterator[None]:
        """The batch lock, held for one batch; a catch-up batch that came due meanwhile is
        handed over at its end, before the lock is let go."""
        async with self._lock:
            yield
            await self._hand_over_catch_up()

    async def _hand_over_catch_up(self) -> None:
        """The catch-up batch to the plugins it is due to (the batch lock held)."""
        if not self._catching_up:
            return
        since, early = await self._caught_up_early()
        self._processing += 1
        self._set_busy()
        hand_over = self._start_hand_over(since, early)
        try:
            await self._finish_hand_over(hand_over)
        finally:
            self._processing -= 1
            self._set_busy()

    async def _caught_up_early(self) -> tuple[int, dict[str, str] | None]:
        """The clock now and the changes since the open until then (None: the log no longer
        holds them all); after a first index that is every file: made in a thread."""
        ws = self.ws
        since, logged = ws.clock, ws.batches_since(ws.opened_clock)
        if logged is None:
            return since, None
        if sum(len(batch) for batch in logged) > LARGE_BATCH:
            return since, await interactive(_caught_up, logged)
        return since, _caught_up(logged)

    def _start_hand_over(self, since: int, early: dict[str, str] | None) -> _HandOver:
        """Call the due plugins' `aegisd_files_changed` with the catch-up batch (`early` and
        what came after `since`); returns what they returned, to await."""
        plugins, self._catching_up = self._catching_up, set()
        ws = self.ws
        later = ws.batches_since(since)
        if early is None or later is None:  # more changed than the log keeps: any file may have
            changes = dict.fromkeys(sorted(self.known), "modified")
        else:
            changes = _caught_up([early, *later]) if later else early
        self.held_back -= plugins
        batch = ChangeBatch(ws.clock, changes, "reconcile")
        hand_over = _HandOver(batch, plugins)
        if changes:
            hand_over.returned = self.daemon.host.call_each(
                "aegisd_files_changed",
                block_on_error=False,
                only=plugins,
                failed=hand_over.failed,
                daemon=self.daemon,
                workspace=ws,
                batch=batch,
            )
        return hand_over

    async def _finish_hand_over(self, hand_over: _HandOver) -> None:
        """Await what the catch-up batch's hooks returned; what failed is handed over again."""
        await self.daemon.host.await_each(
            "aegisd_files_changed",
            hand_over.returned,
            block_on_error=False,
            failed=hand_over.failed,
        )
        if hand_over.batch.changes:
            self.redelivery.settle(hand_over.batch, hand_over.plugins, hand_over.failed)

    def _handed_over(self, returned: list[Any]) -> None:
        """The catch-up task ended (or never ran: its hooks' coroutines are closed, not left
        unawaited); the batch lock goes."""
        for _, value in returned:
            if inspect.iscoroutine(value):
                value.close()
        self._lock.release()
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


@dataclass
class _HandOver:
    """A catch-up batch handed to the plugins that were held back."""

    batch: ChangeBatch
    plugins: Collection[str]
    returned: list[Any] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _caught_up(batches: list[dict[str, str]]) -> dict[str, str]:
    """Successive batches as one, in path order."""
    return dict(sorted(coalesce_batches(batches).items()))


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
