"""Load: many concurrent clients making mixed calls over the Unix socket; errors, latency, memory.

A daemon (`aegisd serve`, default logging) serves a small real workspace: a copy of aegisd's own
sources. Each client has its own keep-alive connection and client id and makes `--calls` calls
drawn from daemon.health, daemon.status, index.search, settings.get, workspace.changes and
index.file, checking every answer (HTTP 200, a JSON-RPC result for the id it sent). A full
warm-up round runs first so caches and allocator arenas are in place; then `--rounds` measured
rounds.
The daemon's RSS is read from /proc after the warm-up and after each round.

    python bench/load.py [--clients 200] [--calls 100] [--rounds 2] [--baseline-tree DIR]

With `--baseline-tree DIR` (a checkout of an earlier aegisd) a second daemon from that tree serves
its own copy of the same workspace; the rounds alternate between the two daemons and the report
adds the baseline's table and aegisd's ratios to it (calls/s, p50, p99, CPU per call).

Prints a table per round and per method, the RSS growth per 10,000 calls, and verdicts
(zero errors; growth at most RSS_TARGET_MIB per 10,000 calls). Exits 1 when any call failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import (
    REPO,
    baseline_tree,
    cpu_seconds,
    daemon_command,
    isolated_env,
    server_process,
)

RSS_TARGET_MIB = 3.0  # growth per 10,000 calls, at most
BASELINE_TARGET = 1.05  # CPU per call and p50 at most this many times the baseline's
TIMEOUT_S = 60.0
METHODS = (
    "daemon.health", "daemon.status", "index.search", "settings.get", "workspace.changes",
    "index.file",
)  # fmt: skip


@dataclass
class Workload:
    """What the calls draw their params from: the workspace's files and symbol names."""

    files: list[str]
    names: list[str]

    def params(self, method: str, rng: random.Random) -> dict[str, Any]:
        if method == "index.search":
            name = rng.choice(self.names)
            return {"query": name[: rng.randint(2, max(2, len(name)))], "limit": 20}
        if method == "index.file":
            return {"path": rng.choice(self.files)}
        if method == "workspace.changes":
            return {"since": 0}
        return {}


@dataclass
class Round:
    """Every call of one round: latency per method, errors, wall time."""

    name: str
    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    first_errors: list[str] = field(default_factory=list)
    rss_mib: float = 0.0
    daemon_cpu_s: float = 0.0

    @property
    def calls(self) -> int:
        return sum(len(v) for v in self.latencies.values()) + sum(self.errors.values())

    def all_latencies(self) -> list[float]:
        return sorted(itertools.chain.from_iterable(self.latencies.values()))

    def fail(self, method: str, detail: str) -> None:
        self.errors[method] += 1
        if len(self.first_errors) < 5:
            self.first_errors.append(f"{method}: {detail[:300]}")


def percentile_ms(sorted_s: Sequence[float], q: float) -> float:
    """Nearest-rank percentile, q in (0, 1]; NaN for no samples."""
    if not sorted_s:
        return math.nan
    return sorted_s[max(0, math.ceil(q * len(sorted_s)) - 1)] * 1000


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


class Connection:
    """A keep-alive HTTP/1.1 connection on the socket, kept minimal so the load generator
    spends its CPU on sending load rather than on a client library."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, name: str):
        self.reader, self.writer = reader, writer
        self.head = (
            "POST /rpc HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            f"X-Aegisd-Client: {name}\r\nContent-Length: "
        ).encode()
        self.ids = itertools.count(1)

    #: connects in flight at once: under any server's listen backlog (a `--baseline-tree`
    #: daemon may keep the old 128), since the bench measures calls, not connect bursts
    CONNECTING = 64
    _connecting: asyncio.Semaphore | None = None

    @classmethod
    async def open(cls, sock: Path, name: str) -> Connection:
        if cls._connecting is None:
            cls._connecting = asyncio.Semaphore(cls.CONNECTING)
        async with cls._connecting:
            reader, writer = await asyncio.open_unix_connection(str(sock), limit=2**22)
        return cls(reader, writer, name)

    async def call(self, method: str, params: Any) -> Any:
        """The method's result; raises RuntimeError on anything but a result for this id."""
        rid = next(self.ids)
        body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": rid})
        data = body.encode()
        self.writer.write(self.head + str(len(data)).encode() + b"\r\n\r\n" + data)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        text = await self.reader.readexactly(length)
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {text[:300]!r}")
        answer = json.loads(text)
        if "result" not in answer or answer.get("id") != rid:
            raise RuntimeError(text[:300].decode(errors="replace"))
        return answer["result"]

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def client(sock: Path, index: int, calls: int, work: Workload, seed: int, out: Round) -> None:
    """One client: its own connection and id, `calls` calls one after another."""
    rng = random.Random(seed * 100_003 + index)
    conn = await Connection.open(sock, f"load-{index}")
    try:
        for _ in range(calls):
            method = rng.choice(METHODS)
            started = time.perf_counter()
            try:
                await asyncio.wait_for(conn.call(method, work.params(method, rng)), TIMEOUT_S)
            except Exception as exc:
                out.fail(method, f"{type(exc).__name__}: {exc}")
                await conn.close()  # the stream may hold half an answer: start afresh
                conn = await Connection.open(sock, f"load-{index}")
                continue
            out.latencies[method].append(time.perf_counter() - started)
    finally:
        await conn.close()


