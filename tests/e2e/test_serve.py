"""`aegisd serve` as a process: socket, single instance, signals, systemd, config, store errors."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from aegisd.client import Client
from tests.conftest import REPO, DaemonProcess, isolated_env, start_daemon, wait_for_socket


def run_cli(
    tmp: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aegisd", *args],
        capture_output=True,
        text=True,
        env=isolated_env(tmp, **(env or {})),
        timeout=timeout,
        cwd=tmp,
    )


def test_socket_and_directory_permissions_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        d = start_daemon(tmp_path)
    finally:
        os.umask(old)
    try:
        assert stat.S_IMODE(d.socket.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(d.socket.stat().st_mode) == 0o600
        assert stat.S_ISSOCK(d.socket.stat().st_mode)
    finally:
        assert d.stop() == 0
    assert not d.socket.exists()


def test_default_socket_path_is_under_xdg_runtime_dir(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "aegisd", "serve", "--data-dir", str(tmp_path / "s")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    expected = Path(env["XDG_RUNTIME_DIR"]) / "aegisd" / "aegisd.sock"
    try:
        wait_for_socket(expected, proc)
        result = run_cli(tmp_path, "call", "daemon.health")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["status"] == "ok"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0


def test_second_instance_is_refused_naming_the_pid(daemon: DaemonProcess, tmp_path: Path) -> None:
    result = run_cli(
        tmp_path, "serve", "--socket", str(daemon.socket), "--data-dir", str(tmp_path / "other")
    )
    assert result.returncode == 1
    assert f"pid {daemon.proc.pid}" in result.stderr
    assert "Traceback" not in result.stderr
    assert daemon.call("daemon.health")["status"] == "ok"


def test_stale_socket_file_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "run" / "aegisd.sock"
    path.parent.mkdir(mode=0o700)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens
    d = start_daemon(tmp_path, socket=path)
    try:
        assert d.call("daemon.health")["pid"] == d.proc.pid
    finally:
        d.stop()


def test_sigterm_lets_a_slow_request_finish_then_exits_zero(tmp_path: Path) -> None:
    d = start_daemon(tmp_path, env={"AEGISD_PLUGINS__EXTRA": "aegisd_test_plugins"})
    answers: list[object] = []

    def slow_call() -> None:
        answers.append(Client(d.socket, timeout=30).call("test.sleep", {"seconds": 1.5}))

    thread = threading.Thread(target=slow_call)
    thread.start()
    deadline = time.monotonic() + 10
    while "method=test.sleep" not in d.output() and time.monotonic() < deadline:
        # The request is in flight once the daemon counts it.
        status = d.call("daemon.status")
        if status["in_flight"] >= 1:
            break
        time.sleep(0.02)
    d.proc.send_signal(signal.SIGTERM)
    thread.join(30)
    assert answers == [{"slept": 1.5}]
    assert d.proc.wait(30) == 0
    assert not d.socket.exists()
    assert "draining" in d.output()


def test_systemd_notify_ready_and_stopping(tmp_path: Path) -> None:
    notify_path = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(notify_path))
    listener.settimeout(20)
    d = start_daemon(tmp_path, env={"NOTIFY_SOCKET": str(notify_path)})
    ready = listener.recv(4096).decode()
    assert "READY=1" in ready
    # READY is only sent once the socket listens and the store is open.
    assert (d.data_dir / "aegisd.db").exists()
    assert d.stop() == 0
    assert "STOPPING=1" in listener.recv(4096).decode()
    listener.close()


def test_socket_activation_uses_the_passed_socket(tmp_path: Path) -> None:
    path = tmp_path / "activated.sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.listen(16)
    launcher = (
        "import os, sys\n"
        "os.dup2(int(sys.argv[1]), 3)\n"
        "os.environ['LISTEN_PID'] = str(os.getpid())\n"
        "os.environ['LISTEN_FDS'] = '1'\n"
        "os.execv(sys.executable, [sys.executable, '-m', 'aegisd', 'serve', '--socket', sys.argv[2],"
        " '--data-dir', sys.argv[3]])\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", launcher, str(sock.fileno()), str(path), str(tmp_path / "state")],
        pass_fds=(sock.fileno(),),
        env=isolated_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    sock.close()
    try:
        wait_for_socket(path, proc)
        assert Client(path).call("daemon.health")["pid"] == proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0


def test_invalid_config_value_exits_2_naming_the_key(tmp_path: Path) -> None:
    result = run_cli(
        tmp_path, "serve", "--socket", str(tmp_path / "s.sock"), env={"AEGISD_LOG_LEVEL": "chatty"}
    )
    assert result.returncode == 2
    assert "log_level" in result.stderr and "environment" in result.stderr
    config = tmp_path / "bad.toml"
    config.write_text('max_body_bytes = "huge"\n[cache]\nmax_entries = 0\n')
    result = run_cli(
        tmp_path, "serve", "--config", str(config), "--socket", str(tmp_path / "s.sock")
    )
    assert result.returncode == 2
    assert "max_body_bytes" in result.stderr and "cache.max_entries" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_root_exits_2(tmp_path: Path) -> None:
    result = run_cli(
        tmp_path, "serve", "--root", str(tmp_path / "nope"), "--socket", str(tmp_path / "s.sock")
    )
    assert result.returncode == 2
    assert "does not exist" in result.stderr


def test_corrupt_database_stops_with_a_message_and_is_left_untouched(tmp_path: Path) -> None:
    data = tmp_path / "state"
    data.mkdir()
    db = data / "aegisd.db"
    garbage = b"this is not an sqlite database\n" * 200
    db.write_bytes(garbage)
    result = run_cli(
        tmp_path, "serve", "--data-dir", str(data), "--socket", str(tmp_path / "s.sock")
    )
    assert result.returncode == 1
    assert str(db) in result.stderr
    assert "Traceback" not in result.stderr
    assert db.read_bytes() == garbage
    # nothing written beside it but the state dir's lock
    assert sorted(p.name for p in data.iterdir()) == ["aegisd.db", "aegisd.lock"]


def test_broken_plugin_is_isolated(tmp_path: Path) -> None:
    d = start_daemon(
        tmp_path, env={"AEGISD_PLUGINS__EXTRA": "aegisd_broken_plugin,aegisd_missing_module"}
    )
    try:
        plugins = {p["name"]: p for p in d.call("plugins.list")["plugins"]}
        assert plugins["aegisd_broken_plugin"]["status"] == "blocked"
        assert "missing widget" in plugins["aegisd_broken_plugin"]["error"]
        assert plugins["aegisd_missing_module"]["status"] == "blocked"
        assert "ModuleNotFoundError" in plugins["aegisd_missing_module"]["error"]
        assert plugins["aegisd.builtin.daemon_methods"]["status"] == "active"
        health = d.call("daemon.health")
        assert health["status"] == "degraded"
        assert any("aegisd_broken_plugin" in r for r in health["reasons"])
        result = run_cli(tmp_path, "status", "--socket", str(d.socket))
        assert "aegisd_broken_plugin blocked" in result.stdout
    finally:
        d.stop()


def test_call_exit_codes(daemon: DaemonProcess, tmp_path: Path) -> None:
    sock = str(daemon.socket)
    ok = run_cli(tmp_path, "call", "workspace.list", "--socket", sock)
    assert ok.returncode == 0
    assert len(json.loads(ok.stdout)["workspaces"]) == 1
    failed = run_cli(
        tmp_path, "call", "workspace.open", '{"root": "relative/dir"}', "--socket", sock
    )
    assert failed.returncode == 1
    assert json.loads(failed.stderr)["data"]["code"] == "INVALID_PATH"
    bad_json = run_cli(tmp_path, "call", "workspace.open", "{nope", "--socket", sock)
    assert bad_json.returncode == 64  # a usage error, not "no daemon"
    for args in (("call", "daemon.health"), ("status",), ("stop",)):
        gone = run_cli(tmp_path, *args, "--socket", str(tmp_path / "nobody.sock"))
        assert gone.returncode == 2, args
        assert "no aegisd answers" in gone.stderr


def test_stop_command_stops_the_daemon(daemon: DaemonProcess, tmp_path: Path) -> None:
    result = run_cli(tmp_path, "stop", "--socket", str(daemon.socket))
    assert result.returncode == 0
    assert daemon.proc.wait(20) == 0
    assert not daemon.socket.exists()


def test_install_service_writes_units_with_this_executable(tmp_path: Path) -> None:
    units = tmp_path / "units"
    result = run_cli(tmp_path, "install-service", "--unit-dir", str(units))
    assert result.returncode == 0, result.stderr
    service = (units / "aegisd.service").read_text()
    assert "Type=notify" in service and "Restart=on-failure" in service
    assert "UMask=0077" in service
    exec_line = next(line for line in service.splitlines() if line.startswith("ExecStart="))
    program = exec_line.split("=", 1)[1].split()[0]
    assert Path(program).exists() and "@EXEC@" not in service
    assert (units / "aegisd.socket").read_text().count("ListenStream=") == 1
    assert "systemctl --user enable --now aegisd.socket" in result.stdout


def test_json_logs(tmp_path: Path) -> None:
    d = start_daemon(tmp_path, "--log-format", "json")
    d.call("daemon.health")
    d.stop()
    records = [json.loads(line) for line in d.output().splitlines() if line.startswith("{")]
    rpc = [r for r in records if r["message"] == "rpc"]
    assert rpc and {"request_id", "method", "duration_ms", "outcome"} <= set(rpc[0])


def test_shipped_config_is_what_the_repo_has() -> None:
    # The wheel carries config/aegisd.toml; from the source tree it is read in place.
    from aegisd.paths import shipped_file

    assert (
        shipped_file("config/aegisd.toml").read_text() == (REPO / "config/aegisd.toml").read_text()
    )
    assert shutil.which("aegisd") is not None
    _ = pytest


def test_call_draws_progress_for_methods_that_report_it(tmp_path: Path) -> None:
    d = start_daemon(tmp_path, env={"AEGISD_PLUGINS__EXTRA": "aegisd_test_plugins"})
    try:
        result = run_cli(
            tmp_path, "call", "test.steps", '{"steps": 5}', "--progress", "--socket", str(d.socket)
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == {"steps": 5}
        assert "stepping [" in result.stderr and "5/5" in result.stderr
        failed = run_cli(tmp_path, "call", "nope", "--progress", "--socket", str(d.socket))
        assert failed.returncode == 1 and "METHOD_NOT_FOUND" in failed.stderr
        gone = run_cli(
            tmp_path, "call", "daemon.health", "--progress", "--socket", str(tmp_path / "x.sock")
        )
        assert gone.returncode == 2
    finally:
        d.stop()


def test_watchdog_is_pinged_from_the_event_loop(tmp_path: Path) -> None:
    notify_path = tmp_path / "notify-wd.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(notify_path))
    listener.settimeout(20)
    d = start_daemon(tmp_path, env={"NOTIFY_SOCKET": str(notify_path), "WATCHDOG_USEC": "200000"})
    messages = [listener.recv(4096).decode() for _ in range(4)]
    assert sum("WATCHDOG=1" in m for m in messages) >= 2
    d.stop()
    listener.close()


def test_roots_are_open_by_the_first_answer(daemon_factory: Any, tmp_path: Path) -> None:
    # The socket listens before --root workspaces open; requests wait for them.
    root = tmp_path / "project"
    root.mkdir()
    (root / "a.py").write_text("def first():\n    pass\n")
    d: DaemonProcess = daemon_factory("--root", str(root))
    listed = d.call("workspace.list")
    assert [ws["root"] for ws in listed["workspaces"]] == [str(root.resolve())]
