"""Changes a plugin failed to take in, handed to it again until it does.

A plugin whose `aegisd_files_changed` raised has missed a batch: its view of
those files is stale, and nothing would tell it so until they change again. The paths it owes
are kept per plugin (coalesced), the workspace says it is degraded (so `pending`), and they are
handed to that plugin alone, as a batch of their own, after RETRY_S, doubling up to
RETRY_CAP_S, until it takes them in. A later batch the plugin takes in settles the paths it
carried: the plugin has seen them as they are now.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field

from loguru import logger

from aegisd.workspace import ChangeBatch, Workspace, coalesce

FAULT = "plugins"  # the workspace's fault source while a plugin owes changes
RETRY_S = 1.0
RETRY_CAP_S = 60.0
#: hands a batch to the named plugins only; returns the ones that failed it again
Deliver = Callable[[ChangeBatch, Collection[str]], Awaitable[list[str]]]


@dataclass
class _Debt:
    changes: dict[str, str] = field(default_factory=dict)
    source: str = "watcher"
    attempts: int = 0


class Redelivery:
    """What each plugin of one workspace owes, and the task that hands it over again."""

    def __init__(self, ws: Workspace, deliver: Deliver) -> None:
        self.ws = ws
        self._deliver = deliver
        self.owed: dict[str, _Debt] = {}
        self._task: asyncio.Task[None] | None = None

    def settle(self, batch: ChangeBatch, called: Collection[str], failed: Collection[str]) -> None:
        """After `batch` went to the plugins `called` (their names; `failed` among them): the
        failures owe its paths, the others no longer owe them."""
        if not failed and not self.owed:
            return  # the usual case: O(1)
        for name in failed:
            debt = self.owed.setdefault(name, _Debt(source=batch.source))
            for path, kind in batch.changes.items():
                # A file a failed plugin may have half taken in is never "nothing happened".
                debt.changes[path] = coalesce(debt.changes.get(path), kind) or "deleted"
            if batch.source == "reconcile":
                debt.source = "reconcile"  # a large first pass is handed over as one again
        for name in set(self.owed).intersection(called).difference(failed):
            debt = self.owed[name]
            for path in batch.changes:
                debt.changes.pop(path, None)
            if not debt.changes:
                del self.owed[name]
        self._show()
        if self.owed and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._retry(), name=f"redeliver-{self.ws.id}")
            self.ws.track(self._task)

    def _show(self) -> None:
        if not self.owed:
            self.ws.fault(FAULT, None)
            return
        owing = ", ".join(
            f"{name} ({len(debt.changes)} files)" for name, debt in sorted(self.owed.items())
        )
        self.ws.fault(FAULT, f"plugins failed to take in changes, handed over again: {owing}")

    async def _retry(self) -> None:
        while self.owed:
            attempts = min(debt.attempts for debt in self.owed.values())
            await asyncio.sleep(min(RETRY_S * 2**attempts, RETRY_CAP_S))
            for name in sorted(self.owed):
                debt = self.owed.get(name)
                if debt is None:
                    continue  # settled meanwhile by a batch it took in
                debt.attempts += 1
                batch = ChangeBatch(self.ws.clock, dict(sorted(debt.changes.items())), debt.source)
                failed = await self._deliver(batch, (name,))
                if name in failed:
                    logger.warning(
                        "workspace {}: plugin {} failed {} files' changes again (attempt {})",
                        self.ws.id, name, len(batch.changes), debt.attempts,
                    )  # fmt: skip
                    continue
                # What it took in is settled; changes owed since the hand-over stay owed.
                for path, kind in batch.changes.items():
                    if debt.changes.get(path) == kind:
                        del debt.changes[path]
                if not debt.changes and self.owed.get(name) is debt:
                    del self.owed[name]
                    logger.info("workspace {}: plugin {} caught up", self.ws.id, name)
            self._show()