async def run_round(
    name: str, sock: Path, pid: int, clients: int, calls: int, work: Workload, seed: int
) -> Round:
    out = Round(name)
    cpu_before = cpu_seconds(pid)
    started = time.perf_counter()
    await asyncio.gather(*(client(sock, i, calls, work, seed, out) for i in range(clients)))
    out.seconds = time.perf_counter() - started
    out.daemon_cpu_s = cpu_seconds(pid) - cpu_before
    out.rss_mib = rss_mib(pid)
    return out


async def prepare(sock: Path) -> Workload:
    """Wait for the index (and the first lint run) to settle; collect files and names."""
    conn = await Connection.open(sock, "load-setup")
    try:
        deadline = time.monotonic() + 300
        while True:
            status = await conn.call("index.status", {})
            lint_running = False
            with contextlib.suppress(RuntimeError):  # no lint plugin: nothing to wait for
                lint_running = (await conn.call("lint.report", {}))["running"]
            if status["ready"] and not status["pending"] and not lint_running:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the workspace did not settle: {status}")
            await asyncio.sleep(0.2)
        hits = (await conn.call("index.search", {"query": "a", "limit": 500}))["hits"]
    finally:
        await conn.close()
    names = sorted({hit["name"] for hit in hits if len(hit["name"]) >= 3})
    files = sorted({hit["path"] for hit in hits})
    if not names or not files:
        raise RuntimeError("the workspace has no symbols to search for")
    return Workload(files, names)


def report(
    args: argparse.Namespace,
    work: Workload,
    idle: float,
    rounds: list[Round],
    label: str = "aegisd",
) -> bool:
    print(
        f"{label} load: {args.clients} clients x {args.calls} calls over the Unix socket, "
        f"workspace {len(work.files)} files with symbols; Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (other processes share "
        "the CPUs: compare runs on a quiet machine)\n"
    )
    print(f"{'round':<9}{'calls':>8}{'errors':>8}{'seconds':>9}{'calls/s':>9}{'p50 ms':>9}"
          f"{'p99 ms':>9}{'daemon CPU':>12}{'RSS MiB':>9}{'MiB/10k':>9}")  # fmt: skip
    print(f"{'idle':<9}{'':>63}{idle:>9.1f}")
    before = idle
    for r in rounds:
        lat = r.all_latencies()
        print(
            f"{r.name:<9}{r.calls:>8,}{sum(r.errors.values()):>8}{r.seconds:>9.2f}"
            f"{r.calls / r.seconds:>9,.0f}{percentile_ms(lat, 0.5):>9.2f}"
            f"{percentile_ms(lat, 0.99):>9.2f}{r.daemon_cpu_s / r.seconds:>11.0%} "
            f"{r.rss_mib:>9.1f}{(r.rss_mib - before) / (r.calls / 10_000):>+9.2f}"
        )
        before = r.rss_mib
    measured = rounds[1:]
    print(f"\n{'method (measured rounds)':<26}{'calls':>8}{'errors':>8}{'p50 ms':>9}{'p99 ms':>9}")
    for method in METHODS:
        lat = sorted(itertools.chain.from_iterable(r.latencies[method] for r in measured))
        errors = sum(r.errors[method] for r in measured)
        print(
            f"{method:<26}{len(lat) + errors:>8,}{errors:>8}"
            f"{percentile_ms(lat, 0.5):>9.2f}{percentile_ms(lat, 0.99):>9.2f}"
        )
    for r in rounds:
        for line in r.first_errors:
            print(f"  error in {r.name}: {line}")
    calls = sum(r.calls for r in measured)
    growth = (measured[-1].rss_mib - rounds[0].rss_mib) / (calls / 10_000)
    errors = sum(sum(r.errors.values()) for r in rounds)
    cpu_us = sum(r.daemon_cpu_s for r in measured) / calls * 1e6
    print(f"\ndaemon CPU per call: {cpu_us:.0f} µs (100% = one core busy)")
    print(
        f"RSS {rounds[0].rss_mib:.1f} MiB after the warm-up -> {measured[-1].rss_mib:.1f} MiB "
        f"after {calls:,} more calls: {growth:+.2f} MiB per 10,000 calls"
    )
    print(f"zero errors: {'PASS' if errors == 0 else 'FAIL'} ({errors} errors)")
    print(
        f"RSS growth <= {RSS_TARGET_MIB} MiB per 10,000 calls: "
        f"{'PASS' if growth <= RSS_TARGET_MIB else 'FAIL'} ({growth:+.2f})"
    )
    return errors == 0


