"""How long the next recompute waits (applying one: `test_worker`)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

import pytest
from aegisd_insights import follow, service
from aegisd_insights.settings import InsightsSettings

from aegisd.workspace import Workspace


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
