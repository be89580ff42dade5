"""Applying a recompute: what is added, changed and removed is stored, published and kept,
the same whether the difference is worked out on the loop or (for large sets) in a thread;
and how long the next one waits."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from aegisd_insights import follow, service, store
from aegisd_insights.insight import Insight
from aegisd_insights.settings import InsightsSettings

from aegisd.events import EventHub
from aegisd.store.database import Store
from aegisd.store.migrations import run_migrations
from aegisd.workspace import Workspace


def _insight(n: int, severity: str = "low") -> Insight:
    return Insight(
        key=f"oversized_file:f{n}.py",
        kind="oversized_file",
        severity=severity,
        title=f"f{n}.py is long",
        detail="...",
        paths=(f"f{n}.py",),
        metrics={"lines": 900 + n},
    )


@pytest.mark.parametrize("threaded_above", [10_000, 0])
async def test_apply_stores_publishes_and_keeps_the_difference(
    tmp_path: Path, threaded_above: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "THREADED_DIFF_INSIGHTS", threaded_above)
    db = Store(tmp_path / "t.db")
    await db.open()
    await db.run(run_migrations, db.db, store.MIGRATIONS)
    events = EventHub()
    published: list[dict[str, Any]] = []
    events.publish = lambda topic, params, **_: published.append(params)  # type: ignore[method-assign]
    daemon = cast(Any, SimpleNamespace(store=db, events=events))
    ws = cast(Workspace, SimpleNamespace(id="w", settings=SimpleNamespace()))
    wi = service.WorkspaceInsights(ws, 0)

    first = [_insight(n) for n in range(3)]
    await service._apply(daemon, wi, first, clock=1)
    second = [dataclasses.replace(first[0], severity="high"), first[1], _insight(7)]
    await service._apply(daemon, wi, second, clock=2)
    await service._apply(daemon, wi, list(second), clock=3)  # nothing new: nothing published

    assert [len(p["added"]) for p in published] == [3, 1]
    assert [c["key"] for c in published[1]["changed"]] == [first[0].key]
    assert published[1]["removed"] == [first[2].key]
    assert wi.current == second
    assert wi.seen[first[1].key].clock == 1 and wi.seen[_insight(7).key].clock == 2
    stored = await db.run(store.load_current, db.db, "w")
    assert sorted(i.key for i, _ in stored) == sorted(i.key for i in second)
    await db.close()


async def test_a_costly_recompute_waits_longer_than_the_debounce(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slept: list[float] = []

    async def noting(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(follow.asyncio, "sleep", noting)
    ws = cast(Workspace, SimpleNamespace(id="w", settings=SimpleNamespace()))
    wi = service.WorkspaceInsights(ws, 0)
    settings = InsightsSettings(debounce_ms=300)
    for quiet_s in (0.0, 2.0):
        wi.dirty.set()
        assert await follow._next_round(wi, settings, quiet_s) is True
    assert slept == [0.3, 2.0]
