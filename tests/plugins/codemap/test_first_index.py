"""The first-index answering rule in a daemon: wait (bounded) for a first index built from
nothing, parse a named file on demand, say `pending`, never NOT_FOUND for a file on disk."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aegisd_codemap import service, store
from aegisd_codemap.index import WorkspaceIndex

from aegisd.daemon import Daemon
from aegisd.rpc.errors import RpcError
from aegisd.workspace import Workspace
from tests.plugins.codemap.test_service import _open_indexed

FILES = {
    "pkg/__init__.py": "",
    "pkg/core.py": "class Engine:\n    def start(self):\n        pass\n",
    "pkg/use.py": "from pkg.core import Engine\n\n\ndef run():\n    return Engine()\n",
}


async def _as_first_index(daemon: Daemon, ws: Workspace) -> WorkspaceIndex:
    """Put the workspace back where a first index starts: loaded (nothing was stored), empty,
    not ready; returns the complete index it had."""
    codemap = service.get(daemon)
    await service.flush(daemon, ws.id)
    complete = codemap.indexes[ws.id]
    complete.unsaved = dict(await daemon.store.run(store.load, daemon.store.db, ws.id))
    await daemon.store.run(store.clear, daemon.store.db, ws.id)
    codemap.indexes[ws.id] = codemap.new_index(ws.id)
    codemap.ready[ws.id].clear()
    daemon.cache.invalidate_workspace(ws.id, service.CACHE_NAMESPACE)
    return complete


async def _finish(daemon: Daemon, ws: Workspace, complete: WorkspaceIndex) -> None:
    codemap = service.get(daemon)
    codemap.indexes[ws.id] = complete  # its files are not stored yet, as when they are parsed
    complete.version += 1  # as an index that changed
    codemap.ready[ws.id].set()


async def test_search_and_graphs_wait_for_a_first_index(app_daemon: Daemon, tmp_path: Path) -> None:
    ws = await _open_indexed(app_daemon, tmp_path / "p", FILES)
    complete = await _as_first_index(app_daemon, ws)
    call = app_daemon.dispatcher.call
    search = asyncio.ensure_future(call("index.search", {"query": "Engine"}))
    deps = asyncio.ensure_future(call("graph.dependents", {"path": "pkg/core.py"}))
    tree = asyncio.ensure_future(call("index.tree", {}))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not (search.done() or deps.done() or tree.done())  # not an empty "final" answer
    await _finish(app_daemon, ws, complete)
    found = await search
    assert [h["qualname"] for h in found["hits"]] == ["Engine"] and not found["pending"]
    assert (await deps)["dependents"] == ["pkg/use.py"]
    assert (await tree)["root"]["symbols"] == 3


async def test_after_the_bounded_wait_answers_are_pending(
    app_daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "FIRST_INDEX_WAIT_S", 0.01)
    ws = await _open_indexed(app_daemon, tmp_path / "p", FILES)
    await _as_first_index(app_daemon, ws)
    call = app_daemon.dispatcher.call
    found = await call("index.search", {"query": "Engine"})
    assert (found["hits"], found["pending"]) == ([], True)
    # A file the workspace has: a pending answer, never NOT_FOUND.
    deps = await call("graph.dependents", {"path": "pkg/core.py"})
    assert (deps["dependents"], deps["pending"]) == ([], True)
    focused = await call("graph.imports", {"path": "pkg/core.py"})
    assert focused["pending"] is True
    # One it does not have, with its file state known: NOT_FOUND is the truth already.
    with pytest.raises(RpcError) as info:
        await call("graph.dependents", {"path": "pkg/nope.py"})
    assert info.value.code_name == "NOT_FOUND"


async def test_a_file_named_during_a_first_index_is_parsed_on_demand(
    app_daemon: Daemon, tmp_path: Path
) -> None:
    ws = await _open_indexed(app_daemon, tmp_path / "p", FILES)
    await _as_first_index(app_daemon, ws)
    call = app_daemon.dispatcher.call
    outline = await call("index.file", {"path": "pkg/core.py"})
    assert [n["qualname"] for n in outline["outline"]] == ["Engine"]
    assert outline["pending"] is True
    with pytest.raises(RpcError) as info:
        await call("index.file", {"path": "pkg/nope.py"})
    assert info.value.code_name == "NOT_FOUND"


async def test_before_the_file_state_is_known_no_file_is_missing(
    app_daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "FIRST_INDEX_WAIT_S", 0.01)
    ws = await _open_indexed(app_daemon, tmp_path / "p", FILES)
    await _as_first_index(app_daemon, ws)
    # As before the file state is first compared with the disk: a file it lacks may be there.
    service.get(app_daemon).files_known[ws.id].clear()
    for method in ("index.file", "graph.dependents"):
        with pytest.raises(RpcError) as info:
            await app_daemon.dispatcher.call(method, {"path": "pkg/late.py"})
        assert info.value.code_name == "UNAVAILABLE", method
