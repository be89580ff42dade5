"""Reading the clone index's results: only once it has caught up with the workspace."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from aegisd_insights import service


async def test_clones_are_read_once_the_clone_index_has_no_queued_files(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    status: dict[str, Any] = {"ready": True, "queued": 2, "version": 3}
    report = {"clones": [], "hotspots": [], "pending": False}
    asked: list[str] = []

    async def call(daemon: Any, method: str, params: dict[str, Any]) -> dict[str, Any]:
        asked.append(method)
        return status if method == "similarity.status" else report

    monkeypatch.setattr(service, "_call", call)
    daemon: Any = SimpleNamespace(registry=SimpleNamespace(get=lambda name: object()))
    wi = service.WorkspaceInsights(SimpleNamespace(id="ws"), 1)  # type: ignore[arg-type]
    assert await service._read_clones(daemon, wi) == (False, False)  # unsettled: read again
    assert asked == ["similarity.status"] and not wi.sources["clones"]
    status["queued"] = 0
    changed, settled = await service._read_clones(daemon, wi)
    assert settled and changed
    assert asked[-1] == "similarity.report" and wi.sources["clones"]
