"""Whole-graph answers are built off the event loop: at 50k files `graph.imports` is ~10^5
edges, and building them on the loop stalled it for a second (bench/scale.py's loop watch);
`graph.classes` is as large."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from aegisd_codemap import graphs

from aegisd.daemon import Daemon
from tests.plugins.codemap.test_first_index import FILES
from tests.plugins.codemap.test_service import _open_indexed


def _threads_building(monkeypatch: pytest.MonkeyPatch, builder: str) -> list[threading.Thread]:
    """The threads `graphs.<builder>` runs in from now on, in call order."""
    built_in: list[threading.Thread] = []
    build = getattr(graphs, builder)

    def recorded(*args: Any) -> Any:
        built_in.append(threading.current_thread())
        return build(*args)

    monkeypatch.setattr(graphs, builder, recorded)
    return built_in


async def test_the_import_graph_answer_is_built_in_a_thread(
    app_daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _open_indexed(app_daemon, tmp_path / "p", FILES)
    built_in = _threads_building(monkeypatch, "_imports_answer")
    call = app_daemon.dispatcher.call
    whole = await call("graph.imports", {"include_external": True})
    focused = await call("graph.imports", {"path": "pkg/use.py"})
    assert len(built_in) == 2 and threading.main_thread() not in built_in
    assert [(e["source"], e["target"]) for e in whole["edges"]] == [("pkg/use.py", "pkg/core.py")]
    assert whole["nodes"] == ["pkg/__init__.py", "pkg/core.py", "pkg/use.py"]
    assert focused["nodes"] == ["pkg/core.py", "pkg/use.py"] and not focused["pending"]


async def test_the_class_graph_answer_is_built_in_a_thread(
    app_daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {
        **FILES,
        "pkg/sub.py": "from pkg.core import Engine\n\n\nclass Turbo(Engine):\n    pass\n",
    }
    await _open_indexed(app_daemon, tmp_path / "p", files)
    built_in = _threads_building(monkeypatch, "_classes_answer")
    whole = await app_daemon.dispatcher.call("graph.classes", {})
    focused = await app_daemon.dispatcher.call("graph.classes", {"path": "pkg/use.py"})
    assert len(built_in) == 2 and threading.main_thread() not in built_in
    assert {(e["source"], e["target"], e["kind"]) for e in whole["edges"]} >= {
        ("pkg/sub.py:Turbo", "pkg/core.py:Engine", "inherits")
    }
    assert {n["qualname"] for n in whole["nodes"]} >= {"Engine", "Turbo"}
    assert all("pkg/use.py" in (e["source"] + e["target"]) for e in focused["edges"])
    assert all(e in whole["edges"] for e in focused["edges"])
