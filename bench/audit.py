"""Benchmark the audit trail's write path and its agent hook.

Prints, from one run:
- acknowledged `audit.log_event` calls per second (each answered only once committed) at
  concurrency 1 and 32, over POST /rpc on keep-alive connections, with the daemon's CPU per event
  (rate limits off, so that the write path is measured rather than the limiter), beside
  `daemon.health` over the same transport;
- beside them, raw SQLite inserts with the same durability (WAL, synchronous=NORMAL, a commit
  before each acknowledgement) into a table of the same shape, one commit per insert and 32
  inserts per commit, in this process;
- `aegisd audit hook` wall time per invocation (a new interpreter each time, as an agent runs
  it), with the daemon up and with no daemon (spooled), taking turns with `python -c pass`
  (target ≤ 150 ms with the daemon up).

    python bench/audit.py [--duration S] [--repeats R] [--hooks N]

Each events/s figure is the median of the repeats. Always exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from _common import REPO, cpu_seconds, daemon_command, isolated_env, server_process

from aegisd.client import Client

HOOK_TARGET_MS = 150.0
PAYLOADS = (REPO / "tests/fixtures/audit/agent-hook-payloads.jsonl").read_text().splitlines()
EVENT_TABLE = (
    "CREATE TABLE event (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL,"
    " type TEXT NOT NULL, title TEXT NOT NULL, detail TEXT, actor TEXT NOT NULL, phase TEXT,"
    " status TEXT NOT NULL, ref TEXT, payload TEXT, truncated INTEGER NOT NULL,"
    " created_at TEXT NOT NULL)"
)


@dataclass(frozen=True)
class Rate:
    events_per_s: float
    p50_ms: float
    p99_ms: float
    cpu_us: float | None  # the daemon's CPU per event


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def _median_rate(rates: Sequence[Rate]) -> Rate:
    cpus = [r.cpu_us for r in rates if r.cpu_us is not None]
    return Rate(
        statistics.median(r.events_per_s for r in rates),
        statistics.median(r.p50_ms for r in rates),
        statistics.median(r.p99_ms for r in rates),
        statistics.median(cpus) if cpus else None,
    )


# --- the daemon -------------------------------------------------------------------------------


def log_event(run: int) -> Callable[[int], dict[str, Any]]:
    def body(seq: int) -> dict[str, Any]:
        return {
            "jsonrpc": "2.0", "id": seq, "method": "audit.log_event",
            "params": {"run": run, "type": "command", "title": f"$ step {seq}", "detail": "ok",
                       "payload": {"argv": ["make", "test"], "seq": seq}},
        }  # fmt: skip

    return body


def health(seq: int) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": seq, "method": "daemon.health"}


async def drive(
    sock: Path, pid: int, body: Callable[[int], dict[str, Any]], concurrency: int, seconds: float
) -> Rate:
    """`concurrency` workers calling the daemon back to back for `seconds`."""
    connector = aiohttp.UnixConnector(path=str(sock), limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def call(seq: int) -> None:
            async with session.post("http://localhost/rpc", json=body(seq)) as response:
                answer = await response.json()
            if "result" not in answer:
                raise RuntimeError(f"call failed: {answer}")

        await asyncio.gather(*(call(n) for n in range(concurrency)))  # connections open
        latencies: list[float] = []
        deadline = time.perf_counter() + seconds

        async def worker(start: int) -> None:
            seq = start
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                await call(seq)
                latencies.append(time.perf_counter() - began)
                seq += concurrency

        cpu_before = cpu_seconds(pid)
        started = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in range(concurrency)))
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds(pid) - cpu_before
    latencies.sort()
    return Rate(
        len(latencies) / elapsed,
        _percentile(latencies, 0.5) * 1000,
        _percentile(latencies, 0.99) * 1000,
        cpu / len(latencies) * 1e6,
    )


# --- raw SQLite with the same durability ------------------------------------------------------


def raw_inserts(path: Path, per_commit: int, seconds: float) -> Rate:
    """Insert event rows for `seconds`, committing every `per_commit` rows (WAL, NORMAL)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=wal")
    db.execute("PRAGMA synchronous=normal")
    db.execute("DROP TABLE IF EXISTS event")
    db.execute(EVENT_TABLE)
    payload = json.dumps({"argv": ["make", "test"], "seq": 0})
    row = (1, "command", "$ step", "ok", "agent", None, "ok", None, payload, 0, "2026-01-01T00Z")
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        began = time.perf_counter()
        db.execute("BEGIN")
        for _ in range(per_commit):
            db.execute(
                "INSERT INTO event (run_id, type, title, detail, actor, phase, status, ref,"
                " payload, truncated, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
        db.execute("COMMIT")
        latencies.extend([time.perf_counter() - began] * per_commit)
    elapsed = time.perf_counter() - started
    db.close()
    latencies.sort()
    p50, p99 = _percentile(latencies, 0.5) * 1000, _percentile(latencies, 0.99) * 1000
    return Rate(len(latencies) / elapsed, p50, p99, None)


# --- the hook ---------------------------------------------------------------------------------


def wall_ms(cmds: list[list[str]], env: dict[str, str], count: int) -> list[list[float]]:
    """Wall times (ms, sorted) of `count` runs of each command, each a fresh process fed one of
    the sample hook payloads in turn; the commands take turns, so that a change in the
    machine's load weighs on all of them alike."""
    times: list[list[float]] = [[] for _ in cmds]
    for n in range(count):
        for cmd, cmd_times in zip(cmds, times, strict=True):
            began = time.perf_counter()
            done = subprocess.run(cmd, input=PAYLOADS[n % len(PAYLOADS)], env=env,
                                  capture_output=True, text=True, check=False)  # fmt: skip
            cmd_times.append((time.perf_counter() - began) * 1000)
            if done.returncode != 0:
                raise RuntimeError(f"{cmd} exited {done.returncode}: {done.stderr}")
    return [sorted(cmd_times) for cmd_times in times]


# --- entry point ------------------------------------------------------------------------------


def repeat(times: int, measure: Callable[[], Rate]) -> Rate:
    return _median_rate([measure() for _ in range(times)])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=2.0, help="seconds per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per row")
    parser.add_argument("--hooks", type=int, default=32, help="hook invocations per row")
    args = parser.parse_args(argv)
    rows: list[tuple[str, int, Rate]] = []
    with tempfile.TemporaryDirectory(prefix="aegisd-bench-audit-") as tmp_name:
        tmp = Path(tmp_name)
        # The write rate limit (50/s per client by default) would measure itself, not the path.
        env = {**isolated_env(tmp), "AEGISD_RATE_LIMITS__ENABLED": "false"}
        sock, data = tmp / "aegisd.sock", tmp / "state"
        hook = [sys.executable, "-m", "aegisd", "audit", "hook", "--socket", str(sock),
                "--data-dir", str(data)]  # fmt: skip
        with server_process(daemon_command(sock, data), sock, tmp / "aegisd.log", env) as daemon:
            run = Client(sock).call("audit.start_run", {"name": "bench", "capture": False})["id"]
            calls = [("aegisd audit.log_event", log_event(run)), ("daemon.health", health)]
            asyncio.run(drive(sock, daemon.pid, log_event(run), 32, 0.5))  # warm-up
            for name, body in calls:
                for concurrency in (1, 32):
                    rate = repeat(
                        args.repeats,
                        lambda b=body, c=concurrency: asyncio.run(
                            drive(sock, daemon.pid, b, c, args.duration)
                        ),
                    )
                    rows.append((name, concurrency, rate))
                    print(f"{name} c={concurrency}: {rate.events_per_s:,.0f}/s", file=sys.stderr)
            for per_commit in (1, 32):
                rate = repeat(
                    args.repeats,
                    lambda n=per_commit: raw_inserts(tmp / "raw.db", n, args.duration),
                )
                rows.append((f"raw SQLite, {per_commit} insert(s) per commit", per_commit, rate))
            # "Down": a socket no daemon listens on, and its own state dir for the spool.
            absent = [*hook[:5], "--socket", str(tmp / "absent.sock"),
                      "--data-dir", str(tmp / "down")]  # fmt: skip
            bare, hook_up, hook_down = wall_ms(
                [[sys.executable, "-c", "pass"], hook, absent], env, args.hooks
            )
        spooled = len((tmp / "down" / "audit-hook-spool.jsonl").read_text().splitlines())
    report(rows, [("python -c pass", bare), ("aegisd audit hook, daemon up", hook_up),
                  (f"aegisd audit hook, daemon down ({spooled} spooled)", hook_down)])  # fmt: skip
    return 0


