"""The code map inside a daemon: answers follow the index even when no file changed."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aegisd_codemap import service
from aegisd_codemap.index import WorkspaceIndex

from aegisd.daemon import Daemon


async def test_search_is_not_served_stale_after_the_index_loads(
    app_daemon: Daemon, tmp_path: Path
) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "a.py").write_text("def alpha_helper():\n    return 1\n")
    ws, _ = await app_daemon.workspaces.open(str(root))
    async with asyncio.timeout(30):
        while not service.is_ready(app_daemon, ws.id):
            await asyncio.sleep(0.02)
    codemap = service.get(app_daemon)
    loaded = codemap.indexes[ws.id]
    # As right after a restart: an empty index that has not loaded the store yet.
    codemap.indexes[ws.id] = WorkspaceIndex()
    codemap.ready[ws.id].clear()
    params = {"workspace": ws.id, "query": "alpha_helper"}
    before = await app_daemon.dispatcher.call("index.search", params)
    assert before["hits"] == [] and before["pending"] is True
    codemap.indexes[ws.id].load(dict(loaded.files), dict(loaded.hashes), set())
    codemap.ready[ws.id].set()
    after = await app_daemon.dispatcher.call("index.search", params)
    assert [h["name"] for h in after["hits"]] == ["alpha_helper"] and after["pending"] is False


def test_large_files_hash_like_the_core(tmp_path: Path) -> None:
    from aegisd_codemap.parsing import MAX_FILE_BYTES, parse_chunk

    from aegisd.filestate import content_hash

    big = tmp_path / "big.py"
    big.write_text("x = 1\n" * (MAX_FILE_BYTES // 6 + 1000))
    [(_path, digest, extract)] = parse_chunk(str(tmp_path), ["big.py"], False)
    assert digest == content_hash(big) and extract is not None and not extract.symbols
