"""The code map inside a daemon: answers follow the index even when no file changed."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from aegisd_codemap import namestore, saving, service, sqlsearch, store
from aegisd_codemap.search import SymbolSearch

from aegisd.daemon import Daemon
from aegisd.workspace import ChangeBatch, Workspace
from tests.fifoguard import released_if_blocked


async def _open_indexed(daemon: Daemon, root: Path, files: dict[str, str]) -> Workspace:
    """Write `files` under `root`, open it and wait until its code map index is ready."""
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    ws, _ = await daemon.workspaces.open(str(root))
    async with asyncio.timeout(30):
        while not service.is_ready(daemon, ws.id):
            await asyncio.sleep(0.02)
    return ws


async def test_search_is_not_served_stale_after_the_index_loads(
    app_daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "FIRST_INDEX_WAIT_S", 0)  # answer the empty index at once
    ws = await _open_indexed(
        app_daemon, tmp_path / "p", {"a.py": "def alpha_helper():\n    return 1\n"}
    )
    await service.flush(app_daemon, ws.id)
    codemap = service.get(app_daemon)
    loaded = codemap.indexes[ws.id]
    # As right after a restart: an index whose facts are not read yet. The store is the
    # index: its symbols are found, marked pending.
    codemap.indexes[ws.id] = codemap.new_index(ws.id)
    codemap.ready[ws.id].clear()
    params = {"workspace": ws.id, "query": "alpha_helper"}
    before = await app_daemon.dispatcher.call("index.search", params)
    assert [h["name"] for h in before["hits"]] == ["alpha_helper"] and before["pending"] is True
    codemap.indexes[ws.id].load(dict(loaded.facts))
    codemap.ready[ws.id].set()
    after = await app_daemon.dispatcher.call("index.search", params)
    assert [h["name"] for h in after["hits"]] == ["alpha_helper"] and after["pending"] is False


def test_files_hash_like_the_core_and_skipped_ones_are_not_read(tmp_path: Path) -> None:
    from aegisd_codemap.parsing import parse_chunk

    from aegisd.safeio import content_hash

    limit = 64 * 1024
    (tmp_path / "small.py").write_text("x = 1\n")
    (tmp_path / "big.py").write_text("x = 1\n" * (limit // 6 + 1000))
    os.mkfifo(tmp_path / "pipe.py")
    small, big, pipe = parse_chunk(str(tmp_path), ["small.py", "big.py", "pipe.py"], False, limit)
    assert small[1] == content_hash(tmp_path, "small.py", limit) and small[2] is not None
    assert big == ("big.py", None, None) and pipe == ("pipe.py", None, None)


SOURCES = {
    "pkg/files.py": "def get_file_summary():\n    pass\n\nclass GetFileSummary:\n"
    "    def inner(self):\n        pass\n",
    "pkg/deep/outer.py": "class Outer:\n    class Inner:\n        def inner(self):\n"
    "            pass\n\ndef main_helper():\n    pass\n",
    "app.py": "def apply_100_percent():\n    pass\n\nasync def go_fast():\n    pass\n",
    "tests/test_files.py": "def get_file_summary():\n    pass\n",
    "pkg/typed.py": "from typing import overload\n@overload\ndef pick(x: int) -> int: ...\n"
    "@overload\ndef pick(x: str) -> str: ...\ndef pick(x):\n    return x\n",
}
QUERIES = [
    {"query": "GetFileSummary"},
    {"query": "gfs"},
    {"query": "file_sum"},  # a word match without the underscore in GetFileSummary
    {"query": "FileSum"},
    {"query": "o"},
    {"query": "Outer.Inner.inner"},
    {"query": "ou.in"},
    {"query": "inner", "kind": "method"},
    {"query": "e", "path_glob": "pkg/*"},
    {"query": "mh"},
    {"query": "100%"},
    {"query": "_"},
    {"query": "nothing_like_this"},
    {"query": "a", "limit": 2},
    {"query": "a", "path_glob": "pkg/*", "limit": 1},  # the prefix match is outside the glob
    # Ranked with what the store keeps beside names: paths (tests last, modules), decorators.
    {"query": "get_file_summary"},
    {"query": "pick"},
    {"query": "pkg.files.get_file_summary"},
    {"query": "deep.outer.Outer.Inner.inner"},
    {"query": "pkg.GetFileSummary"},
    {"query": "files.get_f"},
    # Filled by exact and prefix matches: read through the index on lower(name).
    {"query": "GET", "limit": 2},
    {"query": "inner", "kind": "method", "limit": 2},
    {"query": "go_fast", "limit": 1},
]


async def test_search_from_the_store_ranks_as_the_index_in_memory(
    app_daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = await _open_indexed(app_daemon, tmp_path / "p", SOURCES)
    await service.flush(app_daemon, ws.id)
    index = service.get(app_daemon).indexes[ws.id]
    assert not index.unsaved  # every answer below comes from the store

    async def answers() -> list[dict[str, Any]]:
        app_daemon.cache.invalidate_workspace(ws.id)
        return [
            await app_daemon.dispatcher.call("index.search", {"workspace": ws.id, **q})
            for q in QUERIES
        ]

    stored = await answers()
    assert [(h["qualname"], h["path"]) for h in stored[2]["hits"]] == [
        ("GetFileSummary", "pkg/files.py"),
        ("get_file_summary", "pkg/files.py"),
        ("get_file_summary", "tests/test_files.py"),
    ]
    pick = stored[QUERIES.index({"query": "pick"})]["hits"]
    assert [h["line"] for h in pick] == [6, 3, 5]  # the implementation first
    qualified = stored[QUERIES.index({"query": "pkg.files.get_file_summary"})]["hits"]
    assert [h["path"] for h in qualified] == ["pkg/files.py"]
    assert sum(1 for a in stored if a["hits"]) == len(QUERIES) - 1
    assert all(not a["pending"] for a in stored)
    # The same answers as the in-memory ranking over every symbol.
    files = await app_daemon.store.run(store.load, app_daemon.store.db, ws.id)
    rows, lines = [], {}
    for path, extract in files.items():
        for s in extract.symbols:
            rows.append((len(rows), s.name, s.qualname, s.kind, path, "overload" in s.decorators))
            lines[len(rows) - 1] = s.line
    memory = SymbolSearch(rows)
    for q, answer in zip(QUERIES, stored, strict=True):
        hits = memory.query(q["query"], q.get("kind"), q.get("path_glob"), q.get("limit", 50))
        expected = [(h.qualname, h.path, lines[h.symbol_id], h.match, h.score) for h in hits]
        got = [
            (h["qualname"], h["path"], h["line"], h["match"], h["score"]) for h in answer["hits"]
        ]
        assert got == expected, q
    # Many symbols in a tier: read in rank order through the index, the same answers.
    monkeypatch.setattr(sqlsearch, "FEW_SYMBOLS", 1)
    assert [a["hits"] for a in await answers()] == [a["hits"] for a in stored]
    with closing(sqlite3.connect(app_daemon.store.path)) as db:
        plan = db.execute(
            "EXPLAIN QUERY PLAN SELECT rowid FROM codemap_symbol"
            " WHERE workspace_id = ? AND lname >= ? AND lname < ?",
            ("ws", "get", "get\U0010ffff"),
        ).fetchall()
    assert "codemap_symbol_lname" in str(plan)  # the exact and prefix tiers: an index range


async def test_updates_are_answered_first_and_stored_in_order(
    app_daemon: Daemon, tmp_path: Path
) -> None:
    root = tmp_path / "p"
    ws = await _open_indexed(app_daemon, root, {"a.py": "def first_name():\n    return 1\n"})
    gate = threading.Event()
    # The DB thread is held: an update is searchable while its write waits.
    held = asyncio.ensure_future(app_daemon.store.run(gate.wait, 10))
    for name in ("second_name", "third_name"):
        (root / "a.py").write_text(f"def {name}():\n    return 2\n")
        # Straight to the code map: the watcher's own batch waits for the held DB thread.
        batch = ChangeBatch(ws.clock, {"a.py": "modified"}, "test")
        async with asyncio.timeout(5):  # not waiting for its write
            await service.changed(app_daemon, ws, batch)
        hits = await app_daemon.dispatcher.call("index.search", {"query": name})
        assert [h["name"] for h in hits["hits"]] == [name]
    gate.set()
    await held
    await service.flush(app_daemon, ws.id)
    files = await app_daemon.store.run(store.load, app_daemon.store.db, ws.id)
    assert [s.name for s in files["a.py"].symbols] == ["third_name"]  # the last write won


async def test_a_batch_of_files_is_stored_in_place_of_their_old_rows(
    app_daemon: Daemon, tmp_path: Path
) -> None:
    root = tmp_path / "p"
    ws = await _open_indexed(
        app_daemon, root, {f"m{i}.py": f"def f{i}():\n    return {i}\n" for i in range(5)}
    )

    async def stored() -> dict[str, list[str]]:
        await service.flush(app_daemon, ws.id)
        files = await app_daemon.store.run(store.load, app_daemon.store.db, ws.id)
        return {path: [s.name for s in f.symbols] for path, f in sorted(files.items())}

    def names(db: Any) -> tuple[set[str], bool]:
        """The stored names, and whether the trigram index has caught up with them."""
        cursor = db.cursor()
        found = {row[0] for row in cursor.execute("SELECT name FROM codemap_name")}
        last = cursor.execute("SELECT coalesce(max(id), 0) FROM codemap_name").fetchone()[0]
        indexed = not namestore.has_fts(cursor) or namestore.fts_mark(cursor) >= last
        return found, indexed

    assert await stored() == {f"m{i}.py": [f"f{i}"] for i in range(5)}
    # A first index: names written without the trigram index, which catches up after it.
    assert await app_daemon.store.run(names, app_daemon.store.db) == (
        {f"f{i}" for i in range(5)},
        True,
    )
    # More files than an editor's save: the rows are built in a bulk thread, then written.
    for i in range(3):
        (root / f"m{i}.py").write_text(f"def g{i}():\n    return {i}\n")
    (root / "m4.py").unlink()
    changes = {"m0.py": "modified", "m1.py": "modified", "m2.py": "modified", "m4.py": "deleted"}
    await service.changed(app_daemon, ws, ChangeBatch(ws.clock, changes, "test"))
    assert await stored() == {"m0.py": ["g0"], "m1.py": ["g1"], "m2.py": ["g2"], "m3.py": ["f3"]}
    # Names no symbol carries any more are gone with them.
    assert await app_daemon.store.run(names, app_daemon.store.db) == (
        {"g0", "g1", "g2", "f3"},
        True,
    )


async def test_an_edit_that_became_a_fifo_is_parsed_without_blocking(
    app_daemon: Daemon, tmp_path: Path
) -> None:
    """Issue 16: a FIFO renamed over a small file after its batch settled froze the daemon,
    because an edit's file or two are parsed on the event loop and `open` waited for a writer."""
    root = tmp_path / "p"
    ws = await _open_indexed(app_daemon, root, {"a.py": "def before_fifo():\n    return 1\n"})
    temp = root.parent / "a.fifo"
    os.mkfifo(temp)
    os.replace(temp, root / "a.py")
    with released_if_blocked(root / "a.py") as blocked:
        await service.changed(app_daemon, ws, ChangeBatch(ws.clock, {"a.py": "modified"}, "test"))
    assert not blocked()
    assert "a.py" not in service.get(app_daemon).index(ws.id).files


