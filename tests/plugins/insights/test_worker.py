"""The insights worker: a real worker process evaluating from a real SQLite store gives what
the in-process evaluation of the same extracts gives; a worker killed mid-call costs that call
only; cancelling, closing or shutting down kills it at once."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import peewee
import pytest
from aegisd_codemap import store as codemap_store
from aegisd_codemap.extract import extract_file
from aegisd_codemap.model import FileExtract
from aegisd_insights import evaluation, gather, service, store
from aegisd_insights.inputs import CloneData, ClonePair, LintIssue
from aegisd_insights.insight import Insight, Thresholds
from aegisd_insights.stored import Unsaved
from aegisd_insights.worker import Evaluator, WorkerLost

from aegisd import workers
from aegisd.events import EventHub
from aegisd.store.database import Store
from aegisd.store.migrations import run_migrations
from aegisd.workspace import Workspace

WS = "w"


def branchy(name: str, branches: int) -> str:
    body = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(branches))
    return f"def {name}(x):\n{body}    return -1\n"


#: cycles (two and three files), hotspots at each severity, an oversized file, tested and
#: untested modules, a pattern class, JS beside Python
SOURCES = {
    "pkg/__init__.py": "",
    "pkg/a.py": "from pkg import b\n" + branchy("medium", 12),
    "pkg/b.py": "from pkg import a\n" + branchy("high", 25),
    "pkg/c.py": "from pkg import d\n",
    "pkg/d.py": "from pkg import e\n",
    "pkg/e.py": "from pkg import c\n" + branchy("critical", 45),
    "pkg/repo.py": "class UserRepository:\n    pass\n" + "x = 1\n" * 600,
    "pkg/huge.py": "y = 2\n" * 1200,
    "pkg/lonely.py": "z = 3\n" * 250,
    "tests/test_a.py": "from pkg import a\n\n\ndef test_a():\n    assert a\n",
    "web/app.js": "import { f } from './util.js';\nexport function g() { return f(); }\n",
    "web/util.js": "export function f() { return 1; }\n",
}
LINT = (LintIssue("pkg/b.py", "critical", "S602"), LintIssue("pkg/b.py", "high", "S603"))
CLONES = CloneData({"pkg/a.py": 0.6}, (ClonePair("pkg/a.py", 2, 9, "pkg/b.py", 2, 9, 0.9),))


def extracts(sources: dict[str, str]) -> dict[str, FileExtract]:
    return {path: extract_file(path, text.encode(), False) for path, text in sources.items()}


def digest(text: str) -> str:
    return f"h{hash(text) & 0xFFFFFFFF:x}"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[peewee.SqliteDatabase]:
    database = peewee.SqliteDatabase(str(tmp_path / "t.db"), pragmas={"journal_mode": "wal"})
    database.connect()
    for migrations in (codemap_store.MIGRATIONS, store.MIGRATIONS):
        _, failed = run_migrations(database, migrations)
        assert not failed
    yield database
    database.close()


@pytest.fixture(autouse=True)
async def no_servers_left() -> AsyncIterator[None]:
    """The forkserver the workers came from ends with the test (as at the daemon's stop)."""
    yield
    assert await asyncio.to_thread(workers.stop_servers)


@pytest.fixture
async def evaluator() -> AsyncIterator[Evaluator]:
    found = Evaluator()
    yield found
    found.kill()


def save(db: peewee.SqliteDatabase, sources: dict[str, str], removed: tuple[str, ...] = ()) -> None:
    updates = [(e, digest(sources[p]), False) for p, e in extracts(sources).items()]
    codemap_store.save(db, WS, updates, removed)


def job(db: peewee.SqliteDatabase, clock: int, **extra: Any) -> evaluation.Job:
    fields: dict[str, Any] = dict(
        db_path=Path(db.database), indexed=True, ws_id=WS, unsaved={}, lint=LINT, clones=CLONES,
        lint_totals={"pkg/b.py": 4}, thresholds=Thresholds(), package=None, clock=clock,
        at=f"t{clock}", top=40,
    )  # fmt: skip
    return evaluation.Job(**{**fields, **extra})


def in_process(sources: dict[str, str]) -> tuple[list[Insight], Any]:
    """What the daemon computed before the worker: `gather.evaluate` over the extracts."""
    return gather.evaluate(
        extracts(sources), LINT, CLONES, Thresholds(), None, None, {"pkg/b.py": 4}
    )


async def test_the_worker_evaluates_the_store_as_the_daemon_did_in_process(
    db: peewee.SqliteDatabase, evaluator: Evaluator
) -> None:
    save(db, SOURCES)
    found, stage = in_process(SOURCES)
    kinds = {i.kind for i in found}
    assert kinds >= {"import_cycle", "complexity_hotspot", "oversized_file", "lint_hotspot"}
    assert kinds >= {"duplication_hotspot", "untested_module"}
    first = await evaluator.run(evaluation.evaluate_job, job(db, 1))
    assert (first.stage, first.total, first.top) == (stage, len(found), tuple(found))
    assert [(c.change, c.key, c.row) for c in first.changes] == [
        ("added", i.key, evaluation.row_of(i)) for i in found
    ]
    store.apply_rows(db, WS, 1, "t1", first.changes, keep=100)

    # An edit stored, another applied but not stored yet, a file removed and not stored yet:
    # the same worker, incrementally, against what the code map holds.
    edited = {**SOURCES, "pkg/b.py": "from pkg import a\n" + branchy("high", 15)}
    save(db, {"pkg/b.py": edited["pkg/b.py"]})
    waiting = "from pkg import c\n" + branchy("critical", 45) + branchy("more", 30)
    edited["pkg/e.py"] = waiting
    del edited["pkg/lonely.py"]
    unsaved = {
        "pkg/e.py": Unsaved(digest(waiting), extracts({"pkg/e.py": waiting})["pkg/e.py"]),
        "pkg/lonely.py": Unsaved("", None),
    }
    again = await evaluator.run(evaluation.evaluate_job, job(db, 2, unsaved=unsaved))
    assert evaluator.calls == 2  # one worker: its memo made the second evaluation incremental
    found2, stage2 = in_process(edited)
    assert (again.stage, again.total, again.top) == (stage2, len(found2), tuple(found2))
    before = {i.key: i for i in found}
    expected = [
        *(("added", i.key) for i in found2 if i.key not in before),
        *(("changed", i.key) for i in found2 if i.key in before and before[i.key] != i),
        *(("removed", k) for k in before if k not in {i.key for i in found2}),
    ]
    assert [(c.change, c.key) for c in again.changes] == expected
    assert ("removed", "untested_module:pkg/lonely.py") in expected
    assert any(c == ("added", "complexity_hotspot:pkg/e.py::more") for c in expected)
    store.apply_rows(db, WS, 2, "t2", again.changes, keep=100)
    stored = sorted((i for i, _ in store.load_current(db, WS)), key=lambda i: i.key)
    assert stored == sorted(found2, key=lambda i: i.key)


async def test_a_new_worker_starts_from_the_memo_the_last_one_saved(
    db: peewee.SqliteDatabase, evaluator: Evaluator, tmp_path: Path
) -> None:
    memo = tmp_path / "insights" / "w.memo"
    save(db, SOURCES)
    first = await evaluator.run(evaluation.evaluate_job, job(db, 1, memo_path=memo))
    assert first.read == len(SOURCES)
    store.apply_rows(db, WS, 1, "t1", first.changes, keep=100)
    assert await evaluator.run(evaluation.save_memo, WS, memo)
    assert memo.stat().st_mode & 0o777 == 0o600
    evaluator.retire()
    edited = {**SOURCES, "pkg/lonely.py": "z = 3\n" * 260}
    save(db, {"pkg/lonely.py": edited["pkg/lonely.py"]})
    again = await evaluator.run(evaluation.evaluate_job, job(db, 2, memo_path=memo))
    assert evaluator.calls == 1  # a new worker, which read the edited file alone
    assert again.read == 1 and not again.recycle
    found, stage = in_process(edited)
    assert (again.stage, again.total, again.top) == (stage, len(found), tuple(found))
    assert [(c.change, c.key) for c in again.changes] == [
        ("changed", "untested_module:pkg/lonely.py")
    ]
    store.apply_rows(db, WS, 2, "t2", again.changes, keep=100)
    # A memo of another shape (an older daemon's) is no memo: everything is read again.
    memo.write_bytes(b"not a pickle")
    evaluator.retire()
    third = await evaluator.run(evaluation.evaluate_job, job(db, 3, memo_path=memo))
    assert third.read == len(SOURCES) and third.changes == ()


async def test_a_worker_killed_mid_call_costs_that_call_only(
    db: peewee.SqliteDatabase, evaluator: Evaluator
) -> None:
    save(db, SOURCES)
    first = await evaluator.run(evaluation.evaluate_job, job(db, 1))
    store.apply_rows(db, WS, 1, "t1", first.changes, keep=100)
    busy = asyncio.ensure_future(evaluator.run(time.sleep, 3600))
    while not evaluator.pids():
        await asyncio.sleep(0.01)
    [pid] = evaluator.pids()
    os.kill(pid, 9)  # the OOM killer, say
    with pytest.raises(WorkerLost):
        await busy
    # A new worker, with nothing of its own: it reads the stored set, which nothing lost.
    again = await evaluator.run(evaluation.evaluate_job, job(db, 2))
    assert evaluator.calls == 1 and again.changes == () and again.total == first.total


async def test_cancelling_a_call_kills_the_worker(evaluator: Evaluator) -> None:
    busy = asyncio.ensure_future(evaluator.run(time.sleep, 3600))
    while not evaluator.pids():
        await asyncio.sleep(0.01)
    [pid] = evaluator.pids()
    busy.cancel()
    with pytest.raises(asyncio.CancelledError):
        await busy
    assert not evaluator.running
    assert await _gone(pid)


async def test_a_stop_during_a_submission_kills_the_worker_it_forks(evaluator: Evaluator) -> None:
    """Stopped while its submission is still going on in a thread (forking the worker), the
    worker is killed once it is in, and its pool is stopped with it: nothing is left behind
    (no process, and no semaphore for the resource tracker to find gone)."""
    busy = asyncio.ensure_future(evaluator.run(time.sleep, 3600))
    await asyncio.sleep(0)  # the submission is on its way
    await evaluator.stop()
    assert not evaluator.running
    with pytest.raises(WorkerLost):
        await busy


async def _gone(pid: int) -> bool:
    """Dead (killed, maybe not reaped yet by its pool's manager thread)."""
    for _ in range(500):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return True
        except OSError:  # gone (reaped) meanwhile
            return True
        await asyncio.sleep(0.01)
    return False


@pytest.mark.parametrize("how", ["shutdown", "closed"])
async def test_stopping_during_an_evaluation_kills_the_worker(how: str) -> None:
    """The evaluation (here an endless call in the worker) ends with the stop, not after it:
    the stop returns although the worker would have run for an hour."""
    daemon = cast(Any, SimpleNamespace(state={}))
    daemon.state[service.INSIGHTS] = state = service.Insights()
    ws = cast(Workspace, SimpleNamespace(id="w", settings=SimpleNamespace()))
    wi = state.workspaces["w"] = service.WorkspaceInsights(ws, 0)

    async def evaluating() -> None:
        await wi.evaluator.run(time.sleep, 3600)

    wi.task = asyncio.ensure_future(evaluating())
    while not wi.evaluator.pids():
        await asyncio.sleep(0.01)
    [pid] = wi.evaluator.pids()
    if how == "shutdown":
        await service.shutdown(daemon)
    else:
        await service.closed(daemon, ws)
    assert wi.task.done() and not state.workspaces
    assert not wi.evaluator.running and await _gone(pid)


class _InProcess(Evaluator):
    """Runs the worker's functions here (the paging is what is tested)."""

    async def run(self, fn: Any, *args: Any) -> Any:
        return fn(*args)


def _insight(n: int, severity: str = "low") -> Insight:
    return Insight(
        key=f"oversized_file:f{n}.py", kind="oversized_file", severity=severity,
        title=f"f{n}.py is long", detail="...", paths=(f"f{n}.py",), metrics={"lines": 900 + n},
    )  # fmt: skip


async def test_changes_are_stored_and_published_page_by_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(evaluation, "PAGE", 2)
    db = Store(tmp_path / "t.db")
    await db.open()
    await db.run(run_migrations, db.db, store.MIGRATIONS)
    published: list[dict[str, Any]] = []
    events = EventHub()
    events.publish = lambda topic, params, **_: published.append(params)  # type: ignore[method-assign]
    daemon = cast(Any, SimpleNamespace(store=db, events=events))
    ws = cast(Workspace, SimpleNamespace(id="w", settings=SimpleNamespace()))
    wi = service.WorkspaceInsights(ws, 0, evaluator=_InProcess())
    evaluation.forget("w")
    state = evaluation._WORKSPACES.setdefault("w", evaluation._Workspace())
    state.stored = evaluation._Stored()

    async def apply(found: list[Insight], clock: int) -> None:
        pages = evaluation._pages(evaluation._diff(cast(Any, state.stored), found, clock, "t"))
        first = next(pages, ())
        state.pages = pages
        outcome = evaluation.Outcome(cast(Any, None), (), len(found), first, len(first) == 2)
        await service._apply(daemon, wi, outcome, clock, "t")

    first = [_insight(n) for n in range(3)]
    await apply(first, 1)
    second = [dataclasses.replace(first[0], severity="high"), first[1], _insight(7)]
    await apply(second, 2)
    await apply(list(second), 3)  # nothing new: nothing published
    assert [(p["clock"], len(p["added"]), len(p["changed"]), p["removed"]) for p in published] == [
        (1, 2, 0, []), (1, 1, 0, []), (2, 1, 1, []), (2, 0, 0, [first[2].key]),
    ]  # fmt: skip
    assert published[2]["changed"][0]["first_seen_clock"] == 1
    listed = await db.run(store.page, db.db, "w", None, 10)
    assert [i.key for i, _ in listed] == [second[0].key, second[1].key, second[2].key]
    assert [s.clock for _, s in listed] == [1, 1, 2]
    assert await db.run(store.tally, db.db, "w", None) == {"high": 1, "low": 2}
    rows = await db.run(store.history, db.db, "w", None, 10)
    assert [(r.clock, r.change) for r in rows][:3] == [(2, "removed"), (2, "changed"), (2, "added")]

    # A page that fails to be stored: the worker is told to read the stored set again.
    def failing(*args: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(store, "apply_rows", failing)
    with pytest.raises(OSError):
        await apply([_insight(9)], 4)
    assert wi.resync
    await db.close()
    evaluation.forget("w")
