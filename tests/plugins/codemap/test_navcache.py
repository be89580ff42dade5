"""Navigation's caches: namespaces read from the store as rows equal those built from whole
extracts; read ahead, kept per content hash; resolutions kept per index version."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
from aegisd_codemap import navcache
from aegisd_codemap.index import WorkspaceIndex
from aegisd_codemap.model import FileExtract
from aegisd_codemap.navigate import Navigator
from aegisd_codemap.navresolve import SYM, _names, row_symbol

from tests.plugins.codemap.helpers import extract_project
from tests.plugins.codemap.test_sqlsearch import _index, _store


def _comparable(names: object) -> dict[str, object]:
    found = dict(vars(names))
    # a stored row stands for the symbol's outline fields: compare those
    found["symbols"] = {
        q: (s if not isinstance(s, tuple) else row_symbol(s)) for q, s in found["symbols"].items()
    }
    for qualname, symbol in found["symbols"].items():
        found["symbols"][qualname] = (
            symbol.name, symbol.qualname, symbol.kind, symbol.line, symbol.end_line,
            symbol.column, symbol.parent, symbol.signature, symbol.is_async,
        )  # fmt: skip
    return found


def test_stored_namespaces_equal_those_of_whole_extracts_and_follow_edits(tmp_path: Path) -> None:
    project = extract_project("navproj")
    index, db = _index(tmp_path)
    try:
        for i, extract in enumerate(project.values()):
            index.apply(extract, f"h{i}", None)
        _store(db, index, *[e for e in index.unsaved.values() if e is not None])
        python = [p for p, e in project.items() if e.language == "python"]
        assert navcache.warm(index) == len(python)  # each read from the store
        assert navcache.warm(index) == 0  # and kept
        for path in python:
            kept = navcache.namespaces(index, [path])[path]
            assert _comparable(kept) == _comparable(_names(project[path])), path
        # An edit: the file's new content is answered, never its older namespace.
        path = "app/core/helpers.py"
        edited = FileExtract(path=path, language="python", symbols=[], imports=[])
        index.apply(edited, "edited", None)
        assert navcache.namespaces(index, [path])[path].top == {}  # type: ignore[union-attr]
        assert navcache.namespaces(index, ["nowhere.py"]) == {"nowhere.py": None}
    finally:
        index.readers.close()
        db.close()


def test_resolutions_are_kept_for_one_version_of_the_index(tmp_path: Path) -> None:
    project = extract_project("navproj")
    index, db = _index(tmp_path)
    try:
        for i, extract in enumerate(project.values()):
            index.apply(extract, f"h{i}", None)
        _store(db, index, *[e for e in index.unsaved.values() if e is not None])
        first = Navigator(index).resolver.resolve("app/main.py", "i:0:app.core.helpers:shout")
        assert first.symbols == [("app/core/helpers.py", "shout")] and first.values[0].kind == SYM
        kept = navcache.resolved(index)
        assert ("app/main.py", "i:0:app.core.helpers:shout") in kept
        assert navcache.resolved(index) is kept  # the next request shares it
        index.remove("app/core/helpers.py")
        assert navcache.resolved(index) == {}  # a change: a fresh memo
        gone = Navigator(index).resolver.resolve("app/main.py", "i:0:app.core.helpers:shout")
        assert gone.symbols == []
    finally:
        index.readers.close()
        db.close()


def _deep_size(value: object, seen: set[int]) -> int:
    if id(value) in seen:
        return 0
    seen.add(id(value))
    size = sys.getsizeof(value)
    if isinstance(value, dict):
        size += sum(_deep_size(k, seen) + _deep_size(v, seen) for k, v in value.items())
    elif isinstance(value, list | tuple | set | frozenset):
        size += sum(_deep_size(item, seen) for item in value)
    elif hasattr(value, "__dict__"):
        size += _deep_size(vars(value), seen)
    return size


@contextmanager
def _stored_navproj(tmp_path: Path, allowance: int) -> Iterator[tuple[WorkspaceIndex, list[str]]]:
    """The navproj fixture applied and stored, under a cache allowance; its Python files."""
    project = extract_project("navproj")
    index, db = _index(tmp_path, allowance=allowance)
    try:
        for i, extract in enumerate(project.values()):
            index.apply(extract, f"h{i}", None)
        _store(db, index, *[e for e in index.unsaved.values() if e is not None])
        yield index, [p for p, e in project.items() if e.language == "python"]
    finally:
        index.readers.close()
        db.close()


def test_a_namespace_is_charged_about_what_it_holds(tmp_path: Path) -> None:
    # Namespaces counted 3.7x under their size let the cache hold 217 MiB while the budget
    # saw 59: over budget with nothing to evict.
    with _stored_navproj(tmp_path, 64 << 20) as (index, python):
        loaded = navcache.namespaces(index, python)
        charged = sum(n.size() for n in loaded.values() if n is not None)
        held = sum(_deep_size(n, set()) for n in loaded.values() if n is not None)
        assert 0.6 * held <= charged <= 2 * held, (charged, held)


def test_reading_ahead_stops_when_the_caches_are_full(tmp_path: Path) -> None:
    with _stored_navproj(tmp_path, 1 << 20) as (index, python):
        # As if the other caches held nearly all the allowance already.
        index.whole.put("filler", b"", size=int(0.9 * (1 << 20)))
        assert navcache.warm(index) == 0
        index.whole.pop("filler")
        assert navcache.warm(index) == len(python)


async def test_namespaces_are_not_read_ahead_once_the_workspace_is_large(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    warmed: list[str] = []
    monkeypatch.setattr(navcache, "warm", lambda index: warmed.append(index.ws_id) or 1)
    ready = asyncio.Event()
    ready.set()
    small, grown = SimpleNamespace(ws_id="small"), SimpleNamespace(ws_id="grown")
    await navcache.warm_up(lambda: small, ready, lambda: False)  # type: ignore[arg-type,return-value]
    assert warmed == ["small", "small"]  # as loaded, then what the first sync changed
    grows = iter([False, True])  # a first index finds 50k files: large once it knows them
    await navcache.warm_up(lambda: grown, ready, lambda: next(grows))  # type: ignore[arg-type,return-value]
    assert warmed == ["small", "small", "grown"]