async def test_an_unreadable_store_is_read_again_until_the_index_loads(
    app_daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store that cannot be read when the workspace opens (deleted, corrupt, the disk
    failing) is tried again: the index loads and is built once it can be, and until then
    answers are pending, not an empty index presented as complete."""
    failures = [sqlite3.OperationalError("disk I/O error")] * 2
    real = service._stored_facts

    def flaky(*args: Any) -> Any:
        if failures:
            raise failures.pop()
        return real(*args)

    monkeypatch.setattr(service, "_stored_facts", flaky)
    monkeypatch.setattr(service, "LOAD_RETRY_S", 0.1)
    monkeypatch.setattr(service, "FIRST_INDEX_WAIT_S", 0)
    root = tmp_path / "p"
    root.mkdir()
    (root / "a.py").write_text("def alpha_helper():\n    return 1\n")
    ws, _ = await app_daemon.workspaces.open(str(root))
    early = await app_daemon.dispatcher.call(
        "index.search", {"workspace": ws.id, "query": "alpha_helper"}
    )
    assert early["pending"] is True
    async with asyncio.timeout(30):
        while not service.is_ready(app_daemon, ws.id):
            await asyncio.sleep(0.02)
    assert not failures
    found = await app_daemon.dispatcher.call(
        "index.search", {"workspace": ws.id, "query": "alpha_helper"}
    )
    assert [h["name"] for h in found["hits"]] == ["alpha_helper"] and not found["pending"]


async def test_closing_stops_a_large_store_between_chunks_and_reopening_parses_the_rest(
    app_daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A workspace closed while its first index is being stored does not wait for (or outlive
    with) the whole store: it stops at the next chunk, and the next open parses what was not
    stored."""
    monkeypatch.setattr(saving, "SAVE_CHUNK_FILES", 2)
    writes: list[int] = []
    real_write = store.write

    def slow_write(*args: Any) -> Any:
        writes.append(1)
        threading.Event().wait(0.05)
        return real_write(*args)

    monkeypatch.setattr(store, "write", slow_write)
    files = {f"m{i}.py": f"def fn_{i}():\n    return {i}\n" for i in range(40)}
    ws = await _open_indexed(app_daemon, tmp_path / "p", files)
    await app_daemon.workspaces.close(str(ws.root))
    assert 0 < len(writes) < 20  # stopped before the 20 chunks
    monkeypatch.setattr(store, "write", real_write)
    again, _ = await app_daemon.workspaces.open(str(tmp_path / "p"))
    async with asyncio.timeout(30):
        while not service.is_ready(app_daemon, again.id):
            await asyncio.sleep(0.02)
    await service.flush(app_daemon, again.id)
    found = await app_daemon.dispatcher.call(
        "index.search", {"workspace": again.id, "query": "fn_"}
    )
    assert sorted(h["name"] for h in found["hits"]) == sorted(f"fn_{i}" for i in range(40))


async def test_closing_cuts_the_names_catch_up_short_and_keeps_what_was_stored(
    app_daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trigram index's catch-up after a large batch is not waited for by a close, which
    stops it (it kept a 50,000-file shutdown past its limit, queued behind other writes); the
    files are stored all the same, and the names past the mark are still found."""
    monkeypatch.setattr(saving, "SAVE_CHUNK_FILES", 5)
    steps: list[int] = []

    def endless(db: Any) -> int:
        steps.append(1)
        threading.Event().wait(1.5)  # a step stuck behind other writes
        return namestore.BULK_CATCH_UP  # "more to do", for ever

    monkeypatch.setattr(namestore, "catch_up", endless)
    files = {f"m{i}.py": f"def catch_{i}():\n    return {i}\n" for i in range(40)}
    ws = await _open_indexed(app_daemon, tmp_path / "p", files)
    async with asyncio.timeout(10):
        while not steps:
            await asyncio.sleep(0.01)
    async with asyncio.timeout(1):  # not waiting for the step in flight
        await app_daemon.workspaces.close(str(ws.root))
    monkeypatch.undo()
    again, _ = await app_daemon.workspaces.open(str(tmp_path / "p"))
    async with asyncio.timeout(30):
        while not service.is_ready(app_daemon, again.id):
            await asyncio.sleep(0.02)
    index = service.get(app_daemon).index(again.id)
    assert index.counters.loaded == 40 and index.counters.parsed == 0  # all had been stored
    found = await app_daemon.dispatcher.call(
        "index.search", {"workspace": again.id, "query": "atch"}
    )
    assert len(found["hits"]) == 40
