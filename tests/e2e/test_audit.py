"""The audit trail through a real daemon: methods and errors, durability under kill -9,
concurrent writers, redaction, automatic capture, `aegisd audit exec` and the agent hook."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from wsclient import WsClient

from aegisd.client import Client, RpcCallError
from tests.conftest import REPO, DaemonProcess, isolated_env, start_daemon

HOOK_PAYLOADS = [
    json.loads(line)
    for line in (REPO / "tests/fixtures/audit/agent-hook-payloads.jsonl").read_text().splitlines()
]
LINT_PLUGINS = [
    f"aegisd_lint.{name}"
    for name in ("hooks", "ruff", "mypy", "bandit", "pytest", "max_file_length")
]
SESSION = "claude-code:5f0c2a7e-1b9d-4c1e-9a57-3e2d8f6b0c11"
HOOK_TYPES = [
    "session", "note", "tool_call", "tool_call", "tool_call", "tool_call", "tool_call",
    "tool_call", "command", "command_result", "command_result", "note", "note", "note", "phase",
    "session",
]  # fmt: skip


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("audit") / "project"
    root.mkdir()
    (root / "a.py").write_text("x = 1\ny = 2\n")
    (root / "b.txt").write_text("bye\n")
    return root.resolve()


@pytest.fixture(scope="module")
def d(project: Path) -> Iterator[DaemonProcess]:
    daemon = start_daemon(project.parent, "--root", str(project))
    yield daemon
    daemon.stop(signal.SIGKILL)


def error_code(d: DaemonProcess, method: str, params: dict[str, Any]) -> str:
    with pytest.raises(RpcCallError) as info:
        d.call(method, params)
    return info.value.code_name


def code_or_none(d: DaemonProcess, method: str, params: dict[str, Any]) -> str | None:
    """The error code of the call, None when it succeeds."""
    try:
        d.call(method, params)
    except RpcCallError as exc:
        return exc.code_name
    return None


def all_events(d: DaemonProcess, run: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    after = None
    while True:
        page = d.call("audit.list_events", {"run": run, "after_id": after, "limit": 1000})
        events += page["events"]
        after = page["next_after_id"]
        if after is None:
            return events


def wait_until(check: Callable[[], Any], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return value


def test_round_trips_and_errors(d: DaemonProcess, project: Path) -> None:
    ws_id = d.call("workspace.list")["workspaces"][0]["id"]
    run = d.call(
        "audit.start_run",
        {"name": "session", "workspace": str(project), "notes": "n", "actor": "human"},
    )
    assert run["created"] and run["status"] == "open" and run["actor"] == "human"
    assert (run["workspace"], run["root"], run["capture"]) == (ws_id, str(project), True)
    first = d.call("audit.start_run", {"external_id": "agent:1", "name": "agent"})
    again = d.call("audit.start_run", {"external_id": "agent:1", "name": "ignored"})
    assert (again["id"], again["created"], again["name"]) == (first["id"], False, "agent")
    assert first["workspace"] == ws_id  # omitted: the only open workspace

    event = d.call(
        "audit.log_event",
        {
            "run": run["id"], "type": "command", "title": "$ ls", "detail": "list",
            "actor": "agent", "phase": "explore", "status": "running", "ref": "r1",
            "payload": {"argv": ["ls"]}, "at": "2024-01-02T03:04:05+02:00",
        },
    )  # fmt: skip
    assert event == {
        "id": event["id"], "run": run["id"], "type": "command", "title": "$ ls",
        "detail": "list", "actor": "agent", "phase": "explore", "status": "running",
        "ref": "r1", "payload": {"argv": ["ls"]}, "truncated": False,
        "created_at": "2024-01-02T01:04:05.000Z",
    }  # fmt: skip
    long_detail = d.call(
        "audit.log_event", {"run": run["id"], "type": "note", "title": "big", "detail": "x" * 20000}
    )
    assert long_detail["truncated"] and len(long_detail["detail"]) == 16 * 1024
    big_payload = d.call(
        "audit.log_event",
        {"run": run["id"], "type": "note", "title": "p", "payload": {"blob": "y" * 70000}},
    )
    assert big_payload["truncated"] and len(json.dumps(big_payload["payload"])) <= 64 * 1024
    assert big_payload["payload"]["blob"].startswith("y" * 4096)

    assert [e["id"] for e in all_events(d, run["id"])] == [
        event["id"], long_detail["id"], big_payload["id"],
    ]  # fmt: skip
    page = d.call("audit.list_events", {"run": run["id"], "limit": 2, "types": ["note"]})
    assert [e["id"] for e in page["events"]] == [long_detail["id"], big_payload["id"]]
    got = d.call("audit.get_run", {"run": run["id"]})
    assert got["event_count"] == 3 and got["event_types"] == {"command": 1, "note": 2}
    listed = d.call("audit.list_runs", {"workspace": str(project), "status": "open"})["runs"]
    assert {run["id"], first["id"]} <= {r["id"] for r in listed}
    by_session = d.call("audit.list_runs", {"external_id": "agent:1"})["runs"]
    assert [r["id"] for r in by_session] == [first["id"]]

    unknown = {"run": 999999}
    log = {"type": "note", "title": "t"}
    assert error_code(d, "audit.log_event", {**unknown, **log}) == "NOT_FOUND"
    for method in ("audit.end_run", "audit.get_run", "audit.list_events", "audit.diff"):
        assert error_code(d, method, unknown) == "NOT_FOUND", method
    for bad in ({"title": "t" * 201}, {"actor": "robot"}, {"typo": 1}, {"phase": "dream"}):
        assert error_code(d, "audit.log_event", {"run": run["id"], **log, **bad}) == (
            "INVALID_PARAMS"
        ), bad
    assert error_code(d, "audit.start_run", {"workspace": "relative/dir"}) == "INVALID_PATH"
    assert error_code(d, "audit.end_run", {"run": run["id"], "status": "open"}) == (
        "INVALID_PARAMS"
    )
    ended = d.call("audit.end_run", {"run": run["id"], "status": "failed", "notes": "done"})
    assert (ended["status"], ended["notes"], ended["event_count"]) == ("failed", "done", 3)
    assert ended["closed_at"] is not None
    assert error_code(d, "audit.log_event", {"run": run["id"], **log}) == "CONFLICT"
    assert error_code(d, "audit.end_run", {"run": run["id"]}) == "CONFLICT"
    assert d.call("audit.list_runs", {"status": "failed"})["runs"][0]["id"] == run["id"]
    summary = d.call("audit.diff", {"run": run["id"]})
    summary.pop("lint")  # the linters' part is tested below, with and without a linter
    assert summary == {
        "run": run["id"], "status": "failed", "files": [], "created": 0, "modified": 0,
        "deleted": 0, "lines_added": 0, "lines_removed": 0,
        "commits": None,  # the project is no repository
    }  # fmt: skip
    d.call("audit.end_run", {"run": first["id"]})


SECRETS = {
    "token": "tok-1234567890abcdef",
    "password": "hunter2-correct-horse",
    "client_secret": "s3cr3t-value-000",
    "api_key": "ak-9876543210zyx",
}
TEXT_SECRETS = [
    "AKIAIOSFODNN7EXAMPLE",
    "ghp_" + "a1B2c3D4e5" * 4,
    "abcdef1234567890bearer",
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
]


def test_secrets_never_reach_the_database(d: DaemonProcess) -> None:
    run = d.call("audit.start_run", {"name": "secrets", "capture": False})["id"]
    detail = (
        f"aws key {TEXT_SECRETS[0]}\ngh {TEXT_SECRETS[1]}\n"
        f"curl -H 'X: 1' --oauth2 Bearer {TEXT_SECRETS[2]}\n"
        f"-----BEGIN RSA PRIVATE KEY-----\n{TEXT_SECRETS[3]}\n-----END RSA PRIVATE KEY-----\n"
    )
    payload = {**SECRETS, "headers": {"Authorization": "Basic dXNlcjpwYXNzd29yZA=="}, "n": 1}
    event = d.call(
        "audit.log_event",
        {"run": run, "type": "note", "title": f"login token={SECRETS['token']}",
         "detail": detail, "payload": payload},
    )  # fmt: skip
    assert event["title"] == "login token=[REDACTED]"
    assert event["payload"] == {
        **dict.fromkeys(SECRETS, "[REDACTED]"), "headers": {"Authorization": "[REDACTED]"}, "n": 1,
    }  # fmt: skip
    assert event["detail"] == (
        "aws key [REDACTED]\ngh [REDACTED]\ncurl -H 'X: 1' --oauth2 Bearer [REDACTED]\n[REDACTED]\n"
    )
    stored = b"".join(p.read_bytes() for p in d.data_dir.glob("aegisd.db*"))
    for secret in [*SECRETS.values(), *TEXT_SECRETS, "dXNlcjpwYXNzd29yZA=="]:
        assert secret.encode() not in stored, secret


def test_every_stored_text_field_is_redacted(d: DaemonProcess) -> None:
    """Run name, notes, external_id, end status, event type, ref and payload keys used to be
    stored as sent; each carries a different secret shape here."""
    shapes = {
        "name": ("DB_PASS=", "hunter2-db-pass"),
        "notes": ("curl -u bob:", "curl-user-password"),
        "external_id": ("sess-", "glpat-" + "x1Y2z3" * 4),
        "type": ("note ", "sk_live_" + "a1B2c3" * 4),
        "ref": ("MYSQL_PWD=", "mysql-env-password"),
        "payload key": ("", "hf_" + "abcdefghij" * 3 + "abcd"),
        "payload auth": ("", "auth-value-under-key"),
        "end status": ("failed ", "xoxb-1234567890ab"),
        "end notes": ("-----BEGIN PGP PRIVATE KEY BLOCK-----\n", "pgp-private-key-body"),
    }
    text = {field: prefix + secret for field, (prefix, secret) in shapes.items()}
    run = d.call(
        "audit.start_run",
        {"name": text["name"], "notes": text["notes"], "external_id": text["external_id"],
         "capture": False},
    )  # fmt: skip
    event = d.call(
        "audit.log_event",
        {"run": run["id"], "type": text["type"], "title": "t", "ref": text["ref"],
         "payload": {text["payload key"]: 1, "auth": text["payload auth"], "pwd": None}},
    )  # fmt: skip
    ended = d.call(
        "audit.end_run",
        {"run": run["id"], "status": text["end status"], "notes": text["end notes"]},
    )
    assert (run["name"], run["external_id"]) == ("DB_PASS=[REDACTED]", "sess-[REDACTED]")
    assert (event["type"], event["ref"]) == ("note [REDACTED]", "MYSQL_PWD=[REDACTED]")
    assert event["payload"] == {"[REDACTED]": 1, "auth": "[REDACTED]", "pwd": None}
    assert (ended["status"], ended["notes"]) == ("failed [REDACTED]", "[REDACTED]")
    # Filters are redacted like what they are matched against.
    (found,) = d.call("audit.list_runs", {"external_id": text["external_id"]})["runs"]
    assert found["id"] == run["id"]
    events = d.call("audit.list_events", {"run": run["id"], "types": [text["type"]]})["events"]
    assert [e["id"] for e in events] == [event["id"]]
    stored = b"".join(p.read_bytes() for p in d.data_dir.glob("aegisd.db*"))
    for field, (_, secret) in shapes.items():
        assert secret.encode() not in stored, field


def test_200_concurrent_writers_all_land_in_order(d: DaemonProcess) -> None:
    runs = [
        d.call("audit.start_run", {"name": f"busy {n}", "capture": False})["id"] for n in range(4)
    ]
    per_writer = 5

    async def writer(session: aiohttp.ClientSession, n: int) -> list[int]:
        ids = []
        for seq in range(per_writer):
            body = {
                "jsonrpc": "2.0", "id": seq, "method": "audit.log_event",
                "params": {"run": runs[n % 4], "type": "note", "title": f"w{n} s{seq}"},
            }  # fmt: skip
            headers = {"X-Aegisd-Client": f"agent-{n}"}  # 200 agents, not one client
            async with session.post("http://localhost/rpc", json=body, headers=headers) as response:
                ids.append((await response.json())["result"]["id"])
        return ids

    async def main() -> list[list[int]]:
        connector = aiohttp.UnixConnector(path=str(d.socket), limit=200)
        async with aiohttp.ClientSession(connector=connector) as session:
            return await asyncio.gather(*(writer(session, n) for n in range(200)))

    acknowledged = asyncio.run(main())
    assert len({i for ids in acknowledged for i in ids}) == 200 * per_writer
    for n, run in enumerate(runs):
        events = all_events(d, run)
        assert len(events) == 50 * per_writer
        ids = [e["id"] for e in events]
        assert ids == sorted(ids)
        writers = {w for w in range(200) if w % 4 == n}
        for w in writers:  # each writer's events, in the order it wrote them
            mine = [e["title"] for e in events if e["title"].startswith(f"w{w} ")]
            assert mine == [f"w{w} s{seq}" for seq in range(per_writer)]
        assert d.call("audit.get_run", {"run": run})["event_count"] == 50 * per_writer


async def test_file_changes_during_an_open_run_become_events(
    d: DaemonProcess, project: Path
) -> None:
    async with WsClient(d.socket) as ws:
        await ws.call("events.subscribe", {"topics": ["audit.event"]})
        run = d.call("audit.start_run", {"name": "edit", "workspace": str(project)})["id"]
        (project / "a.py").write_text("x = 1\ny = 3\nz = 4\n")
        (project / "new.py").write_text("def f():\n    return 1\n")
        (project / "b.txt").unlink()
        (project / "logo.bin").write_bytes(b"\x89PNG\0\1\2")
        (project / ".env").write_text("API_KEY=abcdef123456\n")
        seen: dict[str, dict[str, Any]] = {}
        async with asyncio.timeout(20):
            while len(seen) < 5:
                note = await ws.next("audit.event")
                event = note["event"]
                if note["run"] == run and event["type"] == "file_change":
                    seen[event["payload"]["path"]] = event
    assert seen["a.py"]["title"] == "modified a.py (+2 -1)"
    assert seen["a.py"]["detail"] == (
        "--- a/a.py\n+++ b/a.py\n@@ -1,2 +1,3 @@\n x = 1\n-y = 2\n+y = 3\n+z = 4\n"
    )
    assert seen["new.py"]["detail"] == (
        "--- /dev/null\n+++ b/new.py\n@@ -0,0 +1,2 @@\n+def f():\n+    return 1\n"
    )
    assert seen["b.txt"]["detail"] == "--- a/b.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n"
    assert seen["logo.bin"]["payload"]["binary"] and seen["logo.bin"]["detail"] is None
    assert "abcdef123456" not in json.dumps(seen[".env"]) and "[REDACTED]" in seen[".env"]["detail"]
    summary = d.call("audit.diff", {"run": run})
    assert [(f["path"], f["change"], f["lines_added"], f["lines_removed"]) for f in summary["files"]] == [
        (".env", "created", 1, 0), ("a.py", "modified", 2, 1), ("b.txt", "deleted", 0, 1),
        ("logo.bin", "created", 0, 0), ("new.py", "created", 2, 0),
    ]  # fmt: skip
    assert (summary["created"], summary["modified"], summary["deleted"]) == (3, 1, 1)
    assert (summary["lines_added"], summary["lines_removed"]) == (5, 2)
    count = d.call("audit.end_run", {"run": run})["event_count"]

    # After the end nothing more is captured, nor for a run that does not capture; a new
    # capturing run diffs against the content at its own start.
    quiet = d.call(
        "audit.start_run", {"name": "quiet", "workspace": str(project), "capture": False}
    )
    sentinel = d.call("audit.start_run", {"name": "sentinel", "workspace": str(project)})["id"]
    (project / "a.py").write_text("x = 1\n")
    events = wait_until(lambda: all_events(d, sentinel))
    assert events[0]["detail"] == (
        "--- a/a.py\n+++ b/a.py\n@@ -1,3 +1 @@\n x = 1\n-y = 3\n-z = 4\n"
    )
    assert d.call("audit.get_run", {"run": run})["event_count"] == count
    assert d.call("audit.get_run", {"run": quiet["id"]})["event_count"] == 0
    d.call("audit.end_run", {"run": sentinel})
    d.call("audit.end_run", {"run": quiet["id"]})


def test_a_run_started_before_its_workspace_opens_is_adopted_and_captures(
    daemon_factory: Any, tmp_path: Path
) -> None:
    root = (tmp_path / "later").resolve()
    root.mkdir()
    (root / "a.py").write_text("x = 1\n")
    d: DaemonProcess = daemon_factory()
    run = d.call("audit.start_run", {"name": "early", "workspace": str(root)})
    assert run["workspace"] is None and run["root"] == str(root)
    ws = d.call("workspace.open", {"root": str(root)})["workspace"]["id"]
    assert wait_until(lambda: d.call("audit.get_run", {"run": run["id"]})["workspace"] == ws)
    wait_until(lambda: not d.call("workspace.changes", {"workspace": ws, "since": 0})["pending"])
    # Ending a capturing run waits for the capture jobs queued before it, which start once the
    # adopted run's contents are remembered: after this, the edit below has its pre-image.
    probe = d.call("audit.start_run", {"name": "probe", "workspace": ws})["id"]
    d.call("audit.end_run", {"run": probe})
    (root / "a.py").write_text("x = 2\n")

    # The workspace's first listing (every file "created") is a baseline, not the run's doing.
    (event,) = wait_until(lambda: all_events(d, run["id"]))
    assert event["title"].startswith("modified a.py")
    assert event["detail"] == "--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"


def test_audit_exec_records_a_command_and_its_result(d: DaemonProcess, tmp_path: Path) -> None:
    run = d.call("audit.start_run", {"name": "exec", "capture": False})["id"]
    code = "import sys; print('hello'); print('oops', file=sys.stderr); sys.exit(3)"
    cmd = [sys.executable, "-m", "aegisd", "audit", "exec", "--run", str(run),
           "--socket", str(d.socket), "--", sys.executable, "-c", code]  # fmt: skip
    done = subprocess.run(cmd, env=d.env, capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (3, "hello\n", "oops\n")
    command, result = all_events(d, run)
    assert (command["type"], command["status"]) == ("command", "running")
    assert command["payload"] == {"argv": [sys.executable, "-c", code], "cwd": str(tmp_path)}
    assert command["title"] == "$ " + shlex.join([sys.executable, "-c", code])
    assert (result["type"], result["status"], result["ref"]) == (
        "command_result", "error", str(command["id"]),
    )  # fmt: skip
    assert result["detail"] == "hello\n\noops\n"
    assert result["payload"]["exit_code"] == 3 and result["payload"]["stdout_bytes"] == 6
    d.call("audit.end_run", {"run": run})
    marker = tmp_path / "ran"
    touch = [sys.executable, "-c", f"open({str(marker)!r}, 'w')"]
    refused = subprocess.run([*cmd[:9], "--", *touch], env=d.env, capture_output=True, text=True)
    assert refused.returncode == 1 and "CONFLICT" in refused.stderr
    assert not marker.exists()  # a command that cannot be recorded is not run


def run_hook(env: dict[str, str], socket: Path, data_dir: Path, payload: dict[str, Any]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "aegisd", "audit", "hook", "--socket", str(socket),
         "--data-dir", str(data_dir)],
        input=json.dumps(payload), env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (0, ""), done.stderr


def check_session(d: DaemonProcess) -> None:
    (run,) = d.call("audit.list_runs", {"external_id": SESSION})["runs"]
    assert (run["status"], run["event_count"], run["root"]) == ("closed", 16, "/home/dev/shop")
    events = all_events(d, run["id"])
    assert [e["type"] for e in events] == HOOK_TYPES
    assert events[10]["title"] == "$ export API_TOKEN=[REDACTED] && ./deploy.sh"
    assert "sk-live" not in json.dumps(events)


def test_hook_bridge_through_the_cli(d: DaemonProcess) -> None:
    for payload in HOOK_PAYLOADS:
        run_hook(d.env, d.socket, d.data_dir, payload)
    check_session(d)


def test_hook_spools_while_no_daemon_runs_then_replays_once(
    daemon_factory: Any, tmp_path: Path
) -> None:
    env, socket, data_dir = (
        isolated_env(tmp_path),
        tmp_path / "run" / "aegisd.sock",
        tmp_path / "state",
    )
    for payload in HOOK_PAYLOADS:
        run_hook(env, socket, data_dir, payload)
    spooled = (data_dir / "audit-hook-spool.jsonl").read_text().splitlines()
    assert len(spooled) == 16 and "sk-live" not in "".join(spooled)
    d = daemon_factory()
    check_session(d)
    assert not list(data_dir.glob("audit-hook-spool*"))
    assert d.stop() == 0
    check_session(daemon_factory())  # started again: nothing replayed twice


def test_a_hook_the_daemon_cannot_take_now_is_spooled_not_lost(
    daemon_factory: Any, tmp_path: Path
) -> None:
    limited = {"AEGISD_RATE_LIMITS__WRITE__RATE": "0.2", "AEGISD_RATE_LIMITS__WRITE__BURST": "3"}
    d: DaemonProcess = daemon_factory(env=limited)
    for payload in HOOK_PAYLOADS[:2]:  # 2 writes each: the second runs out of budget
        run_hook(d.env, d.socket, d.data_dir, payload)
    spooled = (d.data_dir / "audit-hook-spool.jsonl").read_text().splitlines()
    assert [json.loads(line)["payload"]["hook_event_name"] for line in spooled] == [
        "UserPromptSubmit"
    ]
    assert d.stop() == 0
    again: DaemonProcess = daemon_factory()
    (run,) = again.call("audit.list_runs", {"external_id": SESSION})["runs"]
    assert [e["type"] for e in all_events(again, run["id"])] == HOOK_TYPES[:2]


def test_acknowledged_events_survive_kill_9(daemon_factory: Any) -> None:
    d: DaemonProcess = daemon_factory()
    run = d.call("audit.start_run", {"name": "crash"})["id"]
    acked: list[int] = []
    unexpected: list[Exception] = []
    lock = threading.Lock()

    def write(n: int) -> None:
        client = Client(d.socket, timeout=10, client_name=f"agent-{n}")
        for seq in range(100_000):
            try:
                answer = client.call(
                    "audit.log_event", {"run": run, "type": "note", "title": f"{n}-{seq}"}
                )
            except RpcCallError as exc:
                if exc.code_name != "RATE_LIMITED":
                    unexpected.append(exc)
                    return
                time.sleep(exc.error["data"]["retry_after_ms"] / 1000)
                continue
            except Exception:
                return  # the daemon is gone
            with lock:
                acked.append(answer["id"])

    writers = [threading.Thread(target=write, args=(n,)) for n in range(16)]
    for thread in writers:
        thread.start()
    wait_until(lambda: len(acked) >= 500)
    d.proc.send_signal(signal.SIGKILL)  # while writes are in flight
    d.proc.wait(10)
    for thread in writers:
        thread.join(30)
    assert not unexpected
    with closing(sqlite3.connect(d.data_dir / "aegisd.db")) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = {
            row[0] for row in db.execute("SELECT id FROM audit_event WHERE run_id = ?", (run,))
        }
    assert set(acked) <= stored  # every acknowledged event is there
    again: DaemonProcess = daemon_factory()
    assert {e["id"] for e in all_events(again, run)} == stored


def test_retention_prunes_idle_runs(daemon_factory: Any, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    d: DaemonProcess = daemon_factory("--root", str(project))
    old = d.call("audit.start_run", {"name": "old"})["id"]
    d.call("audit.log_event", {"run": old, "type": "note", "title": "long ago"})
    d.call("audit.end_run", {"run": old})
    recent = d.call("audit.start_run", {"name": "recent"})["id"]
    elsewhere = d.call("audit.start_run", {"name": "elsewhere", "workspace": "/nowhere"})["id"]
    d.call("settings.update", {"settings": {"audit": {"retention_days": 30}}})
    assert d.stop() == 0
    with closing(sqlite3.connect(d.data_dir / "aegisd.db")) as db, db:  # closed, committed
        db.execute(
            "UPDATE audit_run SET created_at = '2000-01-01T00:00:00.000Z',"
            " updated_at = '2000-01-01T00:00:00.000Z' WHERE id IN (?, ?)",
            (old, elsewhere),
        )
    d2: DaemonProcess = daemon_factory("--root", str(project))
    # Pruning is a background job of the audit plugin's start: the run goes soon, not at once.
    wait_until(lambda: code_or_none(d2, "audit.get_run", {"run": old}) == "NOT_FOUND")
    # The workspace keeps 30 days; a run outside any workspace follows the default: forever.
    assert {r["id"] for r in d2.call("audit.list_runs")["runs"]} == {recent, elsewhere}
    assert d2.stop() == 0
    with closing(sqlite3.connect(d.data_dir / "aegisd.db")) as db:
        assert db.execute(
            "SELECT count(*) FROM audit_event WHERE run_id = ?", (old,)
        ).fetchone() == (0,)


def test_diff_reports_lint_issues_introduced_and_fixed(daemon_factory: Any, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "a.py").write_text("import os\n")
    issues = tmp_path / "issues.json"

    def lint(*codes: str) -> None:
        found = [{"tool": "ruff", "code": c, "severity": "low", "path": "a.py", "line": 1,
                  "column": 1, "message": f"problem {c}"} for c in codes]  # fmt: skip
        issues.write_text(json.dumps(found))

    no_linter = {"AEGISD_PLUGINS__DISABLED": ",".join(LINT_PLUGINS)}
    bare: DaemonProcess = daemon_factory("--root", str(project), env=no_linter)
    unlinted = bare.call("audit.start_run", {"name": "no linter"})["id"]
    assert bare.call("audit.diff", {"run": unlinted})["lint"] is None
    bare.call("audit.end_run", {"run": unlinted})
    assert bare.call("audit.diff", {"run": unlinted})["lint"] is None
    assert bare.stop() == 0

    lint("F401", "E501")
    env = {
        **no_linter,  # the stand-in takes the real linter's place
        "AEGISD_PLUGINS__EXTRA": "aegisd_fake_lint",
        "FAKE_LINT_ISSUES": str(issues),
        "PYTHONPATH": os.pathsep.join(
            [isolated_env(tmp_path)["PYTHONPATH"], str(REPO / "tests/fixtures/audit")]
        ),
    }
    d: DaemonProcess = daemon_factory("--root", str(project), env=env)
    run = d.call("audit.start_run", {"name": "lint"})["id"]
    lint("E501", "F841")
    (project / "a.py").write_text("x = 1\n")
    wait_until(lambda: d.call("audit.get_run", {"run": run})["event_count"] == 1)
    now = d.call("audit.diff", {"run": run})
    assert [f["path"] for f in now["files"]] == ["a.py"]
    assert now["lint"]["until"] == "now"
    assert [i["code"] for i in now["lint"]["introduced"]] == ["F841"]
    assert [i["code"] for i in now["lint"]["fixed"]] == ["F401"]
    d.call("audit.end_run", {"run": run})
    lint()  # after the end: the end's snapshot counts, not now
    at_end = d.call("audit.diff", {"run": run})["lint"]
    assert at_end["until"] == "end"
    assert at_end["introduced"] == [
        {"tool": "ruff", "code": "F841", "severity": "low", "path": "a.py", "line": 1,
         "message": "problem F841"},
    ]  # fmt: skip
    assert [i["code"] for i in at_end["fixed"]] == ["F401"]


def test_diff_with_the_real_linter(daemon_factory: Any, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "a.py").write_text("import os\n\n\ndef f():\n    return 1\n")
    d: DaemonProcess = daemon_factory("--root", str(project))
    if "lint.report" not in {m["name"] for m in d.call("rpc.discover")["methods"]}:
        pytest.skip("the lint plugin is not installed")
    wait_until(lambda: "F401" in json.dumps(d.call("lint.report")), timeout=60)
    run = d.call("audit.start_run", {"name": "fix the import"})["id"]
    (project / "a.py").write_text("import sys\n\n\ndef f():\n    x = 1\n    return sys.argv\n")

    def lint_changes() -> dict[str, list[str]] | None:
        lint = d.call("audit.diff", {"run": run})["lint"]
        codes = {k: [i["code"] for i in lint[k]] for k in ("introduced", "fixed")}
        return codes if "F841" in codes["introduced"] else None

    codes = wait_until(lint_changes, timeout=60)
    assert "F401" in codes["fixed"] and "F401" not in codes["introduced"]


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def refusal(d: DaemonProcess, method: str, params: Any) -> RpcCallError:
    with pytest.raises(RpcCallError) as info:
        d.call(method, params)
    return info.value


def test_a_payload_too_deep_to_read_back_is_refused_and_absent(daemon_factory: Any) -> None:
    d: DaemonProcess = daemon_factory()
    run = d.call("audit.start_run", {"name": "deep", "capture": False})["id"]
    kept = d.call(
        "audit.log_event", {"run": run, "type": "note", "title": "ok", "payload": nested(64)}
    )
    for depth in (65, 300):
        error = refusal(
            d,
            "audit.log_event",
            {"run": run, "type": "note", "title": "deep", "payload": nested(depth)},
        )
        assert error.code_name == "INVALID_PARAMS"
        assert error.error["data"]["errors"][0]["loc"] == ["params", "payload"]
    (event,) = d.call("audit.list_events", {"run": run})["events"]  # still readable
    assert event["id"] == kept["id"] and event["payload"] == nested(64)
    assert d.call("audit.get_run", {"run": run})["event_count"] == 1
    assert d.call("daemon.health")["status"] == "ok"


def test_the_hook_cuts_a_payload_too_deep_instead_of_losing_it(daemon_factory: Any) -> None:
    d: DaemonProcess = daemon_factory()
    payload = {"session_id": "deep-1", "hook_event_name": "Notification", "message": "hi",
               "extra": nested(300)}  # fmt: skip
    env = {**d.env, "AEGISD_SOCKET": str(d.socket), "AEGISD_DATA_DIR": str(d.data_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "aegisd", "audit", "hook"], input=json.dumps(payload),
        capture_output=True, text=True, env=env, timeout=30,
    )  # fmt: skip
    assert result.returncode == 0 and result.stderr == ""
    (run,) = d.call("audit.list_runs", {"external_id": "claude-code:deep-1"})["runs"]
    (event,) = d.call("audit.list_events", {"run": run["id"]})["events"]
    assert event["title"] == "hi" and "nested too deep" in json.dumps(event["payload"])
    assert not (d.data_dir / "audit-hook-spool.jsonl").exists()


def test_diff_lists_the_commits_made_while_the_run_was_open(
    daemon_factory: Any, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "a.txt").write_text("a\n")

    def commit(message: str, when: str | None = None) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(GIT_CONFIG_GLOBAL="/dev/null", GIT_AUTHOR_NAME="Agent",
                   GIT_AUTHOR_EMAIL="agent@example.com", GIT_COMMITTER_NAME="Agent",
                   GIT_COMMITTER_EMAIL="agent@example.com")  # fmt: skip
        if when is not None:
            env.update(GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
        for args in (["add", "-A"], ["commit", "-q", "-m", message], ["rev-parse", "HEAD"]):
            out = subprocess.run(["git", "-C", str(project), *args], env=env, check=True,
                                 capture_output=True, text=True)  # fmt: skip
        return out.stdout.strip()

    subprocess.run(["git", "init", "-q", "-b", "main", str(project)], check=True)
    commit("Before the run", "2020-01-01T00:00:00+00:00")
    d: DaemonProcess = daemon_factory("--root", str(project))
    run = d.call("audit.start_run", {"name": "commits"})["id"]
    assert d.call("audit.diff", {"run": run})["commits"] == []
    (project / "b.txt").write_text("b\n")
    during = commit("During the run")
    d.call("audit.end_run", {"run": run})
    (project / "c.txt").write_text("c\n")
    commit("After the run", "2099-01-01T00:00:00+00:00")
    commits = d.call("audit.diff", {"run": run})["commits"]
    assert commits == [
        {"hash": during, "short": during[:7], "subject": "During the run", "files": ["b.txt"]}
    ]
