"""Plugins loaded after a workspace opened (the deferred ones): held back from its batches until
they are handed one batch of everything that changed since it opened.

That batch goes in line with the others, without waiting for any: at the end of the batch in
progress (it may be a whole first index) before it lets go of the batch lock, before `ready`
for the first reconciliation, else at once. None of those plugins misses or doubles a change.
"""

from __future__ import annotations

import inspect
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aegisd.threads import interactive
from aegisd.workspace import ChangeBatch, coalesce_batches

if TYPE_CHECKING:
    from aegisd.watcher import LiveWorkspace

LARGE_BATCH = 1_000  # paths past which the catch-up batch is made in a thread


@dataclass
class _HandOver:
    """A catch-up batch handed to the plugins that were held back."""

    batch: ChangeBatch
    plugins: Collection[str]
    returned: list[Any] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class CatchUp:
    """One live workspace's plugins held back, and those whose catch-up batch is due."""

    def __init__(self, live: LiveWorkspace) -> None:
        self.live = live
        #: batches pass these by until their catch-up batch is delivered
        self.held_back: set[str] = set()
        self._due: set[str] = set()  # of those, the ones opened: their batch is due

    def hold_back(self, plugins: Iterable[str]) -> None:
        """Plugins that just loaded: no batch reaches them before `start`."""
        self.held_back.update(plugins)

    async def start(self, plugins: Collection[str]) -> None:
        """Hand `plugins` (just opened for this workspace) their catch-up batch: now, or at
        the end of the batch in progress.

        The hooks' synchronous parts run before anything else can (their awaitables are
        awaited in a task holding the lock): the plugins' own tasks, which wait for `ready`,
        find the batch taken in, and a pass on open covers it instead of running again over
        every file for it."""
        self._due.update(plugins)
        lock = self.live.exclusive()
        if lock.locked():
            return  # the batch in progress hands it over at its end
        since, early = await self._early()
        if lock.locked() or not self._due:
            return  # a batch started meanwhile: it hands it over
        await lock.acquire()  # free: taken at once, nothing runs in between
        self.live.begin_work()
        try:
            hand_over = self._begin(since, early)
        except BaseException:
            self._ended([])
            raise
        returned = hand_over.returned

        async def finish() -> None:
            await self._finish(hand_over)

        task = self.live.supervisor.spawn("catch-up", finish, restart=False)
        task.add_done_callback(lambda _: self._ended(returned))

    async def hand_over_due(self) -> None:
        """The catch-up batch to the plugins it is due to (the batch lock held)."""
        if not self._due:
            return
        since, early = await self._early()
        self.live.begin_work()
        hand_over = self._begin(since, early)
        try:
            await self._finish(hand_over)
        finally:
            self.live.end_work()

    async def _early(self) -> tuple[int, dict[str, str] | None]:
        """The clock now and the changes since the open until then (None: the log no longer
        holds them all); after a first index that is every file: made in a thread."""
        ws = self.live.ws
        since, logged = ws.clock, ws.batches_since(ws.opened_clock)
        if logged is None:
            return since, None
        if sum(len(batch) for batch in logged) > LARGE_BATCH:
            return since, await interactive(_caught_up, logged)
        return since, _caught_up(logged)

    def _begin(self, since: int, early: dict[str, str] | None) -> _HandOver:
        """Call the due plugins' `aegisd_files_changed` with the catch-up batch (`early` and
        what came after `since`); what they returned is awaited by `_finish`."""
        plugins, self._due = self._due, set()
        live, ws = self.live, self.live.ws
        later = ws.batches_since(since)
        if early is None or later is None:  # more changed than the log keeps: any file may have
            changes = dict.fromkeys(sorted(live.known), "modified")
        else:
            changes = _caught_up([early, *later]) if later else early
        self.held_back -= plugins
        batch = ChangeBatch(ws.clock, changes, "reconcile")
        hand_over = _HandOver(batch, plugins)
        if changes:
            hand_over.returned = live.daemon.host.call_each(
                "aegisd_files_changed",
                block_on_error=False,
                only=plugins,
                failed=hand_over.failed,
                daemon=live.daemon,
                workspace=ws,
                batch=batch,
            )
        return hand_over

    async def _finish(self, hand_over: _HandOver) -> None:
        """Await what the catch-up batch's hooks returned; what failed is handed over again."""
        await self.live.daemon.host.await_each(
            "aegisd_files_changed",
            hand_over.returned,
            block_on_error=False,
            failed=hand_over.failed,
        )
        if hand_over.batch.changes:
            self.live.redelivery.settle(hand_over.batch, hand_over.plugins, hand_over.failed)

    def _ended(self, returned: list[Any]) -> None:
        """The catch-up task ended (or never ran: its hooks' coroutines are closed, not left
        unawaited); the batch lock goes."""
        for _, value in returned:
            if inspect.iscoroutine(value):
                value.close()
        self.live.exclusive().release()
        self.live.end_work()


def _caught_up(batches: list[dict[str, str]]) -> dict[str, str]:
    """Successive batches as one, in path order."""
    return dict(sorted(coalesce_batches(batches).items()))
