"""Lint's import map from a real code map: streamed from the store (never every outline held
or cached: ~200 MiB at 50k files), an edit re-reading only the files that changed."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aegisd_codemap import service, store
from aegisd_codemap.graph import build_import_graph
from aegisd_codemap.index import WorkspaceIndex
from aegisd_lint.importmap import ImportMap
from aegisd_lint.inputs import _import_map

from aegisd.daemon import Daemon
from tests.plugins.codemap.test_service import _open_indexed

FILES = {
    "pkg/__init__.py": "",
    "pkg/core.py": "import os\n\n\nclass Engine:\n    pass\n",
    "pkg/use.py": "from pkg.core import Engine\n",
    "pkg/other.py": "VALUE = 1\n",
}


def _expected(index: WorkspaceIndex) -> dict[str, tuple[str, ...]]:
    refs = {path: outline.imports for path, _, outline in index.each_outline()}
    graph = build_import_graph(refs, list(index.hashes), index.package)
    return ImportMap.of(graph).edges


async def _settled(daemon: Daemon, ws_id: str, path: str, old: str | None) -> WorkspaceIndex:
    async with asyncio.timeout(30):
        while True:
            index = service.get(daemon).indexes[ws_id]
            if index.hashes.get(path) not in (None, old):
                await service.flush(daemon, ws_id)
                return index
            await asyncio.sleep(0.02)


async def test_the_map_streams_outlines_and_an_edit_reads_only_what_changed(
    app_daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "p"
    ws = await _open_indexed(app_daemon, root, FILES)
    await service.flush(app_daemon, ws.id)
    index = service.get(app_daemon).indexes[ws.id]
    scans: list[str] = []
    seeks: list[str] = []
    scan, seek = store.read_hashed_outlines, store.read_outline

    def scanned(execute: Any, ws_id: str) -> Any:
        scans.append(ws_id)
        return scan(execute, ws_id)

    def sought(execute: Any, ws_id: str, path: str) -> Any:
        seeks.append(path)
        return seek(execute, ws_id, path)

    monkeypatch.setattr(store, "read_hashed_outlines", scanned)
    monkeypatch.setattr(store, "read_outline", sought)
    whole = await asyncio.to_thread(_import_map, index, dict(index.hashes), None)
    assert (ws.id, "*", "outlines") not in index.whole  # nothing cached for it
    assert len(scans) == 1 and seeks == []
    assert whole.edges["pkg/use.py"] == ("pkg/core.py",) and whole.edges["pkg/other.py"] == ()
    assert whole.digests == dict(index.hashes)

    old = index.hashes["pkg/other.py"]
    (root / "pkg/other.py").write_text("from pkg.use import Engine\n")
    index = await _settled(app_daemon, ws.id, "pkg/other.py", old)
    scans.clear()
    edited = await asyncio.to_thread(_import_map, index, dict(index.hashes), whole)
    assert (scans, seeks) == ([], ["pkg/other.py"])
    assert edited.edges == _expected(index) and edited.edges["pkg/other.py"] == ("pkg/use.py",)
    assert edited.digests == dict(index.hashes) and whole.edges["pkg/other.py"] == ()
    again = await asyncio.to_thread(_import_map, index, dict(index.hashes), edited)
    assert again is edited  # nothing changed: nothing read

    (root / "pkg/new.py").write_text("import pkg.other\n")
    index = await _settled(app_daemon, ws.id, "pkg/new.py", None)
    scans.clear()
    seeks.clear()
    grown = await asyncio.to_thread(_import_map, index, dict(index.hashes), edited)
    assert len(scans) == 1  # a file came: every file's imports read again, streamed
    assert grown.edges == _expected(index) and grown.edges["pkg/new.py"] == ("pkg/other.py",)
