"""`Redelivery`: what plugins owe after a failed batch, coalesced, settled by a later batch
they take in, handed over again until they do."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from pathlib import Path

import pytest

from aegisd import redelivery
from aegisd.redelivery import Redelivery
from aegisd.settings import CoreSettings
from aegisd.workspace import ChangeBatch, Workspace


def _ws(tmp_path: Path) -> Workspace:
    return Workspace("w1", tmp_path, CoreSettings())


class Plugins:
    """Fails each plugin named in `failing`; records what each was handed."""

    def __init__(self) -> None:
        self.failing: set[str] = set()
        self.handed: list[tuple[str, dict[str, str]]] = []

    async def deliver(self, batch: ChangeBatch, plugins: Collection[str]) -> list[str]:
        self.handed += [(name, dict(batch.changes)) for name in plugins]
        return [name for name in plugins if name in self.failing]


async def test_nothing_owed_costs_nothing_and_shows_nothing(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    owed = Redelivery(ws, Plugins().deliver)
    owed.settle(ChangeBatch(1, {"a.py": "modified"}, "watcher"), ["p", "q"], [])
    assert owed.owed == {} and ws.degraded is None and not ws.tasks


async def test_a_failed_batch_is_owed_and_a_later_batch_taken_in_settles_its_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redelivery, "RETRY_S", 60.0)  # no retry during this test
    ws = _ws(tmp_path)
    owed = Redelivery(ws, Plugins().deliver)
    owed.settle(ChangeBatch(1, {"a.py": "created", "b.py": "modified"}, "watcher"), ["p"], ["p"])
    assert owed.owed["p"].changes == {"a.py": "created", "b.py": "modified"}
    assert ws.degraded is not None and "p (2 files)" in ws.degraded and ws.pending
    # A file created then deleted while owed is still told about (it may be half taken in).
    owed.settle(ChangeBatch(2, {"a.py": "deleted"}, "watcher"), ["p"], ["p"])
    assert owed.owed["p"].changes == {"a.py": "deleted", "b.py": "modified"}
    # A batch the plugin takes in settles the paths it carries, not the others.
    owed.settle(ChangeBatch(3, {"a.py": "created"}, "watcher"), ["p", "q"], [])
    assert owed.owed["p"].changes == {"b.py": "modified"}
    owed.settle(ChangeBatch(4, {"b.py": "modified"}, "watcher"), ["p"], [])
    assert owed.owed == {} and ws.degraded is None


async def test_owed_changes_are_handed_over_again_until_taken_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redelivery, "RETRY_S", 0.01)
    ws = _ws(tmp_path)
    plugins = Plugins()
    plugins.failing = {"p"}
    owed = Redelivery(ws, plugins.deliver)
    owed.settle(ChangeBatch(1, {"a.py": "modified"}, "reconcile"), ["p", "q"], ["p"])
    while len(plugins.handed) < 2:
        await asyncio.sleep(0.01)
    assert plugins.handed[:2] == [("p", {"a.py": "modified"})] * 2  # only to the one that failed
    assert ws.degraded is not None
    plugins.failing = set()
    while owed.owed:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0)
    assert ws.degraded is None and not ws.pending
    assert owed.owed == {}


async def test_a_large_first_pass_is_handed_over_again_as_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redelivery, "RETRY_S", 60.0)
    ws = _ws(tmp_path)
    owed = Redelivery(ws, Plugins().deliver)
    owed.settle(ChangeBatch(1, {"a.py": "created"}, "reconcile"), ["p"], ["p"])
    owed.settle(ChangeBatch(2, {"b.py": "created"}, "watcher"), ["p"], ["p"])
    assert owed.owed["p"].source == "reconcile"
    for task in ws.tasks:
        task.cancel()