@dataclass
class Daemon:
    """One daemon under load and what it measured."""

    label: str
    sock: Path
    pid: int
    idle: float = 0.0
    rounds: list[Round] = field(default_factory=list)


async def run(args: argparse.Namespace, daemons: Sequence[Daemon]) -> Workload:
    """Settle every daemon, then the same rounds on each, alternating which goes first."""
    works = [await prepare(d.sock) for d in daemons]
    work = works[0]
    for d in daemons:
        d.idle = rss_mib(d.pid)
    # A full round: the result caches fill (every distinct query of the workload once) and the
    # allocator's arenas reach their size, so RSS growth afterwards means a leak, not warm-up.
    warm_calls = args.calls
    for d in daemons:
        d.rounds.append(
            await run_round("warm-up", d.sock, d.pid, args.clients, warm_calls, work, 0)
        )
    for n in range(1, args.rounds + 1):
        for d in daemons if n % 2 else reversed(daemons):
            d.rounds.append(
                await run_round(str(n), d.sock, d.pid, args.clients, args.calls, work, n)
            )
        print(f"round {n}/{args.rounds} done", file=sys.stderr, flush=True)
    return work


def report_baseline(ours: Daemon, base: Daemon) -> None:
    """aegisd's measured rounds against the baseline daemon's, same calls, same run."""

    def figures(d: Daemon) -> tuple[float, float, float, float]:
        measured = d.rounds[1:]
        lat = sorted(itertools.chain.from_iterable(r.all_latencies() for r in measured))
        calls = sum(r.calls for r in measured)
        seconds = sum(r.seconds for r in measured)
        cpu_us = sum(r.daemon_cpu_s for r in measured) / calls * 1e6
        return calls / seconds, percentile_ms(lat, 0.5), percentile_ms(lat, 0.99), cpu_us

    a, b = figures(ours), figures(base)
    print(f"\n{'against the baseline':<22}{'calls/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'CPU µs':>9}")
    print(f"{'aegisd':<22}{a[0]:>10,.0f}{a[1]:>9.2f}{a[2]:>9.2f}{a[3]:>9.0f}")
    print(f"{'baseline':<22}{b[0]:>10,.0f}{b[1]:>9.2f}{b[2]:>9.2f}{b[3]:>9.0f}")
    ratios = (b[0] / a[0], a[1] / b[1], a[2] / b[2], a[3] / b[3])
    print(f"{'ratio (lower is better)':<22}" + "".join(f"{r:>8.2f}x" for r in ratios))
    worst = max(ratios[1], ratios[3])
    print(
        f"CPU per call and p50 <= {BASELINE_TARGET}x the baseline: "
        f"{'PASS' if worst <= BASELINE_TARGET else 'FAIL'} (worst {worst:.2f}x)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--calls", type=int, default=100, help="calls per client per round")
    parser.add_argument("--rounds", type=int, default=2, help="measured rounds after the warm-up")
    parser.add_argument(
        "--baseline-tree",
        type=baseline_tree,
        help="an earlier aegisd checkout to load in the same run (a change's cost)",
    )
    args = parser.parse_args(argv)
    if min(args.clients, args.calls, args.rounds) < 1:
        parser.error("--clients, --calls and --rounds must be positive")
    trees = {"aegisd": REPO}
    if args.baseline_tree is not None:
        trees["baseline"] = args.baseline_tree
    with (
        tempfile.TemporaryDirectory(prefix="aegisd-load-") as tmp_name,
        contextlib.ExitStack() as stack,
    ):
        tmp = Path(tmp_name)
        daemons = []
        for label, tree in trees.items():
            project = tmp / label / "project"
            shutil.copytree(
                REPO / "aegisd", project / "aegisd", ignore=shutil.ignore_patterns("__pycache__")
            )
            sock = tmp / label / "aegisd.sock"
            cmd = daemon_command(sock, tmp / label / "state", "--root", str(project))
            env = isolated_env(tmp / label, tree)
            proc = stack.enter_context(server_process(cmd, sock, tmp / label / "aegisd.log", env))
            daemons.append(Daemon(label, sock, proc.pid))
        work = asyncio.run(run(args, daemons))
        stack.close()
    ok = all([report(args, work, d.idle, d.rounds, d.label) for d in daemons])
    if len(daemons) == 2:
        report_baseline(*daemons)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
