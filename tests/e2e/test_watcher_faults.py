"""Live updates survive bad paths and a dying processor: per-path errors, restart, degraded."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from aegisd.client import _UnixConnection
from tests.conftest import DaemonProcess
from tests.e2e.test_live import wait_fresh


def poll(predicate: Any, timeout: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def changed_paths(d: DaemonProcess, since: int) -> dict[str, str]:
    answer = d.call("workspace.changes", {"since": since})
    return {c["path"]: c["kind"] for c in answer["changes"]}


def http_health(d: DaemonProcess) -> int:
    conn = _UnixConnection(d.socket, 10)
    try:
        conn.request("GET", "/health")
        return conn.getresponse().status
    finally:
        conn.close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "keep.py").write_text("x = 1\n")
    return root


def test_bad_paths_are_reported_per_path_while_a_batch_runs_and_edits_go_on(
    daemon_factory: Any, project: Path
) -> None:
    d = daemon_factory("--root", str(project))
    start = wait_fresh(d)["clock"]
    (project / "loop").symlink_to("loop")  # resolving loop/x.py: ELOOP
    # Each part fine, the path itself under PATH_MAX, the absolute path over it: the OS refuses.
    deep = "/".join(["d" * 200] * 20) + "/" + "e" * 60
    bad = ["x" * 300 + ".py", "loop/x.py", deep, "nul\0.py"]
    # A batch of many files is being processed while the bad paths arrive.
    writer = threading.Thread(
        target=lambda: [(project / f"bulk{i}.py").write_text(f"v = {i}\n") for i in range(300)]
    )
    writer.start()
    answer = d.call("workspace.notify_changes", {"paths": [*bad, "keep.py"]})
    writer.join()
    reasons = {e["path"]: e["error"] for e in answer["errors"]}
    assert set(reasons) == set(bad), answer
    assert "over 255 bytes" in reasons[bad[0]]
    assert "symbolic links" in reasons["loop/x.py"]
    assert "too long" in reasons[deep].lower()
    assert "NUL" in reasons["nul\0.py"]
    assert answer["accepted"] == 1
    # The processor lives on: a normal edit afterwards is processed, and health stays ok.
    (project / "after.py").write_text("y = 2\n")
    answer = d.call("workspace.notify_changes", {"paths": ["after.py"]})
    assert answer == {**answer, "accepted": 1, "errors": []}
    changes = poll(lambda: (c := changed_paths(d, start)) and len(c) >= 301 and c, what="bulk")
    assert changes["after.py"] == "created" and changes["bulk299.py"] == "created"
    assert d.call("daemon.health")["status"] == "ok"
    assert "cannot read" in d.output()  # the bad ones are logged, each once


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file: no EACCES to provoke")
def test_an_unreadable_path_is_reported_and_the_rest_settles(
    daemon_factory: Any, project: Path
) -> None:
    d = daemon_factory("--root", str(project))
    start = wait_fresh(d)["clock"]
    locked = project / "locked"
    locked.mkdir()
    (locked / "inside.py").write_text("z = 3\n")
    locked.chmod(0)
    try:
        (project / "fine.py").write_text("w = 4\n")
        answer = d.call("workspace.notify_changes", {"paths": ["locked/inside.py", "fine.py"]})
        assert [e["path"] for e in answer["errors"]] == ["locked/inside.py"]
        assert "Permission denied" in answer["errors"][0]["error"]
        assert changed_paths(d, start).get("fine.py") == "created"
    finally:
        locked.chmod(0o755)


def test_a_dying_processor_is_restarted_and_degraded_until_reconciled(
    daemon_factory: Any, project: Path
) -> None:
    d = daemon_factory("--root", str(project), env={"AEGISD_PLUGINS__EXTRA": "aegisd_fault_plugin"})
    wait_fresh(d)
    d.call("settings.update", {"settings": {"watcher": {"reconcile_interval_s": 1}}})
    # The change re-arms the watcher: once a new file is seen, it watches again.
    start = wait_fresh(d)["clock"]
    (project / "probe.py").write_text("p = 0\n")
    poll(lambda: "probe.py" in changed_paths(d, start), what="the re-armed watcher")
    start = wait_fresh(d)["clock"]
    assert d.call("test.break_watcher", {"fail": True}) == {"failing": True}
    (project / "during.py").write_text("a = 1\n")  # wakes the processor, whose task dies
    # The settings change re-arms the watcher, whose reconciliation may fail first: the
    # reason then shows both, the first failure kept in view.
    poll(
        lambda: any("task died" in r for r in d.call("daemon.health")["reasons"]),
        what="degraded by the dead task",
    )
    assert http_health(d) == 503
    status = subprocess.run(
        [sys.executable, "-m", "aegisd", "status", "--socket", str(d.socket)],
        env=d.env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "degraded" in status.stdout and "task died" in status.stdout
    workspace = d.call("workspace.list")["workspaces"][0]
    assert workspace["pending"] is True and "reconciling" in workspace["degraded"]
    # Still failing: it stays degraded (the periodic reconciliation fails too).
    time.sleep(1.5)
    assert d.call("daemon.health")["status"] == "degraded"
    d.call("test.break_watcher", {"fail": False})
    poll(lambda: d.call("daemon.health")["status"] == "ok", what="recovery")
    assert http_health(d) == 200
    # The reconciliation found what the dead task never processed; the new task goes on.
    assert changed_paths(d, start).get("during.py") == "created"
    (project / "later.py").write_text("b = 2\n")
    poll(lambda: changed_paths(d, start).get("later.py") == "created", what="later edit")
    assert "restarting it" in d.output()


def test_directories_past_the_watch_allowance_are_polled_and_the_workspace_says_so(
    daemon_factory: Any, project: Path
) -> None:
    (project / "top" / "deep1" / "deeper").mkdir(parents=True)
    (project / "top" / "deep2").mkdir()
    # Two watches: the root and top; deep1, deep1/deeper and deep2 are polled.
    d = daemon_factory("--root", str(project), env={"AEGISD_WATCH__MAX_WATCHES": "2"})
    d.call("settings.update", {"settings": {"watcher": {"poll_interval_s": 0.1}}})
    health = poll(
        lambda: "every 0.1 s" in str((h := d.call("daemon.health"))["reasons"]) and h,
        what="degraded, polling at the new interval",
    )
    assert health["status"] == "degraded"
    [reason] = health["reasons"]
    assert "3 directories polled every 0.1 s" in reason and "max_watches" in reason
    assert d.call("workspace.list")["workspaces"][0]["degraded"] in reason
    start = 0  # degraded, the workspace stays pending: every change since the open counts
    (project / "top" / "deep1" / "deeper" / "polled.py").write_text("p = 1\n")
    poll(lambda: "top/deep1/deeper/polled.py" in changed_paths(d, start), what="a polled edit")
    # A directory made under a watched one gets no watch either: polled from then on.
    (project / "top" / "later").mkdir()
    (project / "top" / "later" / "first.py").write_text("f = 1\n")
    poll(lambda: "top/later/first.py" in changed_paths(d, start), what="the new directory")
    (project / "top" / "later" / "second.py").write_text("s = 1\n")
    poll(lambda: "top/later/second.py" in changed_paths(d, start), what="an edit in it")
    assert "4 directories polled" in d.call("daemon.health")["reasons"][0]
    hits = d.call("index.search", {"query": "polled"})
    assert hits["pending"] is True  # degraded: never claims to be fresh


def test_sigterm_while_a_huge_batch_settles_stops_it_and_exits_cleanly(
    daemon_factory: Any, project: Path
) -> None:
    files = []
    for n in range(200):
        path = project / f"pkg{n % 4}" / f"m{n}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"v = {n}\n")
        files.append(path)
    d = daemon_factory("--root", str(project), env={"AEGISD_PLUGINS__EXTRA": "aegisd_fault_plugin"})
    wait_fresh(d)
    # Hashing a file now takes 0.2 s: settling these 200 takes 40 s, as a first
    # reconciliation of a huge tree takes minutes.
    d.call("test.slow_hashing", {"delay_s": 0.2})
    for path in files:
        path.write_text(path.read_text() + "w = 0\n")
    poll(lambda: d.call("test.slow_hashing")["hashing"] >= 2, what="settling under way")
    assert d.stop() == 0  # not forced: settling stopped between two files
    output = d.output()
    assert "daemon stopped" in output and "shutdown forced" not in output
