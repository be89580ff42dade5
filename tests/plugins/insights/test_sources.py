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


async def test_lint_is_read_as_tallies_and_pages_of_serious_issues(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not one whole-workspace report (a million issues at 50,000 files): the counts, then
    the high and critical issues a page of files at a time, with each file's total."""
    asked: list[dict[str, Any]] = []

    def issue(path: str, severity: str, code: str) -> dict[str, Any]:
        return {"path": path, "severity": severity, "code": code}

    pages = {
        None: {
            "files": [{"path": "a.py", "issues": [issue("a.py", "high", "S1")], "total_issues": 7}],
            "next_cursor": "a.py",
        },
        "a.py": {
            "files": [
                {"path": "b.py", "issues": [issue("b.py", "critical", "B2")], "total_issues": 2}
            ],
            "next_cursor": None,
        },
    }

    async def call(daemon: Any, method: str, params: dict[str, Any]) -> dict[str, Any]:
        asked.append(params)
        if method == "lint.history":
            return {"runs": [{"id": 4, "issues": 9}]}
        if params.get("limit") == 0:
            return {"summary": {"by_severity": {"low": 6, "high": 1, "critical": 1}}, "files": []}
        return pages[params.get("cursor")]

    monkeypatch.setattr(service, "_call", call)
    daemon: Any = SimpleNamespace(registry=SimpleNamespace(get=lambda name: object()))
    wi = service.WorkspaceInsights(SimpleNamespace(id="ws"), 1)  # type: ignore[arg-type]
    assert await service._read_lint(daemon, wi)
    assert [(i.path, i.severity, i.rule) for i in wi.lint] == [
        ("a.py", "high", "S1"),
        ("b.py", "critical", "B2"),
    ]
    assert wi.lint_totals == {"a.py": 7, "b.py": 2}
    assert wi.lint_summary == {"low": 6, "high": 1, "critical": 1}
    reads = [p for p in asked if "min_severity" in p]
    assert [p.get("cursor") for p in reads] == [None, "a.py"]
    assert all(p["limit"] == service.LINT_PAGE_FILES for p in reads)
    assert not await service._read_lint(daemon, wi)  # the same last run: not read again
