import json
from pathlib import Path
from typing import Any

import peewee
import pytest
from aegisd_audit import store
from aegisd_audit.redact import REDACTED
from aegisd_audit.replay import apply, plan
from aegisd_audit.spool import SPOOL_FILENAME, SpoolReader, SpoolWriter

from aegisd.store.faults import classify

ROOT = Path(__file__).resolve().parents[3]
FIXTURE = ROOT / "tests" / "fixtures" / "audit" / "agent-hook-payloads.jsonl"
PAYLOADS: list[dict[str, Any]] = [json.loads(line) for line in FIXTURE.read_text().splitlines()]


def spool_all(path: Path, payloads: list[dict[str, Any]]) -> None:
    writer = SpoolWriter(path)
    for payload in payloads:
        writer.append(payload)


def events(db: peewee.SqliteDatabase) -> list[tuple[Any, ...]]:
    return db.execute_sql(
        "SELECT r.external_id, r.status, e.type, e.title, e.created_at FROM audit_event e"
        " JOIN audit_run r ON r.id = e.run_id ORDER BY e.id"
    ).fetchall()


def test_a_spooled_session_replays_into_one_run_in_order(
    db: peewee.SqliteDatabase, tmp_path: Path
) -> None:
    spool = tmp_path / SPOOL_FILENAME
    spool_all(spool, PAYLOADS)
    reader = SpoolReader(spool)
    entries = reader.read_pending()
    planned = [plan(entry) for entry in entries]
    assert planned[0].run.root == "/home/dev/shop" and planned[0].run.workspace_id is None
    assert planned[0].run.created_at is not None and planned[0].run.created_at.endswith("Z")
    assert [p.end for p in planned] == [False] * 15 + [True]
    assert apply(db, planned) == 16
    rows = events(db)
    assert len(rows) == 16
    assert {(r[0], r[1]) for r in rows} == {
        ("claude-code:5f0c2a7e-1b9d-4c1e-9a57-3e2d8f6b0c11", "closed")
    }
    assert [r[2] for r in rows][:3] == ["session", "note", "tool_call"]
    assert [r[4] for r in rows] == sorted(r[4] for r in rows)  # timed when spooled
    assert any(f"API_TOKEN={REDACTED}" in r[3] for r in rows)
    assert "sk-live" not in json.dumps(rows)
    # Applying the same entries again (a crash before the spool files were deleted) adds nothing.
    assert apply(db, planned) == 0
    assert len(events(db)) == 16
    reader.finish()
    store.forget_spool_ids(db)
    assert SpoolReader(spool).read_pending() == []


def test_replay_interrupted_halfway_resumes_without_duplicates(
    db: peewee.SqliteDatabase, tmp_path: Path
) -> None:
    spool = tmp_path / SPOOL_FILENAME
    spool_all(spool, PAYLOADS[:10])
    first = SpoolReader(spool)
    planned = [plan(e) for e in first.read_pending()]
    assert apply(db, planned[:4]) == 4  # the daemon dies here: files claimed, not finished
    spool_all(spool, PAYLOADS[10:])  # the hook spools more while no daemon runs
    second = SpoolReader(spool)
    entries = second.read_pending()
    assert len(entries) == 16  # the claimed file and the new spool, oldest first
    assert apply(db, [plan(e) for e in entries]) == 12
    rows = events(db)
    assert len(rows) == 16 and rows[-1][1] == "closed"
    titles = [r[3] for r in rows]
    assert titles[0] == "Session started (startup)" and titles[-1].startswith("Session ended")


def test_a_database_failure_stops_the_replay_so_the_spool_is_kept(
    db: peewee.SqliteDatabase, tmp_path: Path
) -> None:
    """A failing database used to skip the entry (logged), and the spool was deleted after:
    the payload was lost. The failure now stops the replay, before the spool is finished."""
    spool = tmp_path / SPOOL_FILENAME
    spool_all(spool, PAYLOADS[:3])
    entries = SpoolReader(spool).read_pending()
    (pages,) = db.execute_sql("PRAGMA page_count").fetchone()
    db.execute_sql(f"PRAGMA max_page_count = {pages}")  # a full disk
    big = {**entries[1].payload, "prompt": "x" * 100_000}
    planned = [plan(entries[0]), plan(entries[1]._replace(payload=big))]
    with pytest.raises(peewee.OperationalError) as info:
        apply(db, planned)
    fault = classify(info.value, tmp_path)
    assert fault is not None and fault.kind == "disk_full"
    db.execute_sql("PRAGMA max_page_count = 1000000")
    # The spool is still there: the next start applies the rest, the first entry only once.
    assert apply(db, [plan(e) for e in SpoolReader(spool).read_pending()]) == 2
    assert len(events(db)) == 3
