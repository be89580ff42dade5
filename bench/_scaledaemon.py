"""Daemons for `bench/scale.py`: started as the other benches start them, stopped and checked.

A `Daemon` times how long SIGTERM takes to stop it, and counts the processes of its tree (pool
workers, forkservers, linters) that outlive it; those are killed, by pid, so the bench leaves
nothing running. `MemoryPeak` polls the tree's memory while a block runs.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from _common import Rpc, daemon_command, dir_bytes, isolated_env, process_tree, tree_memory
from _common import server_process as _server_process

START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 120.0  # longer than the daemon's own drain limit: the figure is its stop time
BUDGET_ENV = "AEGISD_MEMORY__BUDGET_MIB"
LOG_ENTRY_LINES = 60
_STALL = re.compile(r"the event loop stalled for (\d+) ms")  # aegisd/loopwatch.py
QUIET_S = 1.0  # a change settles once index.status stays unchanged and not pending this long


class BenchError(Exception):
    """The daemon did not do what the bench waits for (start, index, find an edit)."""


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def daemon_env(tmp: Path) -> dict[str, str]:
    """The benches' isolated environment, with the user's memory budget passed through."""
    env = isolated_env(tmp)
    if BUDGET_ENV in os.environ:
        env[BUDGET_ENV] = os.environ[BUDGET_ENV]
    return env


def _start_time(pid: int) -> str | None:
    """A process's start time (field 22 of /proc/PID/stat): tells a survivor from a reused pid."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


class Daemon:
    """`aegisd serve` on `tmp/<name>.sock` with `state` as its data dir, for one `with` block."""

    def __init__(self, tmp: Path, state: Path, env: dict[str, str], name: str, *args: str):
        self.sock = tmp / f"{name}.sock"
        self.state = state
        self.log = tmp / f"{name}.log"
        self._cmd = daemon_command(self.sock, state, *args)
        self._env = env
        self._stack = contextlib.ExitStack()
        self.stop_s: float | None = None  # None: did not stop within STOP_TIMEOUT_S
        self.leftovers = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.peak: MemoryPeak | None = None  # a watch on its memory, stopped with it
        self.rpc = Rpc(self.sock)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def reconnect(self) -> Rpc:
        self.rpc = Rpc(self.sock)
        return self.rpc

    def data_mib(self) -> float:
        return dir_bytes(self.state) / 2**20

    def log_errors(self) -> list[str]:
        """Each ERROR or CRITICAL entry of the daemon's log with its indented traceback, for
        the report (the table shows the first line of each)."""
        if not self.log.exists():
            return []
        entries: list[list[str]] = []
        inside = False  # lines indented under an entry are its traceback
        for line in self.log.read_text(errors="replace").splitlines():
            if "| ERROR" in line or "| CRITICAL" in line:
                entries.append([line])
                inside = True
            elif inside and line[:1].isspace():
                if len(entries[-1]) < LOG_ENTRY_LINES:
                    entries[-1].append(line)
            else:
                inside = False
        return [f"{self.log.stem}: " + "\n".join(e) for e in entries]

    def loop_stalls(self) -> list[tuple[str, float]]:
        """Each stall of the daemon's event loop its loop watch logged: (log name, ms)."""
        if not self.log.exists():
            return []
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            hit = _STALL.search(line)
            if hit:
                found.append((self.log.stem, float(hit.group(1))))
        return found

    def __enter__(self) -> Daemon:
        self.proc = self._stack.enter_context(
            _server_process(self._cmd, self.sock, self.log, self._env, START_TIMEOUT_S, 0.005)
        )
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self.peak is not None:
                self.peak.stop()
            self._stop()
        finally:
            self._stack.close()  # kills the daemon if it is still there

    def _stop(self) -> None:
        """SIGTERM, timed; then the processes of its tree that outlived it are killed."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        tree = {pid: _start_time(pid) for pid in process_tree(proc.pid)[1:]}
        start = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT_S)
            self.stop_s = time.perf_counter() - start
        except subprocess.TimeoutExpired:
            note(f"{self.log.stem}: still running {STOP_TIMEOUT_S:.0f} s after SIGTERM; killed")
            proc.kill()
            proc.wait()
        time.sleep(0.5)  # children asked to exit with the daemon get a moment to do so
        for pid, started in tree.items():
            if started is not None and _start_time(pid) == started:
                self.leftovers += 1
                note(f"{self.log.stem}: process {pid} outlived its daemon; killed")
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)


class MemoryPeak:
    """The highest PSS of a process tree (MiB, summed) from start() to stop(), every 0.5 s."""

    def __init__(self, pid: int, interval_s: float = 0.5) -> None:
        self.pid, self.interval_s = pid, interval_s
        self.pss = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.pss = max(self.pss, tree_memory(self.pid)[1])
            self._stop.wait(self.interval_s)

    def start(self) -> MemoryPeak:
        self._thread.start()
        return self

    def stop(self) -> float:
        """Stops polling (idempotent); the peak."""
        if not self._stop.is_set():
            self._stop.set()
            self._thread.join()
            self.pss = max(self.pss, tree_memory(self.pid)[1])
        return self.pss


def wait_ready(rpc: Any, timeout_s: float) -> dict[str, Any]:
    """index.status once the code map is ready and nothing is pending."""
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        status: dict[str, Any] = rpc("index.status")
        if status["ready"] and not status["pending"]:
            return status
        time.sleep(0.05)
    raise BenchError(f"the index was not ready within {timeout_s:.0f} s")


def settled_after(rpc: Any, clock: int, timeout_s: float) -> float:
    """perf_counter() when index.status first showed a clock past `clock`, ready and not pending
    that then held for QUIET_S (a change arrives in batches: pending may drop between them)."""
    deadline = time.perf_counter() + timeout_s
    since: float | None = None
    seen = clock
    while time.perf_counter() < deadline:
        status = rpc("index.status")
        now = time.perf_counter()
        settled = status["clock"] > clock and status["ready"] and not status["pending"]
        if not settled:
            since = None
        elif since is None or status["clock"] != seen:
            since = now
        elif now - since >= QUIET_S:
            return since
        seen = status["clock"]
        time.sleep(0.02)
    raise BenchError(f"the change was not indexed within {timeout_s:.0f} s")
