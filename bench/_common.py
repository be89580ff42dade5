"""Shared by the benchmarks: server subprocesses in an isolated environment, and their CPU time."""

from __future__ import annotations

import argparse
import ast
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
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
        body = json.dumps({"jsonrpc": "2.0", "method": method, "id": 1, "params": params or {}})
        try:
            answer = self._post(body)
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # The daemon closes a keep-alive connection idle past its timeout (a settle of
            # minutes): once, on a new connection.
            self.conn.close()
            answer = self._post(body)
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer["result"]

    def _post(self, body: str) -> Any:
        self.conn.request("POST", "/rpc", body, {"Content-Type": "application/json"})
        return json.loads(self.conn.getresponse().read())


@contextlib.contextmanager
def health_probes(sock: Path, interval_s: float = 0.01) -> Iterator[list[float]]:
    """`daemon.health` every `interval_s` from a thread while the block runs; latencies in ms."""
    latencies: list[float] = []
    stop = threading.Event()

    def probe() -> None:
        rpc = Rpc(sock)
        try:
            while not stop.is_set():
                started = time.perf_counter()
                rpc("daemon.health")
                latencies.append((time.perf_counter() - started) * 1000)
                stop.wait(interval_s)
        finally:
            rpc.conn.close()

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        yield latencies
    finally:
        stop.set()
        prober.join()


def percentile(values: Sequence[float], p: float) -> float:
    """The value at fraction `p` of the sorted values (nearest rank); 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def process_tree(pid: int) -> list[int]:
    """A process and all its descendants (workers, forkservers, linters), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process tree, counting the children each process has already reaped
    (the pool's workers are gone once a large batch is done)."""
    total = 0.0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15]) * CPU_TICK_S  # utime stime cutime cstime
    return total


def tree_memory(pid: int) -> tuple[float, float]:
    """RSS and PSS of a process tree in MiB, each summed over its processes. Summed RSS counts
    pages the processes share (a forkserver's workers share its imports) once per process;
    PSS divides each shared page among its sharers, so its sum is the memory the tree takes."""
    rss = pss = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            continue  # gone meanwhile
    return rss / 1024, pss / 1024


def dir_bytes(path: Path) -> int:
    """Bytes of the files under `path` (a daemon's data dir: database, WAL, spools)."""
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(folder, name)).st_size
    return total


def _walk_file(path: str) -> int:
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError):
        return 0
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            count += 1
    return count


def bare_index(files: Sequence[str]) -> tuple[float, int]:
    """The floor for indexing Python: ast.parse and a walk for definitions in 2 processes.
    Seconds and definitions found."""
    start = time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        symbols = sum(pool.map(_walk_file, files, chunksize=24))
    return time.perf_counter() - start, symbols


def ctags_index(root: Path, *flags: str) -> float | None:
    """Seconds universal-ctags takes on `root` (`ctags -R`), or None when it is not installed."""
    ctags = shutil.which("ctags")
    if ctags is None:
        return None
    version = subprocess.run([ctags, "--version"], capture_output=True, text=True).stdout
    if "Universal Ctags" not in version:
        return None
    start = time.perf_counter()
    subprocess.run([ctags, "-R", "-f", os.devnull, *flags, str(root)], check=True)
    return time.perf_counter() - start


Row = tuple[str, str, str]
"""A report row: what, the figure, a verdict ("ok", "MISSED" or "")."""


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def binding_share_rows(
    cold: dict[bool, list[float]], cpu: dict[bool, list[float]], target: float = 0.5
) -> list[Row]:
    """The navigation benches' cold-index rows: medians without and with name binding, and
    what binding adds (wall: checked against ``target``; CPU)."""
    bound, unbound = statistics.median(cold[True]), statistics.median(cold[False])
    cpu_bound, cpu_unbound = statistics.median(cpu[True]), statistics.median(cpu[False])
    share, cpu_share = bound / unbound - 1, cpu_bound / cpu_unbound - 1
    spread = ", ".join(f"{b / u - 1:.0%}" for b, u in zip(cpu[True], cpu[False], strict=True))
    return [
        ("cold index without bindings", f"{unbound:.2f} s ({cpu_unbound:.1f} CPU s)", ""),
        ("cold index with bindings", f"{bound:.2f} s ({cpu_bound:.1f} CPU s)", ""),
        (f"  bindings add, wall (target <= {target:.0%})", f"{share:.0%}", verdict(share <= target)),
        ("  bindings add, CPU (each round)", f"{cpu_share:.0%} ({spread})", verdict(cpu_share <= target)),
    ]  # fmt: skip


def print_rows(rows: Sequence[Row]) -> None:
    """A bench's report table, after the Python version it ran on."""
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    width = max(len(r[0]) for r in rows)
    for name, value, mark in rows:
        print(f"{name:<{width}}  {value:<32} {mark}")
