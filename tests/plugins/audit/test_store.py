import json

import peewee
import pytest
from aegisd_audit import store

from aegisd.rpc.errors import Conflict, InvalidParams, NotFound


def run(name: str = "r", external_id: str | None = None, **kw: object) -> store.NewRun:
    fields: dict[str, object] = {
        "name": name, "actor": "agent", "workspace_id": None, "root": None,
        "external_id": external_id, "notes": None, "capture": True,
    }  # fmt: skip
    fields.update(kw)
    return store.NewRun(**fields)  # type: ignore[arg-type]


def event(title: str = "t", type_: str = "note", **kw: object) -> store.NewEvent:
    fields: dict[str, object] = {
        "type": type_, "title": title, "detail": None, "actor": "agent", "phase": None,
        "status": "ok", "ref": None, "payload": None, "truncated": False,
    }  # fmt: skip
    fields.update(kw)
    return store.NewEvent(**fields)  # type: ignore[arg-type]


def test_start_run_ensures_by_external_id_while_open(db: peewee.SqliteDatabase) -> None:
    first, created = store.start_run(db, run(external_id="claude-code:s1"))
    assert created and first["status"] == "open" and first["event_count"] == 0
    again, created = store.start_run(db, run("other name", external_id="claude-code:s1"))
    assert (again["id"], created, again["name"]) == (first["id"], False, "r")
    other, created = store.start_run(db, run(external_id="claude-code:s2"))
    assert created and other["id"] != first["id"]
    store.end_run(db, first["id"], "closed", None)
    after_end, created = store.start_run(db, run(external_id="claude-code:s1"))
    assert created and after_end["id"] not in (first["id"], other["id"])


def test_events_count_and_errors(db: peewee.SqliteDatabase) -> None:
    r, _ = store.start_run(db, run(workspace_id="ws1"))
    stored, ws_id = store.insert_event(db, r["id"], event(payload={"k": [1, "é"]}))
    assert ws_id == "ws1"
    assert stored["payload"] == {"k": [1, "é"]} and stored["run"] == r["id"]
    assert store.get_run(db, r["id"])["event_count"] == 1
    ended = store.end_run(db, r["id"], "failed", "it broke")
    assert (ended["status"], ended["notes"]) == ("failed", "it broke") and ended["closed_at"]
    with pytest.raises(Conflict):
        store.insert_event(db, r["id"], event())
    with pytest.raises(Conflict):
        store.end_run(db, r["id"], "closed", None)
    for call in (
        lambda: store.insert_event(db, 999, event()),
        lambda: store.end_run(db, 999, "closed", None),
        lambda: store.get_run(db, 999),
        lambda: store.list_events(db, 999, None, None, 10),
        lambda: store.lint_snapshots(db, 999),
    ):
        with pytest.raises(NotFound):
            call()


def test_list_events_pages_and_filters(db: peewee.SqliteDatabase) -> None:
    r, _ = store.start_run(db, run())
    ids = [store.insert_event(db, r["id"], event(f"e{i}", "note" if i % 2 else "command"))[0]["id"]
           for i in range(7)]  # fmt: skip
    page = store.list_events(db, r["id"], None, None, 3)
    assert [e["id"] for e in page] == ids[:3]
    page = store.list_events(db, r["id"], page[-1]["id"], None, 3)
    assert [e["id"] for e in page] == ids[3:6]
    notes = store.list_events(db, r["id"], None, ["note"], 100)
    assert [e["title"] for e in notes] == ["e1", "e3", "e5"]
    assert store.event_types(db, r["id"]) == {"command": 4, "note": 3}


def test_list_runs_filters(db: peewee.SqliteDatabase) -> None:
    store.start_run(db, run("a", workspace_id="w1", root="/p"))
    b, _ = store.start_run(db, run("b", root="/p/sub"))
    c, _ = store.start_run(db, run("c", root="/px"))
    store.end_run(db, b["id"], "failed", None)
    store.end_run(db, c["id"], "closed", None)

    def names(**kw: object) -> list[str]:
        args = {"scope": None, "status": None, "external_id": None, "before_id": None, "limit": 50}
        args.update(kw)
        return [r["name"] for r in store.list_runs(db, **args)]  # type: ignore[arg-type]

    assert names() == ["c", "b", "a"]
    assert names(scope=("w1", "/p")) == ["b", "a"]  # /px is not under /p
    assert names(status="open") == ["a"]
    assert names(status="closed") == ["c", "b"]
    assert names(status="failed") == ["b"]
    assert names(before_id=c["id"], limit=1) == ["b"]


def test_adopt_runs_and_prune(db: peewee.SqliteDatabase) -> None:
    inside, _ = store.start_run(db, run(root="/p/sub"))
    elsewhere, _ = store.start_run(db, run(root="/q"))
    off, _ = store.start_run(db, run(root="/p", capture=False))
    assert store.adopt_runs(db, "w1", "/p") == [(inside["id"], True), (off["id"], False)]
    assert store.get_run(db, elsewhere["id"])["workspace"] is None
    store.insert_event(db, inside["id"], event())
    assert set(store.run_workspaces(db)) == {"w1", None}
    assert store.prune(db, "w1", "2000-01-01T00:00:00.000Z") == []
    assert sorted(store.prune(db, "w1", "9999-01-01T00:00:00.000Z")) == [inside["id"], off["id"]]
    assert db.execute_sql("SELECT count(*) FROM audit_event").fetchone()[0] == 0
    assert [r["id"] for r in store.list_runs(db, None, None, None, None, 10)] == [elsewhere["id"]]


def test_spool_ids(db: peewee.SqliteDatabase) -> None:
    assert not store.spool_done(db, "abc")
    store.mark_spool_done(db, "abc")
    assert store.spool_done(db, "abc")
    store.forget_spool_ids(db)
    assert not store.spool_done(db, "abc")


def test_a_payload_stored_too_deep_by_an_older_version_is_served_cut(
    db: peewee.SqliteDatabase,
) -> None:
    """Such a row made every later `audit.list_events` of its run fail; it now reads back as
    its JSON text, cut and marked truncated, and the run's other events as they were."""
    r, _ = store.start_run(db, run())
    store.insert_event(db, r["id"], event("before", payload={"k": 1}))
    deep = '{"a": ' * 300 + "1" + "}" * 300
    db.execute_sql(
        "INSERT INTO audit_event (run_id, type, title, actor, status, payload, truncated,"
        " created_at) VALUES (?, 'note', 'deep', 'agent', 'ok', ?, 0, '2024-01-01T00:00:00Z')",
        (r["id"], deep),
    )
    before, old = store.list_events(db, r["id"], None, None, 10)
    assert before["payload"] == {"k": 1} and not before["truncated"]
    assert old["truncated"] and old["payload"]["truncated_json"] == deep
    with pytest.raises(InvalidParams):  # nothing that deep is written any more
        store.insert_event(db, r["id"], event("again", payload=json.loads(deep)))
