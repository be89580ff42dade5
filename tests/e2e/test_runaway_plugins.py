"""A plugin's runaway work can neither keep a workspace from closing nor the daemon from
exiting: workspace.close answers (abandoning what will not stop), SIGTERM exits by
shutdown_timeout_s, and nothing the daemon started outlives it."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from aegisd.workers import descendants
from tests.conftest import DaemonProcess
from tests.e2e.test_live import wait_fresh
from tests.e2e.test_watcher_faults import poll

LIMITS = {
    "AEGISD_PLUGINS__EXTRA": "aegisd_runaway_plugin",
    "AEGISD_SHUTDOWN_TIMEOUT_S": "4",
    "AEGISD_CLOSE_TIMEOUT_S": "1",
}


def open_workspace(d: DaemonProcess, root: Path) -> str:
    root.mkdir(exist_ok=True)
    (root / "a.py").write_text("x = 1\n")
    opened = d.call("workspace.open", {"root": str(root)})
    return str(opened["workspace"]["id"])


def _pending(d: DaemonProcess, root: Path) -> bool:
    for ws in d.call("workspace.list")["workspaces"]:
        if ws["root"] == str(root):
            return bool(ws["pending"])
    return False


def test_close_answers_whatever_a_plugin_does(daemon_factory: Any, tmp_path: Path) -> None:
    d = daemon_factory(env=LIMITS)
    looping, spinning, hanging = tmp_path / "looping", tmp_path / "spinning", tmp_path / "hanging"
    for root, trigger in ((looping, "spin_loop.trigger"), (spinning, "spin_thread.trigger")):
        open_workspace(d, root)
        wait_fresh_ws(d, root)
        (root / trigger).write_text("")
    poll(lambda: "spinning in a thread" in d.output(), what="the thread runaway")
    poll(lambda: "looping on the loop" in d.output(), what="the loop runaway")
    # A hook looping on the loop and swallowing its cancellation: abandoned, and said so.
    closed = d.call("workspace.close", {"workspace": str(looping)})
    assert closed["closed"]["root"] == str(looping)
    assert any("batches" in what for what in closed["abandoned"]), closed
    health = d.call("daemon.health")
    assert health["status"] == "degraded"
    assert any("did not stop" in reason for reason in health["reasons"]), health
    # A hook waiting on a thread that spins forever: the wait is cancelled, close answers.
    closed = d.call("workspace.close", {"workspace": str(spinning)})
    assert closed["closed"]["root"] == str(spinning) and closed["abandoned"] == []
    # A close hook that never returns is abandoned too.
    open_workspace(d, hanging)
    wait_fresh_ws(d, hanging)
    (hanging / "hang_close.trigger").write_text("")
    closed = d.call("workspace.close", {"workspace": str(hanging)})
    assert any("aegisd_workspace_closed" in what for what in closed["abandoned"]), closed
    assert [ws["root"] for ws in d.call("workspace.list")["workspaces"]] == []
    # The daemon still answers everything else.
    assert d.call("workspace.open", {"root": str(tmp_path / "spinning")})["opened"] is True


def wait_fresh_ws(d: DaemonProcess, root: Path) -> None:
    poll(lambda: not _pending(d, root), what=f"{root.name} fresh")


def test_sigterm_exits_by_the_deadline_and_takes_its_processes_along(
    daemon_factory: Any, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for i in range(40):  # enough files for the code map's worker processes to start
        (project / f"m{i}.py").write_text(f"def f{i}(): return {i}\n")
    d = daemon_factory("--root", str(project), env=LIMITS)
    wait_fresh(d)
    other = tmp_path / "other"
    open_workspace(d, other)
    wait_fresh_ws(d, other)
    # One workspace's hook spins in a thread, the other's loops on the loop, both forever.
    (project / "spin_thread.trigger").write_text("")
    (other / "spin_loop.trigger").write_text("")
    poll(lambda: "spinning in a thread" in d.output(), what="the thread runaway")
    poll(lambda: "looping on the loop" in d.output(), what="the loop runaway")
    started = descendants(d.proc.pid)
    assert started  # worker processes, at least the code map's
    d.proc.send_signal(signal.SIGTERM)
    code = d.proc.wait(30)  # without the deadline it never exits at all
    assert code == 1
    assert "shutdown forced" in d.output() and "_spin_forever" in d.output()
    assert not [pid for pid in started if _alive(pid)], started


def test_a_second_signal_exits_at_once(daemon_factory: Any, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    d = daemon_factory("--root", str(project), env={**LIMITS, "AEGISD_SHUTDOWN_TIMEOUT_S": "600"})
    wait_fresh(d)
    (project / "spin_loop.trigger").write_text("")
    poll(lambda: "looping on the loop" in d.output(), what="the loop runaway")
    d.proc.send_signal(signal.SIGTERM)
    poll(lambda: "shutting down" in d.output(), what="shutdown started")
    d.proc.send_signal(signal.SIGINT)
    assert d.proc.wait(30) == 1  # long before the 600 s deadline
    assert "asked to stop again" in d.output()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_slow_hooks_share_the_shutdown_deadline_and_the_exit_is_clean(
    daemon_factory: Any, tmp_path: Path
) -> None:
    """Each plugin hook waited up to close_timeout_s, one after another, past the deadline:
    the exit was forced (exit 1, the store not closed). They share what is left of it now."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "a.py").write_text("x = 1\n")
    limits = {
        "AEGISD_PLUGINS__EXTRA": "aegisd_gate_plugin",
        "AEGISD_SHUTDOWN_TIMEOUT_S": "6",
        "AEGISD_CLOSE_TIMEOUT_S": "4",
    }
    d = daemon_factory("--root", str(project), env=limits)
    poll(lambda: d.call("gate.state")["batches"] > 0, what="the gate holding a batch")
    d.proc.send_signal(signal.SIGTERM)
    assert d.proc.wait(30) == 0
    output = d.output()
    assert "daemon stopped" in output and "shutdown forced" not in output
    assert "aegisd_workspace_closed did not finish" in output
