"""Search served from SQLite ranks exactly as the in-memory `SymbolSearch` does; the disk-backed
index reads files through its budgeted cache and never serves an out-of-date one."""

from __future__ import annotations

import os
import random
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import peewee
import pytest
from aegisd_codemap import namesearch, sqlsearch, store
from aegisd_codemap.index import WorkspaceIndex
from aegisd_codemap.model import FileExtract, Symbol, SyntaxIssue
from aegisd_codemap.readers import Readers
from aegisd_codemap.search import SymbolSearch

from aegisd.budget import MemoryBudget
from aegisd.store.migrations import run_migrations
from tests.plugins.codemap.test_search import ROWS

WS = "ws"
Row = tuple[int, str, str, str, str, bool]


def _symbol(name: str, qualname: str, kind: str, stub: bool, line: int) -> Symbol:
    decorators = ("overload",) if stub else ()
    return Symbol(name, qualname, kind, line, line, 0, None, None, decorators, None, 1, 1)


def _extracts(rows: list[Row]) -> list[FileExtract]:
    files: dict[str, FileExtract] = {}
    for _, name, qualname, kind, path, stub in rows:
        extract = files.setdefault(path, FileExtract(path=path, language="python"))
        extract.symbols.append(_symbol(name, qualname, kind, stub, len(extract.symbols) + 1))
    return list(files.values())


def _database(path: Path, rows: list[Row]) -> peewee.SqliteDatabase:
    db = peewee.SqliteDatabase(str(path), pragmas={"journal_mode": "wal"})
    db.connect()
    _, failed = run_migrations(db, store.MIGRATIONS)
    assert not failed
    store.save(db, WS, [(e, f"h-{i}", False) for i, e in enumerate(_extracts(rows))], [])
    return db


