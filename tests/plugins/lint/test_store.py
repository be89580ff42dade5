"""The result cache and run history in a real SQLite file."""

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import peewee
import pytest
from aegisd_lint import store
from aegisd_lint.issues import Issue, Severity, Totals
from aegisd_lint.state import FileResult, ToolState

from aegisd.store.migrations import run_migrations


@pytest.fixture
def db(tmp_path: Path) -> Iterator[peewee.SqliteDatabase]:
    database = peewee.SqliteDatabase(str(tmp_path / "aegisd.db"))
    _, failed = run_migrations(database, store.MIGRATIONS)
    assert failed == {}
    yield database
    database.close()


def _issue(path: str) -> Issue:
    return Issue(tool="pytest", code="FAILED", message="boom", severity=Severity.HIGH, path=path)


def test_results_and_tool_states_round_trip(db: peewee.SqliteDatabase) -> None:
    updates = {
        "tests/test_a.py": FileResult("k1", 7, [_issue("tests/test_a.py")], Totals(failed=1)),
        "tests/test_b.py": FileResult("k2", 7, []),
    }
    state = ToolState("error", "9.0", "TIMEOUT", "timed out", {"tests/test_c.py"})
    store.save_tool(db, "ws", "pytest", updates, [], state)
    store.save_tool(db, "other", "pytest", {"x.py": FileResult("k", 1)}, [], ToolState())
    results, last = store.load(db, "ws")
    # memory holds the tallies; the results are read back per query
    assert (results.files, +results.count("pytest")) == ({"pytest": 2}, Counter({Severity.HIGH: 1}))
    assert results.test_totals("pytest") == Totals(failed=1)
    assert store.keys(db, "ws", "pytest", ["tests/test_a.py", "gone.py"]) == {
        "tests/test_a.py": "k1"
    }
    assert results.tools == {"pytest": state}
    assert last is None
    store.save_tool(db, "ws", "pytest", {}, ["tests/test_b.py"], ToolState())
    dropped = store.drop_paths(db, "ws", ["tests/test_a.py", "nowhere.py"])
    assert {tool: paths for tool, (paths, _) in dropped.items()} == {"pytest": ["tests/test_a.py"]}
    results, _ = store.load(db, "ws")
    assert results.files == {} and results.tools["pytest"] == ToolState()
    assert store.load(db, "other")[0].files == {"pytest": 1}


def _row(run_id: int, clock: int = 1, trigger: str = "run") -> store.RunRow:
    return store.RunRow(run_id, trigger, clock, f"start {run_id}", f"end {run_id}", {"n": run_id})


def test_history_newest_first_and_run_ids(db: peewee.SqliteDatabase) -> None:
    assert store.last_run_id(db) == 0
    store.record_run(db, "ws", _row(1, 3, "open"))
    store.record_run(db, "ws", _row(2, 4, "change"))
    store.record_run(db, "other", _row(3))
    assert [(row.id, row.trigger, row.clock) for row in store.history(db, "ws", 10)] == [
        (2, "change", 4),
        (1, "open", 3),
    ]
    assert store.history(db, "ws", 1) == [_row(2, 4, "change")]
    assert store.load(db, "ws")[1] == 2
    # a run cut short left results but no record: its id is not handed out again
    store.save_tool(db, "ws", "ruff", {"a.py": FileResult("k", 9)}, [], ToolState())
    assert store.last_run_id(db) == 9


def test_history_keeps_a_bounded_number_of_runs(
    db: peewee.SqliteDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "HISTORY_KEPT", 3)
    store.record_run(db, "other", _row(1))
    for run_id in range(2, 7):
        store.record_run(db, "ws", _row(run_id))
    assert [row.id for row in store.history(db, "ws", 10)] == [6, 5, 4]
    assert [row.id for row in store.history(db, "other", 10)] == [1]


def test_history_lists_the_last_finished_run_first(db: peewee.SqliteDatabase) -> None:
    """A background run started before an edit's finishes after it: it is the newest."""
    store.record_run(db, "ws", store.RunRow(6, "change", 5, "t1", "2026-01-01T00:00:02.000Z", {}))
    store.record_run(db, "ws", store.RunRow(5, "open", 4, "t0", "2026-01-01T00:00:09.000Z", {}))
    assert [row.id for row in store.history(db, "ws", 10)] == [5, 6]
