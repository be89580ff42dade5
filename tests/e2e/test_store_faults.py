"""Faults under a real daemon: a write is either acknowledged and readable, or refused (with the
right code) and absent. A full disk, a database corrupted or deleted while running, a foreign
write lock and a payload too deep to read back."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from aegisd.client import RpcCallError, _UnixConnection
from tests.conftest import DaemonProcess, isolated_env

TEST_PLUGINS = {"AEGISD_PLUGINS__EXTRA": "aegisd_test_plugins"}
#: a short cool-down, so that the breaker lets a probe through soon after space is freed
FAST_BREAKER = {"AEGISD_STORE__BREAKER_COOLDOWN_S": "0.2"}


def get(d: DaemonProcess, path: str) -> tuple[int, bytes]:
    conn = _UnixConnection(d.socket, 10)
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


def refusal(d: DaemonProcess, method: str, params: Any) -> RpcCallError:
    with pytest.raises(RpcCallError) as info:
        d.call(method, params)
    return info.value


def faults_counted(d: DaemonProcess, kind: str) -> float:
    status, body = get(d, "/metrics")
    assert status == 200
    for family in text_string_to_metric_families(body.decode()):
        if family.name == "aegisd_store_faults":
            for sample in family.samples:
                if sample.name.endswith("_total") and sample.labels.get("kind") == kind:
                    return sample.value
    return 0.0


def status_text(d: DaemonProcess) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "aegisd", "status", "--socket", str(d.socket)],
        capture_output=True, text=True, env=isolated_env(d.socket.parent.parent), timeout=30,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def assert_degraded(d: DaemonProcess, words: str) -> None:
    health = d.call("daemon.health")
    assert health["status"] == "degraded"
    assert any(words in reason for reason in health["reasons"]), health
    status, body = get(d, "/health")
    assert status == 503 and json.loads(body)["status"] == "degraded"
    text = status_text(d)
    assert "degraded" in text.splitlines()[0] and words in text


def until(check: Callable[[], Any], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except RpcCallError as exc:
            if exc.code_name != "UNAVAILABLE":
                raise
            value = None
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def titles(d: DaemonProcess, run: int) -> list[str]:
    return [e["title"] for e in d.call("audit.list_events", {"run": run, "limit": 1000})["events"]]


def test_a_full_disk_refuses_writes_visibly_and_they_resume_when_space_returns(
    daemon_factory: Any,
) -> None:
    d: DaemonProcess = daemon_factory(env={**TEST_PLUGINS, **FAST_BREAKER})
    run = d.call("audit.start_run", {"name": "full", "capture": False})["id"]
    pages = d.call("test.store_pages", {})
    d.call("test.store_pages", {"max_pages": pages["page_count"]})  # the disk is now full
    acknowledged: list[str] = []
    error = None
    for n in range(200):
        try:
            d.call("audit.log_event", {"run": run, "type": "note", "title": f"e{n}",
                                       "detail": "x" * 16_000})  # fmt: skip
        except RpcCallError as exc:
            error = exc
            break
        acknowledged.append(f"e{n}")
    assert error is not None, "the capped database never filled up"
    assert error.code_name == "UNAVAILABLE"
    assert "full" in str(error) and error.error["data"]["fault"] == "disk_full"
    assert error.error["data"]["retry_after_ms"] > 0
    assert faults_counted(d, "disk_full") >= 1
    assert_degraded(d, "is full")
    # What was acknowledged is there; what was refused is not.
    until(lambda: titles(d, run) == acknowledged)

    until(lambda: d.call("test.store_pages", {"max_pages": 1_000_000}))  # space is back
    until(lambda: d.call("audit.log_event", {"run": run, "type": "note", "title": "again"}))
    assert d.call("daemon.health")["status"] == "ok"
    assert titles(d, run) == [*acknowledged, "again"]


def corrupt(db: Path) -> None:
    """Overwrite every page but the header's, as a failing disk or a stray writer would."""
    with sqlite3.connect(db) as con:
        # Everything into the main file; this also tells the daemon's connection (through the
        # shared WAL index) that its cached pages are stale, so it reads the file again.
        assert con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    con.close()
    size = db.stat().st_size
    with db.open("r+b") as fh:
        fh.seek(4096)
        fh.write(bytes(range(256)) * ((size - 4096) // 256))


def test_a_database_corrupted_while_running_is_unavailable_not_internal_error(
    daemon_factory: Any,
) -> None:
    d: DaemonProcess = daemon_factory()
    run = d.call("audit.start_run", {"name": "corrupt", "capture": False})["id"]
    for n in range(40):
        d.call(
            "audit.log_event", {"run": run, "type": "note", "title": f"e{n}", "detail": "x" * 2000}
        )
    corrupt(d.data_dir / "aegisd.db")
    error = refusal(d, "audit.log_event", {"run": run, "type": "note", "title": "after"})
    assert error.code_name == "UNAVAILABLE" and error.error["data"]["fault"] == "corrupt"
    assert "corrupted" in str(error) and "move the file away" in str(error)
    # Sticky: reads are refused too, the same way, and health says why until a restart.
    assert refusal(d, "audit.list_events", {"run": run}).code_name == "UNAVAILABLE"
    assert faults_counted(d, "corrupt") >= 1
    assert_degraded(d, "is corrupted")


def test_a_database_deleted_while_running_refuses_writes_instead_of_losing_them(
    daemon_factory: Any,
) -> None:
    d: DaemonProcess = daemon_factory()
    run = d.call("audit.start_run", {"name": "gone", "capture": False})["id"]
    d.call("audit.log_event", {"run": run, "type": "note", "title": "before"})
    (d.data_dir / "aegisd.db").unlink()
    error = refusal(d, "audit.log_event", {"run": run, "type": "note", "title": "after"})
    assert error.code_name == "UNAVAILABLE" and error.error["data"]["fault"] == "file_gone"
    assert "deleted or replaced" in str(error) and "restart aegisd" in str(error)
    assert refusal(d, "audit.start_run", {"name": "x"}).code_name == "UNAVAILABLE"
    assert faults_counted(d, "file_gone") >= 1
    assert_degraded(d, "was deleted or replaced")
    assert d.stop() == 0
    # A restart starts afresh, and nothing claimed stored is missing: nothing was claimed.
    again: DaemonProcess = daemon_factory()
    assert again.call("audit.list_runs", {})["runs"] == []
    assert again.call("daemon.health")["status"] == "ok"


def test_a_foreign_write_lock_is_waited_for_like_any_store_write(daemon_factory: Any) -> None:
    d: DaemonProcess = daemon_factory()
    run = d.call("audit.start_run", {"name": "locked", "capture": False})["id"]
    holder = sqlite3.connect(
        d.data_dir / "aegisd.db", timeout=10, isolation_level=None, check_same_thread=False
    )
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock for 2 s
    release = threading.Timer(2.0, holder.execute, ("COMMIT",))
    release.start()
    try:
        event = d.call("audit.log_event", {"run": run, "type": "note", "title": "waited"})
        ws = d.call("workspace.open", {"root": str(d.socket.parent.parent)})
        d.call(
            "settings.update",
            {"workspace": ws["workspace"]["id"], "settings": {"include_docstrings": False}},
        )
    finally:
        release.join()
        holder.close()
    assert titles(d, run) == ["waited"] and event["title"] == "waited"


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def test_settings_too_deep_to_read_back_are_refused_and_absent(daemon_factory: Any) -> None:
    """A plugin's free-form section took any depth: stored, then `settings.get` failed."""
    d: DaemonProcess = daemon_factory(env=TEST_PLUGINS)
    ws = d.call("workspace.open", {"root": str(d.socket.parent.parent)})["workspace"]["id"]
    d.call("settings.update", {"workspace": ws, "settings": {"test": {"data": nested(40)}}})
    before = d.call("settings.get", {"workspace": ws})["settings"]
    deep = {"test": {"data": nested(300)}}
    error = refusal(d, "settings.update", {"workspace": ws, "settings": deep})
    assert error.code_name == "INVALID_PARAMS" and "nested more than 64" in str(error)
    assert d.call("settings.get", {"workspace": ws})["settings"] == before
    assert d.call("daemon.health")["status"] == "ok"