@pytest.fixture
def stored(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    db = _database(tmp_path / "a.db", ROWS)
    with closing(sqlite3.connect(tmp_path / "a.db")) as reader:
        yield reader
    db.close()


def _memory(rows: list[Row], query: str, **kw: object) -> list[tuple[str, str, str, str, float]]:
    # The rows as `_extracts` stores them: ids in file order, as rowids are.
    ordered = sorted(rows, key=lambda r: list(dict.fromkeys(x[4] for x in rows)).index(r[4]))
    ids = [(i, *row[1:]) for i, row in enumerate(ordered)]
    hits = SymbolSearch(ids).query(query, **kw)  # type: ignore[arg-type]
    return [(h.name, h.qualname, h.path, h.match, h.score) for h in hits]


def _stored(
    db: sqlite3.Connection, query: str, **kw: object
) -> list[tuple[str, str, str, str, float]]:
    hits = sqlsearch.search(db, WS, query, **kw)  # type: ignore[arg-type]
    return [(f.hit.name, f.hit.qualname, f.hit.path, f.hit.match, f.hit.score) for f in hits]


QUERIES = [
    ("gfs", {}),
    ("GFS", {}),
    ("GetFileSummary", {}),
    ("FileSum", {}),
    ("file_sum", {}),
    ("summ", {}),
    ("ilesum", {}),
    ("Reports.GetFileSummary", {}),
    ("Reports.unrelated", {}),
    ("Rep.get", {}),
    ("Run.go", {}),
    ("ports.Get", {}),
    ("Reports.", {}),
    ("Outer.Rep", {}),  # in a parent's name only (main found these as substrings)
    ("er.Reports", {}),
    ("reports.Outer", {}),  # module part, then a parent's name
    ("gfs", {"kind": "class"}),
    ("gfs", {"kind": "method"}),
    ("gfs", {"path_glob": "pkg/*"}),
    ("gfs", {"kind": "function", "path_glob": "pkg/deep/*"}),
    ("gfs", {"limit": 4}),
    ("_", {}),
    ("qqqq", {}),
    ("g", {"limit": 3}),
]


@pytest.mark.parametrize("how", ["trigrams", "scans", "names in memory"])
@pytest.mark.parametrize(("query", "kw"), QUERIES)
def test_the_store_ranks_as_the_memory_does(
    stored: sqlite3.Connection, query: str, kw: dict[str, object], how: str
) -> None:
    names = namesearch.Names() if how == "names in memory" else None
    got = _stored(stored, query, fts=how == "trigrams", names=names, **kw)
    assert got == _memory(ROWS, query, **kw)


def test_empty_queries_and_limits(stored: sqlite3.Connection) -> None:
    assert sqlsearch.search(stored, WS, "  ") == []
    assert sqlsearch.search(stored, WS, ".") == []
    assert sqlsearch.search(stored, WS, "gfs", limit=0) == []
    assert sqlsearch.search(stored, "another workspace", "gfs") == []


_PIECES = ["get", "set", "file", "sum", "http", "Response", "x", "io", "parse", "node", "2", "a"]


def _random_rows(rng: random.Random, count: int) -> list[Row]:
    rows: list[Row] = []
    dirs = ["pkg", "pkg/sub", "tests", "src/app", "lib/a/b", "fixtures"]
    for i in range(count):
        parts = [rng.choice(_PIECES) for _ in range(rng.randint(1, 3))]
        name = (
            rng.choice(["_", "", "__"]).join(parts)
            if rng.random() < 0.5
            else "".join(p[:1].upper() + p[1:] for p in parts)
        )
        path = f"{rng.choice(dirs)}/{rng.choice(['m', 'test_m', 'views', 'core'])}{i % 7}.py"
        parent = rng.choice(["", "", "Outer.", "Outer.Inner.", "Reports."])
        kind = rng.choice(["function", "method", "class", "enum"])
        rows.append((i, name, parent + name, kind, path, rng.random() < 0.1))
    return rows


def _fragment(rng: random.Random, qualname: str) -> str:
    """The qualified name, or a piece of it across a dot (``er.Inn`` of ``Outer.Inner.f``)."""
    dot = qualname.find(".")
    if dot < 0 or rng.random() < 0.5:
        return qualname
    return qualname[rng.randint(0, dot) : rng.randint(dot + 1, len(qualname))]


def _random_queries(rng: random.Random, rows: list[Row]) -> Iterator[tuple[str, dict[str, object]]]:
    for _ in range(100):
        name = rng.choice(rows)[1]
        kind = rng.random()
        query = (
            name if kind < 0.3 else name[: max(1, len(name) // 2)] if kind < 0.5
            else "".join(w[:1] for w in name.split("_")) if kind < 0.6
            else name[1:4] if kind < 0.7 else name + "zz" if kind < 0.8
            else _fragment(rng, rng.choice(rows)[2]) if kind < 0.9
            else "".join(rng.sample(name, min(3, len(name))))
        )  # fmt: skip
        extra: dict[str, object] = {"limit": rng.choice([1, 5, 50])}
        if rng.random() < 0.2:
            extra["kind"] = rng.choice(["function", "class"])
        if rng.random() < 0.2:
            extra["path_glob"] = rng.choice(["pkg/*", "*test*", "src/*"])
        if query.strip().strip("."):
            yield query, extra


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_workspaces_rank_the_same_in_store_and_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = random.Random(seed)
    rows = _random_rows(rng, 600)
    db = _database(tmp_path / "r.db", rows)
    try:
        with closing(sqlite3.connect(tmp_path / "r.db")) as reader:
            names = namesearch.Names()
            for query, kw in _random_queries(rng, rows):
                expected = _memory(rows, query, **kw)
                assert _stored(reader, query, fts=True, **kw) == expected, (query, kw)
                assert _stored(reader, query, names=names, **kw) == expected, (query, kw)
                # Many symbols per tier: read through the rank-order index instead.
                monkeypatch.setattr(sqlsearch, "FEW_SYMBOLS", 1)
                assert _stored(reader, query, fts=False, **kw) == expected, (query, kw)
                monkeypatch.undo()
    finally:
        db.close()


def test_unsaved_files_are_searched_in_place_of_their_stored_rows(
    stored: sqlite3.Connection,
) -> None:
    fresh = [_symbol("gfs_fresh", "gfs_fresh", "function", False, 1)]
    overlay = sqlsearch.Overlay({"a.py": fresh}, ["a.py", "b.py"])  # b.py was removed
    hits = sqlsearch.search(stored, WS, "gfs", overlay=overlay)
    found = [(f.hit.name, f.hit.path, f.hit.match) for f in hits]
    # gfsHelper (a.py) and config_gfs_loader (b.py) are gone; the unsaved name ranks in place.
    assert ("gfsHelper", "a.py", "prefix") not in found
    assert not any(path == "b.py" for _, path, _ in found)
    rows = [r for r in ROWS if r[4] not in ("a.py", "b.py")]
    rows.append((99, "gfs_fresh", "gfs_fresh", "function", "a.py", False))
    assert [(n, p, m) for n, _, p, m, _ in _memory(rows, "gfs")] == found


def test_ties_in_an_unsaved_file_rank_as_they_will_once_stored(
    stored: sqlite3.Connection,
) -> None:
    # overloads of one name: stored, equal ranks fall back to the rowid (the file's order);
    # unsaved, the stand-in ids must keep that order (they once counted down: 6 before 5)
    fresh = [_symbol("tie_of", "tie_of", "function", True, line) for line in (5, 6, 7)]
    overlay = sqlsearch.Overlay({"c.ts": fresh}, ["c.ts"])
    hits = sqlsearch.search(stored, WS, "tie_of", overlay=overlay)
    assert [f.line for f in hits] == [5, 6, 7]


def test_an_unsaved_file_with_a_non_utf8_name_is_not_found_twice(tmp_path: Path) -> None:
    bad = os.fsdecode(b"bad\xff.py")  # stored with a NUL escape, which json_each cuts short
    db = _database(tmp_path / "a.db", [(1, "weird_func", "weird_func", "function", bad, False)])
    fresh = [_symbol("weird_func", "weird_func", "function", False, 2)]
    overlay = sqlsearch.Overlay({bad: fresh}, [bad])
    with closing(sqlite3.connect(tmp_path / "a.db")) as reader:
        hits = sqlsearch.search(reader, WS, "weird_func", overlay=overlay)
    db.close()
    assert [(f.hit.path, f.line) for f in hits] == [(bad, 2)]


# -- the disk-backed index ----------------------------------------------------------------


def _index(
    tmp_path: Path, allowance: int = 1 << 20
) -> tuple[WorkspaceIndex, peewee.SqliteDatabase]:
    db = _database(tmp_path / "i.db", [])
    budget = MemoryBudget(64 << 20)
    budget.cache_allowance = allowance
    readers = Readers(tmp_path / "i.db")
    index = WorkspaceIndex(
        WS,
        readers,
        budget.cache("codemap.files", "codemap"),
        budget.cache("codemap.whole", "codemap"),
        budget.cache("codemap.names", "codemap"),
    )
    return index, db


def _file(path: str, *names: str, errors: bool = False) -> FileExtract:
    extract = FileExtract(path=path, language="python")
    extract.symbols = [_symbol(n, n, "function", False, i + 1) for i, n in enumerate(names)]
    if errors:
        extract.errors = [SyntaxIssue("invalid syntax", 1, 1)]
    return extract


def _store(db: peewee.SqliteDatabase, index: WorkspaceIndex, *extracts: FileExtract) -> None:
    updates = [(e, index.facts[e.path].hash, index.facts[e.path].stale) for e in extracts]
    store.save(db, WS, updates, [])
    index.stored(list(extracts), [])


def test_files_are_read_from_the_store_cached_and_evicted(tmp_path: Path) -> None:
    index, db = _index(tmp_path)
    try:
        for i in range(20):
            index.apply(_file(f"m{i}.py", f"f{i}", f"g{i}"), f"h{i}", None)
        assert len(index.unsaved) == 20
        _store(db, index, *[index.unsaved[f"m{i}.py"] for i in range(20)])  # type: ignore[misc]
        assert not index.unsaved and len(index.cache) == 0
        first = index.read("m3.py")
        assert first is not None and [s.name for s in first.symbols] == ["f3", "g3"]
        assert index.read("m3.py") is first  # cached
        index.cache.clear()  # evicted: read again, the same
        again = index.read("m3.py")
        assert again is not first and again == first
        assert index.read("nowhere.py") is None
        # A tiny allowance: entries come and go, answers stay right.
        index.cache._budget.cache_allowance = 2000  # two extracts
        for i in range(20):
            found = index.read(f"m{i}.py")
            assert found is not None and [s.name for s in found.symbols] == [f"f{i}", f"g{i}"]
        assert index.cache.bytes <= 2000 and index.cache.evictions > 0
        assert index.status()["files"] == 20 and index.status()["symbols"] == 40
    finally:
        index.readers.close()
        db.close()


def test_an_edit_is_never_answered_from_an_older_entry(tmp_path: Path) -> None:
    index, db = _index(tmp_path)
    try:
        index.apply(_file("a.py", "old_name"), "h1", None)
        _store(db, index, index.unsaved["a.py"])  # type: ignore[arg-type]
        assert [s.name for s in index.read("a.py").symbols] == ["old_name"]  # type: ignore[union-attr]
        # Applied, not stored yet: served from memory and searched in place of the store.
        index.apply(_file("a.py", "new_name"), "h2", None)
        assert [s.name for s in index.read("a.py").symbols] == ["new_name"]  # type: ignore[union-attr]
        assert [f.hit.name for f in index.search("name", None, None, 10)] == ["new_name"]
        _store(db, index, index.unsaved["a.py"])  # type: ignore[arg-type]
        assert [s.name for s in index.read("a.py").symbols] == ["new_name"]  # type: ignore[union-attr]
        assert [f.hit.name for f in index.search("name", None, None, 10)] == ["new_name"]
        assert index.names_missing  # searched in SQLite until they are read
        index.read_names()
        assert not index.names_missing and len(index.names) == 1
        assert [f.hit.name for f in index.search("nwnm", None, None, 10)] == ["new_name"]
        index.names.clear()  # evicted: searched in SQLite again, the same
        assert [f.hit.name for f in index.search("nam", None, None, 10)] == ["new_name"]
        assert [f.hit.name for f in index.search("nwnm", None, None, 10)] == ["new_name"]
        # A parse error keeps the last good outline, marked stale.
        broken = _file("a.py", errors=True)
        assert index.needs_previous(broken)
        kept, stale = index.apply(broken, "h3", index.read("a.py"))
        assert stale and [s.name for s in kept.symbols] == ["new_name"] and index.is_stale("a.py")
        # Removed, its delete not stored yet: not read, not found.
        assert index.remove("a.py")
        assert index.read("a.py") is None and index.search("name", None, None, 10) == []
        assert "a.py" not in index.files
    finally:
        index.readers.close()
        db.close()


def test_whole_workspace_reads_follow_edits_and_keep_unchanged_files(tmp_path: Path) -> None:
    index, db = _index(tmp_path)
    try:
        for i in range(3):
            index.apply(_file(f"m{i}.py", f"f{i}"), f"h{i}", None)
        _store(db, index, *[index.unsaved[f"m{i}.py"] for i in range(3)])  # type: ignore[misc]
        first = index.snapshot()
        assert {p: [s.name for s in e.symbols] for p, e in first.items()} == {
            "m0.py": ["f0"],
            "m1.py": ["f1"],
            "m2.py": ["f2"],
        }
        index.apply(_file("m1.py", "changed"), "h1b", None)
        assert [s.name for s in index.snapshot()["m1.py"].symbols] == ["changed"]  # unsaved
        _store(db, index, index.unsaved["m1.py"])  # type: ignore[arg-type]
        index.remove("m2.py")
        second = index.snapshot()
        assert second["m0.py"] is first["m0.py"]  # unchanged: the same object
        assert [s.name for s in second["m1.py"].symbols] == ["changed"] and "m2.py" not in second
        index.whole.clear()  # evicted: read whole again, the same
        again = index.snapshot()
        assert again == second and again["m0.py"] is not first["m0.py"]
        outlines = index.outlines()
        assert sorted(outlines) == ["m0.py", "m1.py"] and not outlines["m1.py"].symbols
    finally:
        index.readers.close()
        db.close()


class _Keep:
    """A `store.SymbolQuery`: names starting with "keep"."""

    sql, args = "name GLOB ?", ("keep*",)

    def __call__(self, symbol: Symbol) -> bool:
        return symbol.name.startswith("keep")


def test_selected_symbols_are_read_per_file_with_their_hash(tmp_path: Path) -> None:
    index, db = _index(tmp_path)
    bad = os.fsdecode(b"bad\xff.py")
    try:
        for i, path in enumerate(["m0.py", "m1.py", bad]):
            index.apply(_file(path, f"keep{i}", f"drop{i}"), f"h{i}", None)
        _store(db, index, *[index.unsaved[p] for p in ["m0.py", "m1.py", bad]])  # type: ignore[misc]
        index.apply(_file("m1.py", "drop", "keep_new"), "h1b", None)  # unsaved: from memory
        index.apply(_file("m3.py", "drop3"), "h3", None)
        everything = {
            p: (h, [s.name for s in found])
            for p, (h, found) in index.select_symbols(_Keep()).items()
        }
        assert everything == {
            "m0.py": ("h0", ["keep0"]),
            "m1.py": ("h1b", ["keep_new"]),
            bad: ("h2", ["keep2"]),
            "m3.py": ("h3", []),
        }
        some = index.select_symbols(_Keep(), [bad, "m1.py", "gone.py"])
        assert {p: [s.name for s in found] for p, (_, found) in some.items()} == {
            bad: ["keep2"],
            "m1.py": ["keep_new"],
        }
        entries = index.outline_entries()
        assert {p: h for p, (h, _) in entries.items()} == {
            "m0.py": "h0",
            "m1.py": "h1b",
            bad: "h2",
            "m3.py": "h3",
        }
    finally:
        index.readers.close()
        db.close()


def test_names_in_memory_take_in_names_stored_later(tmp_path: Path) -> None:
    db = _database(tmp_path / "n.db", ROWS)
    try:
        with closing(sqlite3.connect(tmp_path / "n.db")) as reader:
            names = namesearch.Names()
            assert ("xx_gfs_later", "substring") not in [
                (f.hit.name, f.hit.match) for f in sqlsearch.search(reader, WS, "gfs", names=names)
            ]
            later = FileExtract(path="later.py", language="python")
            later.symbols = [_symbol("xx_gfs_later", "xx_gfs_later", "function", False, 1)]
            store.save(db, WS, [(later, "h", False)], [])
            # Names are read again once a writer says it stored some (`index.stored` does).
            unseen = sqlsearch.search(reader, WS, "gfs", names=names)
            assert "xx_gfs_later" not in [f.hit.name for f in unseen]
            names.stale = True
            found = sqlsearch.search(reader, WS, "gfs", names=names)
            assert ("xx_gfs_later", "word") in [(f.hit.name, f.hit.match) for f in found]
            assert _stored(reader, "gfs", names=names) == _memory(
                [*ROWS, (99, "xx_gfs_later", "xx_gfs_later", "function", "later.py", False)], "gfs"
            )
    finally:
        db.close()


def test_a_database_of_the_previous_version_is_upgraded_in_place(tmp_path: Path) -> None:
    db = peewee.SqliteDatabase(str(tmp_path / "old.db"))
    db.connect()
    try:
        run_migrations(db, store.MIGRATIONS[:3])
        # Rows as the previous version wrote them (no rank columns, no names table).
        db.execute_sql(
            "INSERT INTO codemap_file VALUES"
            " ('ws', 'tests/test_a.py', 'h', 'python', 0, 3, 3, '[]', '[]', '[]', NULL, 0, ?)",
            (store.extractor_version("python"),),  # today's extractor: only the rows are old
        )
        for seq, (name, kind) in enumerate([("GetFileSummary", "class"), ("gfs", "function")]):
            db.execute_sql(
                "INSERT INTO codemap_symbol VALUES"
                " ('ws', 'tests/test_a.py', ?, ?, ?, ?, ?, ?, 0, NULL, NULL, '[]', NULL, 1, 1, 0, 0)",
                (seq, name, name, kind, seq + 1, seq + 1),
            )
        _, failed = run_migrations(db, store.MIGRATIONS)
        assert not failed
        facts = store.load_facts(db.execute_sql, "ws")
        assert facts["tests/test_a.py"] == store.Facts("h", "python", 2, 0, False)
        with closing(sqlite3.connect(tmp_path / "old.db")) as reader:
            found = [(f.hit.name, f.hit.match) for f in sqlsearch.search(reader, WS, "gfs")]
            assert found == [("gfs", "exact"), ("GetFileSummary", "word")]
            tests, plen = reader.execute(
                "SELECT DISTINCT tests, plen FROM codemap_symbol"
            ).fetchall()[0]
            assert (tests, plen) == (1, len("tests/test_a.py"))
    finally:
        db.close()


def test_few_grows_with_the_workspace_within_bounds() -> None:
    # A small workspace keeps the floor; a large one reads more by name before walking the
    # rank index (which passes over more rows per hit there); never past the cap.
    assert sqlsearch.few_symbols(0, 50) == sqlsearch.FEW_SYMBOLS
    assert sqlsearch.few_symbols(10_000, 50) == sqlsearch.FEW_SYMBOLS
    large = sqlsearch.few_symbols(2_200_000, 50)
    assert sqlsearch.FEW_SYMBOLS < large < sqlsearch.FEW_SYMBOLS_MAX
    assert sqlsearch.few_symbols(2_200_000, 5) < large
    assert sqlsearch.few_symbols(10**12, 500) == sqlsearch.FEW_SYMBOLS_MAX


def test_files_read_together_are_read_as_one_by_one(tmp_path: Path) -> None:
    db = _database(tmp_path / "many.db", ROWS)
    try:
        paths = [row[0] for row in db.execute_sql("SELECT path FROM codemap_file")]
        together = {e.path: (h, e) for h, e in store.read_extracts(db.execute_sql, WS, paths, 2)}
        assert len(together) == len(paths) > 2
        for path in paths:
            assert together[path] == store.read_extract(db.execute_sql, WS, path)
    finally:
        db.close()


def test_python_files_a_different_interpreter_parsed_are_parsed_again(tmp_path: Path) -> None:
    db = peewee.SqliteDatabase(str(tmp_path / "other.db"))
    db.connect()
    try:
        run_migrations(db, store.MIGRATIONS)
        here = store.extractor_version("python")
        rows = [
            ("same.py", "python", here),
            ("older.py", "python", here - 1),  # 3.(n-1): its grammar is not ours
            ("newer.py", "python", here + 1),
            ("before.py", "python", store.EXTRACTOR_VERSION),  # stored before this counted
            ("lib.c", "c", store.EXTRACTOR_VERSION),  # tree-sitter's grammar is ours
        ]
        for path, language, extractor in rows:
            db.execute_sql(
                "INSERT INTO codemap_file (workspace_id, path, hash, language, binary, lines,"
                " loc, errors, imports, classes, extractor)"
                " VALUES ('ws', ?, 'h', ?, 0, 1, 1, '[]', '[]', '[]', ?)",
                (path, language, extractor),
            )
        facts = store.load_facts(db.execute_sql, "ws")
        fresh = {path for path, fact in facts.items() if fact.hash}
        assert fresh == {"same.py", "lib.c"}
    finally:
        db.close()