def report(rows: list[tuple[str, int, Rate]], hooks: list[tuple[str, list[float]]]) -> None:
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"audit events, acknowledged = committed (WAL, synchronous=NORMAL); {os.cpu_count()} CPUs,"
        f" load average {load}"
    )
    print("rate limits off; daemon.health: the same transport doing no work at all, for scale")
    print(f"{'what':<40}{'conc':>5}{'calls/s':>11}{'p50 ms':>9}{'p99 ms':>9}{'CPU µs/call':>12}")
    for name, concurrency, rate in rows:
        cpu = f"{rate.cpu_us:>12.0f}" if rate.cpu_us is not None else f"{'-':>12}"
        print(
            f"{name:<40}{concurrency:>5}{rate.events_per_s:>11,.0f}"
            f"{rate.p50_ms:>9.2f}{rate.p99_ms:>9.2f}{cpu}"
        )
    by = {(name.split(" ")[0], c): r.events_per_s for name, c, r in rows}  # aegisd, raw
    print(
        f"aegisd vs raw SQLite: c=1 {by['aegisd', 1] / by['raw', 1]:.2f}x of one commit per insert;"
        f" c=32 {by['aegisd', 32] / by['raw', 32]:.2f}x of 32 inserts per commit"
    )
    print(f"\n{'hook wall time per invocation':<44}{'median ms':>10}{'p90 ms':>9}{'max ms':>9}")
    for name, times in hooks:
        print(
            f"{name:<44}{statistics.median(times):>10.1f}{_percentile(times, 0.9):>9.1f}"
            f"{times[-1]:>9.1f}"
        )
    up = statistics.median(hooks[1][1])
    verdict = "PASS" if up <= HOOK_TARGET_MS else "FAIL"
    print(
        f"hook median with the daemon up <= {HOOK_TARGET_MS:.0f} ms: {verdict} ({up:.0f} ms, "
        f"of which {statistics.median(hooks[0][1]):.0f} ms is a bare interpreter start here)"
    )


if __name__ == "__main__":
    sys.exit(main())
