"""Shared by the benchmarks: server subprocesses in an isolated environment, and their CPU time."""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CPU_TICK_S = 1 / os.sysconf("SC_CLK_TCK")  # the resolution of cpu_seconds()


def isolated_env(tmp: Path, tree: Path = REPO) -> dict[str, str]:
    """An environment that keeps a daemon away from the user's config, state and socket.

    `tree` is the source tree the daemon imports: another checkout (`--baseline-tree`) runs an
    older aegisd beside this one in the same run.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AEGISD_", "XDG_"))}
    env.update(
        XDG_CONFIG_HOME=str(tmp / "xdg-config"),
        XDG_STATE_HOME=str(tmp / "xdg-state"),
        XDG_RUNTIME_DIR=str(tmp / "xdg-runtime"),
        PYTHONPATH=os.pathsep.join([str(tree), str(tree / "plugins")]),
        # Load generators exceed a person's budget: raise it (the check itself still runs).
        AEGISD_RATE_LIMITS__READ__RATE="1e9",
        AEGISD_RATE_LIMITS__READ__BURST="1e9",
        AEGISD_RATE_LIMITS__WRITE__RATE="1e9",
        AEGISD_RATE_LIMITS__WRITE__BURST="1e9",
    )
    return env


def daemon_command(sock: Path, data_dir: Path, *args: str) -> list[str]:
    """`aegisd serve` as a user would run it (default log level and format)."""
    return [
        sys.executable,
        "-m",
        "aegisd",
        "serve",
        "--socket",
        str(sock),
        "--data-dir",
        str(data_dir),
        *args,
    ]


def baseline_tree(text: str) -> Path:
    """argparse type for `--baseline-tree`: a checkout of aegisd (e.g. `git worktree add`)."""
    path = Path(text).resolve()
    if not (path / "aegisd" / "__init__.py").is_file():
        raise argparse.ArgumentTypeError(f"{path} is not an aegisd source tree")
    return path


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as fh:
        # Split after the command name, which may itself hold spaces or parentheses.
        fields = fh.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state) of proc(5); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) * CPU_TICK_S


def _accepts(sock: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(sock))
        except OSError:
            return False
    return True


@contextlib.contextmanager
def server_process(
    cmd: Sequence[str],
    sock: Path,
    log: Path,
    env: dict[str, str],
    timeout: float = 30.0,
    poll_s: float = 0.05,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server with its output in `log` until it accepts on `sock`; SIGTERM it on exit."""
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + timeout
        while not (sock.exists() and _accepts(sock)):
            if proc.poll() is not None or time.monotonic() > deadline:
                output = log.read_text(errors="replace")
                raise RuntimeError(f"{cmd[0]} did not start on {sock}:\n{output}")
            time.sleep(poll_s)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class _Conn(http.client.HTTPConnection):
    def __init__(self, path: Path) -> None:
        super().__init__("localhost", timeout=60)
        self._path = str(path)

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self._path)


class Rpc:
    """JSON-RPC over one keep-alive HTTP connection on the daemon's socket."""

    def __init__(self, path: Path) -> None:
        self.conn = _Conn(path)

    def __call__(self, method: str, params: Any = None) -> Any:
        body = {"jsonrpc": "2.0", "method": method, "id": 1, "params": params or {}}
        self.conn.request("POST", "/rpc", json.dumps(body), {"Content-Type": "application/json"})
        answer = json.loads(self.conn.getresponse().read())
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer["result"]


@contextlib.contextmanager
def health_probes(sock: Path) -> Iterator[list[float]]:
    """`daemon.health` every 10 ms from a thread while the block runs; its latencies in ms."""
    latencies: list[float] = []
    stop = threading.Event()

    def probe() -> None:
        rpc = Rpc(sock)
        while not stop.is_set():
            started = time.perf_counter()
            rpc("daemon.health")
            latencies.append((time.perf_counter() - started) * 1000)
            stop.wait(0.01)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        yield latencies
    finally:
        stop.set()
        prober.join()
