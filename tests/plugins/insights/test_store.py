from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import peewee
import pytest
from aegisd_insights import store
from aegisd_insights.evaluation import Change, row_of
from aegisd_insights.insight import Insight

from aegisd.store.migrations import run_migrations

CYCLE = Insight(
    key="import_cycle:a.py -> b.py -> a.py",
    kind="import_cycle",
    severity="medium",
    title="Import cycle through 2 files",
    detail="a.py -> b.py -> a.py.",
    paths=("a.py", "b.py"),
    metrics={"files": 2},
)
HOT = Insight(
    key="complexity_hotspot:c.py::run",
    kind="complexity_hotspot",
    severity="high",
    title="run has complexity 22",
    detail="...",
    paths=("c.py",),
    symbols=("run",),
    metrics={"complexity": 22, "line": 4},
)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[peewee.SqliteDatabase]:
    database = peewee.SqliteDatabase(str(tmp_path / "test.db"))
    database.connect()
    ran, failed = run_migrations(database, store.MIGRATIONS)
    assert (len(ran), failed) == (1, {})
    yield database
    database.close()


def _change(change: str, i: Insight, seen: store.Seen) -> Change:
    return Change(change, i.key, row_of(i), seen.clock, seen.at)


def test_changes_are_stored_and_recorded(db: peewee.SqliteDatabase) -> None:
    first = store.Seen(3, "t3")
    added = [_change("added", CYCLE, first), _change("added", HOT, first)]
    store.apply_rows(db, "ws", 3, "t3", added, keep=100)
    calmer = dataclasses.replace(HOT, severity="medium", metrics={"complexity": 12, "line": 4})
    changes = [_change("changed", calmer, first), Change("removed", CYCLE.key)]
    store.apply_rows(db, "ws", 5, "t5", changes, keep=100)
    assert store.load_current(db, "ws") == [(calmer, first)]
    assert store.load_current(db, "other") == []
    rows = store.history(db, "ws", None, 10)
    assert [(r.clock, r.change, r.key, r.severity) for r in rows] == [
        (5, "removed", CYCLE.key, "medium"),
        (5, "changed", HOT.key, "medium"),
        (3, "added", HOT.key, "high"),
        (3, "added", CYCLE.key, "medium"),
    ]
    assert [r.change for r in store.history(db, "ws", "import_cycle", 10)] == ["removed", "added"]
    assert len(store.history(db, "ws", None, 1)) == 1


def test_history_keeps_the_newest_rows(db: peewee.SqliteDatabase) -> None:
    seen = store.Seen(1, "t")
    for clock in range(1, 8):
        store.apply_rows(db, "ws", clock, "t", [_change("changed", HOT, seen)], keep=3)
    store.apply_rows(db, "other", 1, "t", [_change("added", HOT, seen)], keep=3)
    assert [r.clock for r in store.history(db, "ws", None, 10)] == [7, 6, 5]
    assert len(store.history(db, "other", None, 10)) == 1


def generation(prompt: str, clock: int) -> store.Generation:
    return store.Generation(
        id=0, created_at="t", trigger="request", model="m", focus="general", prompt_hash=prompt,
        inputs_clock=clock, send_source=False, content=f"answer {clock}", chunks=2,
        done_reason="stop", prompt_tokens=10, output_tokens=None, duration_ms=5,
    )  # fmt: skip


def test_generations_are_found_by_prompt_and_pruned(db: peewee.SqliteDatabase) -> None:
    assert store.latest_generation(db, "ws") is None
    saved = [store.save_generation(db, "ws", generation(p, c), keep=2) for c, p in enumerate("abc")]
    assert [g.id for g in saved] == [1, 2, 3]
    assert store.find_generation(db, "ws", "a") is None  # pruned: only two are kept
    found = store.find_generation(db, "ws", "b")
    assert found == dataclasses.replace(generation("b", 1), id=2)
    assert store.find_generation(db, "other", "b") is None
    latest = store.latest_generation(db, "ws")
    assert latest is not None and (latest.id, latest.content) == (3, "answer 2")
