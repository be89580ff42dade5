"""`aegisd serve` keeps its files to its user: state dir 0700 and files 0600 whatever the umask,
a socket dir others can write refused, an existing dir's mode left alone, and one daemon per
state dir."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DaemonProcess, isolated_env, start_daemon


def run_serve(tmp: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aegisd", "serve", *args],
        capture_output=True,
        text=True,
        env=isolated_env(tmp),
        timeout=timeout,
        cwd=tmp,
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def walk(root: Path) -> Iterator[Path]:
    yield root
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            yield Path(dirpath) / name


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The daemon starts with the usual umask 022 (which made the state world-readable)."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_the_state_dir_and_everything_in_it_is_private(
    daemon_factory: Any, tmp_path: Path, loose_umask: None
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "a.py").write_text("import os\nx = 1\n")
    data = tmp_path / "deep" / "state"
    d: DaemonProcess = daemon_factory(
        "--root", str(project), "--tcp", f"127.0.0.1:{free_port()}", data_dir=data
    )
    run = d.call("audit.start_run", {"name": "perm", "workspace": str(project)})["id"]
    d.call("audit.log_event", {"run": run, "type": "note", "title": "hello"})
    d.call("lint.run", {})
    expected = {"aegisd.db", "aegisd.db-wal", "aegisd.db-shm", "aegisd.lock", "token"}
    assert expected <= {p.name for p in data.iterdir()}
    assert mode(tmp_path / "deep") == 0o700  # created by the daemon, parents too
    for path in walk(data):
        wanted = 0o700 if path.is_dir() else 0o600
        assert mode(path) & ~wanted == 0, f"{path}: {mode(path):04o}"
    assert d.stop() == 0


def test_an_older_state_dirs_loose_files_are_tightened(tmp_path: Path, loose_umask: None) -> None:
    data = tmp_path / "state"
    first = start_daemon(tmp_path, data_dir=data)
    assert first.stop() == 0
    data.chmod(0o755)  # as an older version left them
    for path in data.iterdir():
        path.chmod(0o644)
    (data / "audit-preimages").mkdir(mode=0o755)
    again = start_daemon(tmp_path, data_dir=data)
    try:
        for path in data.iterdir():
            wanted = 0o700 if path.is_dir() else 0o600
            assert mode(path) == wanted, path
        assert mode(data) == 0o755  # the dir itself is the user's to decide: reported only
        assert "open to other users" in again.output()
    finally:
        again.stop()


def test_an_existing_socket_dir_keeps_its_mode(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    run.chmod(0o755)
    d = start_daemon(tmp_path, socket=run / "x.sock")
    try:
        assert mode(run) == 0o755
        assert mode(run / "x.sock") == 0o600
    finally:
        d.stop()


@pytest.mark.parametrize(
    ("dir_mode", "owner", "refused"),
    [
        (0o777, None, "writable by other users"),
        (0o775, None, "writable by other users"),
        (0o1777, None, None),  # sticky, like /tmp: others cannot replace our socket
        (0o700, 65534, "belongs to another user"),
    ],
)
def test_a_socket_dir_others_can_write_is_refused(
    tmp_path: Path, dir_mode: int, owner: int | None, refused: str | None
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(dir_mode)
    if owner is not None:
        if os.getuid() != 0:
            pytest.skip("giving a directory to another user needs root")
        os.chown(shared, owner, owner)
    if refused is None:
        d = start_daemon(tmp_path, socket=shared / "x.sock")
        assert d.stop() == 0
        assert mode(shared) == dir_mode
        return
    result = run_serve(
        tmp_path, "--socket", str(shared / "x.sock"), "--data-dir", str(tmp_path / "state")
    )
    assert result.returncode == 1
    assert refused in result.stderr and str(shared) in result.stderr
    assert "Traceback" not in result.stderr
    assert mode(shared) == dir_mode and not (shared / "x.sock").exists()


def test_a_second_daemon_on_the_same_state_dir_is_refused_naming_the_pid(
    daemon: DaemonProcess, tmp_path: Path
) -> None:
    other_socket = tmp_path / "elsewhere" / "other.sock"
    result = run_serve(tmp_path, "--socket", str(other_socket), "--data-dir", str(daemon.data_dir))
    assert result.returncode == 1
    assert f"pid {daemon.proc.pid}" in result.stderr
    assert str(daemon.data_dir) in result.stderr
    assert "Traceback" not in result.stderr
    assert not other_socket.exists()
    assert daemon.call("daemon.health")["status"] == "ok"


def test_the_state_dir_lock_is_released_on_exit(tmp_path: Path) -> None:
    first = start_daemon(tmp_path)
    assert first.stop() == 0
    again = start_daemon(tmp_path, socket=tmp_path / "run2" / "b.sock")
    try:
        assert again.call("daemon.health")["pid"] == again.proc.pid
    finally:
        again.stop()
