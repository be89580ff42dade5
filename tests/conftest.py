"""Shared test harness: real daemon processes on temporary sockets, and in-process apps."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import UnixConnector
from aiohttp.test_utils import TestClient, TestServer

from aegisd import workers
from aegisd.app import create_app
from aegisd.client import Client
from aegisd.config import DaemonConfig, load_config
from aegisd.daemon import Daemon
from tests import leftovers

REPO = Path(__file__).resolve().parent.parent
TESTS = REPO / "tests"
#: this checkout's code for child processes too: on Python 3.11 a forkserver ignores the parent's
#: sys.path and preloads the plugins' pool modules from wherever the installed package points
#: (another checkout, for an editable install), so in-process tests' worker pools would run that
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(REPO), str(REPO / "plugins"), *filter(None, [os.environ.get("PYTHONPATH")])]
)
_STARTED = pytest.StashKey[set[int]]()


def pytest_configure(config: pytest.Config) -> None:
    leftovers.mark_run()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    # Processes that fixtures started may serve later tests too (module-scoped daemons);
    # what the test itself starts must be gone once its fixtures are torn down.
    item.stash[_STARTED] = set(leftovers.ours())
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    result = yield
    if _STARTED in item.stash and (left := leftovers.survivors(item.stash[_STARTED])):
        workers.stop_servers(timeout_s=1)  # this process's own, if they are among them
        leftovers.kill(left)
        pytest.fail("processes the test started outlived it:\n" + "\n".join(map(str, left)))
    return result


def pytest_sessionfinish(session: pytest.Session) -> None:
    if left := leftovers.survivors(set()):
        leftovers.kill(left)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print("\nprocesses the test run started outlived it:", *left, sep="\n")


def isolated_env(tmp: Path, **extra: str) -> dict[str, str]:
    """Environment for a daemon or client process that never touches the user's files."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AEGISD_", "XDG_"))}
    env.update(
        XDG_CONFIG_HOME=str(tmp / "xdg-config"),
        XDG_STATE_HOME=str(tmp / "xdg-state"),
        XDG_RUNTIME_DIR=str(tmp / "xdg-runtime"),
        PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "plugins"), str(TESTS / "support")]),
    )
    env.update(extra)
    return env


@dataclass
class DaemonProcess:
    """A real `aegisd serve` subprocess and a client for it."""

    proc: subprocess.Popen[str]
    socket: Path
    data_dir: Path
    log: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def client(self) -> Client:
        return Client(self.socket, timeout=30)

    def call(self, method: str, params: Any = None) -> Any:
        return self.client.call(method, params)

    def post(
        self, body: bytes | str, headers: dict[str, str] | None = None
    ) -> tuple[int, Any, dict[str, str]]:

        from aegisd.client import _UnixConnection

        conn = _UnixConnection(self.socket, 30)
        data = body.encode() if isinstance(body, str) else body
        conn.request("POST", "/rpc", body=data, headers=headers or {})
        response = conn.getresponse()
        raw = response.read()
        conn.close()
        parsed = json.loads(raw) if raw else None
        return response.status, parsed, dict(response.headers)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def wait_for_socket(socket: Path, proc: subprocess.Popen[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    client = Client(socket, timeout=5)
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"daemon exited early with {proc.returncode}")
        if socket.exists():
            try:
                client.call("daemon.health")
                return
            except Exception:
                pass
        time.sleep(0.05)
    raise TimeoutError(f"daemon did not answer on {socket}")


def start_daemon(
    tmp: Path,
    *args: str,
    env: dict[str, str] | None = None,
    socket: Path | None = None,
    data_dir: Path | None = None,
    wait: bool = True,
    wrapper: Sequence[str] = (),
) -> DaemonProcess:
    """`aegisd serve` in a subprocess (run through `wrapper`, e.g. `setpriv ...`, if given)."""
    socket = socket or tmp / "run" / "aegisd.sock"
    data_dir = data_dir or tmp / "state"
    log = tmp / f"daemon-{time.monotonic_ns()}.log"
    full_env = isolated_env(tmp, **(env or {}))
    cmd = [
        *wrapper,
        sys.executable,
        "-m",
        "aegisd",
        "serve",
        "--socket",
        str(socket),
        "--data-dir",
        str(data_dir),
        *args,
    ]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=full_env, text=True)
    daemon = DaemonProcess(proc, socket, data_dir, log, full_env)
    if wait:
        try:
            wait_for_socket(socket, proc)
        except Exception:
            daemon.stop(signal.SIGKILL)
            raise RuntimeError(f"daemon failed to start:\n{daemon.output()}") from None
    return daemon


@pytest.fixture
def daemon_factory(tmp_path: Path) -> Iterator[Any]:
    started: list[DaemonProcess] = []

    def factory(*args: str, **kwargs: Any) -> DaemonProcess:
        d = start_daemon(tmp_path, *args, **kwargs)
        started.append(d)
        return d

    yield factory
    # As a user stops it (SIGKILL only if that takes too long): the daemon's stop ends what it
    # started, tool runs included; killed, a linter stuck on a FIFO outlived it.
    for d in started:
        d.stop()


@pytest.fixture
def daemon(daemon_factory: Any, tmp_path: Path) -> DaemonProcess:
    """A real daemon with one workspace (an empty project dir) open."""
    project = tmp_path / "project"
    project.mkdir()
    return daemon_factory("--root", str(project))  # type: ignore[no-any-return]


def make_config(tmp_path: Path, **overrides: Any) -> DaemonConfig:
    flags = {"socket": tmp_path / "run" / "a.sock", "data_dir": tmp_path / "state", **overrides}
    return load_config(flags, environ={})


@pytest.fixture
def pool_servers() -> Iterator[None]:
    """For tests that run process pools in this process: the forkserver and resource tracker
    the pools start are stopped after the test, as a daemon's stop does."""
    yield
    assert workers.stop_servers(), "a process pool is still running"


@pytest_asyncio.fixture
async def app_daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    """An in-process daemon (started, store open) for handler-level tests."""
    daemon = Daemon(make_config(tmp_path))
    await daemon.start()
    yield daemon
    await daemon.stop()


@pytest_asyncio.fixture
async def rpc_client(app_daemon: Daemon, tmp_path: Path) -> AsyncIterator[TestClient[Any, Any]]:
    """An aiohttp test client talking to the in-process daemon's app."""
    # The test server listens on loopback TCP, which requires the bearer token.
    server = TestServer(create_app(app_daemon, token="test-token"))
    client: TestClient[Any, Any] = TestClient(
        server, headers={"Authorization": "Bearer test-token"}
    )
    await client.start_server()
    yield client
    await client.close()


__all__ = ["DaemonProcess", "UnixConnector", "isolated_env", "make_config", "start_daemon"]
