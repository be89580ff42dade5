"""The resilient store under a foreign write lock: writes wait and succeed, or fail visibly.

A daemon serves a small workspace while `--writers` clients write through it in a loop
(`settings.update`, one store read and one write each) and one client asks `daemon.health`
(which never touches the store: the event loop must stay responsive). After a quiet second, a
second process opens the daemon's aegisd.db and holds a write lock (`BEGIN IMMEDIATE`) for
`--hold` seconds. Writes are classified by when they started: before the lock, during it, after
its release. Store retries, failures and the breaker come from `GET /metrics`, scraped every
100 ms.

Three policies run, each on a fresh daemon: the default one ([store] retries = 4 with
exponential backoff, on top of SQLite's own busy wait of 1 s per attempt); retries=0
(AEGISD_STORE__RETRIES=0), where a busy database is reported to the caller as UNAVAILABLE with
`retry_after_ms`; and breaker=1 (no retries, the breaker opens on the first failure and probes
again after 1 s), where every store call is refused at once while the breaker is open. Clients
honour `retry_after_ms` (capped at 1 s), as a well-behaved editor would.

    python bench/store.py [--writers 8] [--hold 2.0]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from _common import daemon_command, isolated_env, server_process

LOCKER = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)
con.execute("BEGIN IMMEDIATE")
print(time.monotonic(), flush=True)
time.sleep(float(sys.argv[2]))
con.execute("COMMIT")
con.close()
print(time.monotonic(), flush=True)
"""
PHASES = ("before", "during", "after")
URL = "http://localhost"


@dataclass(frozen=True)
class Policy:
    name: str
    env: dict[str, str]
    after_s: float  # how long to keep writing after the release


@dataclass(frozen=True)
class Call:
    started: float
    seconds: float
    outcome: str  # "ok" or the error's data.code
    retry_after_ms: int | None = None


@dataclass
class Scrape:
    t: float
    retries: float
    failures: float
    breaker_open: bool


@dataclass
class Run:
    policy: Policy
    writes: list[Call] = field(default_factory=list)
    health: list[Call] = field(default_factory=list)
    scrapes: list[Scrape] = field(default_factory=list)
    locked_at: float = 0.0
    released_at: float = 0.0
    messages: Counter[str] = field(default_factory=Counter)

    def phase(self, call: Call) -> str:
        """before: done before the lock; during: overlapping it; after: started after it."""
        if call.started + call.seconds < self.locked_at:
            return "before"
        return "during" if call.started < self.released_at else "after"


async def rpc(session: aiohttp.ClientSession, method: str, params: Any) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "method": method, "params": params, "id": 1}
    async with session.post(f"{URL}/rpc", json=body) as response:
        answer: dict[str, Any] = await response.json()
    return answer


async def timed(session: aiohttp.ClientSession, method: str, params: Any, run: Run) -> Call:
    started = time.monotonic()
    answer = await rpc(session, method, params)
    seconds = time.monotonic() - started
    if "result" in answer:
        return Call(started, seconds, "ok")
    data = answer["error"].get("data", {})
    run.messages[f"{data.get('code')}: {answer['error'].get('message')}"] += 1
    return Call(started, seconds, data.get("code", "?"), data.get("retry_after_ms"))


async def writer(session: aiohttp.ClientSession, n: int, run: Run, stop: asyncio.Event) -> None:
    while not stop.is_set():
        # A real write each time: the value alternates, so the stored row always changes.
        patch = {"watcher": {"git_lock_wait_ms": 1000 + n * 10 + len(run.writes) % 2}}
        call = await timed(session, "settings.update", {"settings": patch}, run)
        run.writes.append(call)
        if call.retry_after_ms is not None:
            await asyncio.sleep(min(call.retry_after_ms, 1000) / 1000)


async def prober(session: aiohttp.ClientSession, run: Run, stop: asyncio.Event) -> None:
    while not stop.is_set():
        run.health.append(await timed(session, "daemon.health", {}, run))
        await asyncio.sleep(0.02)


def _sample(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return math.nan


async def scraper(session: aiohttp.ClientSession, run: Run, stop: asyncio.Event) -> None:
    while True:
        async with session.get(f"{URL}/metrics") as response:
            text = await response.text()
        run.scrapes.append(
            Scrape(
                time.monotonic(),
                _sample(text, "aegisd_store_retries_total"),
                _sample(text, "aegisd_store_failures_total"),
                _sample(text, "aegisd_store_breaker_open") == 1,
            )
        )
        if stop.is_set():
            return
        await asyncio.sleep(0.1)


async def settle(session: aiohttp.ClientSession) -> None:
    deadline = time.monotonic() + 120
    while True:
        status = (await rpc(session, "index.status", {})).get("result", {})
        if status.get("ready") and not status.get("pending"):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the workspace did not settle: {status}")
        await asyncio.sleep(0.1)


async def drive(sock: Path, db: Path, policy: Policy, writers: int, hold: float) -> Run:
    run = Run(policy)
    stop = asyncio.Event()
    sessions = [
        aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=str(sock), limit=1))
        for _ in range(writers + 2)
    ]
    try:
        await settle(sessions[0])
        tasks = [asyncio.create_task(writer(s, n, run, stop)) for n, s in enumerate(sessions[2:])]
        tasks.append(asyncio.create_task(prober(sessions[0], run, stop)))
        tasks.append(asyncio.create_task(scraper(sessions[1], run, stop)))
        await asyncio.sleep(1.0)
        locker = await asyncio.create_subprocess_exec(
            sys.executable, "-c", LOCKER, str(db), str(hold), stdout=asyncio.subprocess.PIPE
        )
        assert locker.stdout is not None
        run.locked_at = float(await locker.stdout.readline())
        run.released_at = float(await locker.stdout.readline())
        if await locker.wait() != 0:
            raise RuntimeError("the lock holder failed")
        await asyncio.sleep(policy.after_s)
        stop.set()
        await asyncio.gather(*tasks)
    finally:
        for session in sessions:
            await session.close()
    return run


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000 if ordered else math.nan


def report(runs: list[Run], writers: int, hold: float) -> None:
    print(
        f"aegisd store under a foreign write lock: {writers} writers (settings.update) and one "
        f"daemon.health prober;\na second process holds BEGIN IMMEDIATE on aegisd.db for "
        f"{hold:.1f} s. Python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f}\n"
    )
    header = (
        f"{'policy':<13}{'phase':<8}{'writes':>7}{'ok':>6}  {'errors':<22}{'p50 ms':>8}"
        f"{'p99 ms':>8}{'max ms':>8}{'health p99':>11}{'retries':>9}"
    )
    print(header)
    print("-" * len(header))
    for run in runs:
        for phase in PHASES:
            calls = [c for c in run.writes if run.phase(c) == phase]
            health = [c.seconds for c in run.health if run.phase(c) == phase]
            errors = Counter(c.outcome for c in calls if c.outcome != "ok")
            text = ", ".join(f"{code} x{n}" for code, n in errors.items()) or "-"
            start, end = _phase_bounds(run, phase)
            retries = _metric_delta(run, start, end, "retries")
            print(
                f"{run.policy.name if phase == 'before' else '':<13}{phase:<8}{len(calls):>7}"
                f"{len(calls) - sum(errors.values()):>6}  {text:<22}"
                f"{pct([c.seconds for c in calls], 0.5):>8.0f}"
                f"{pct([c.seconds for c in calls], 0.99):>8.0f}"
                f"{max((c.seconds for c in calls), default=math.nan) * 1000:>8.0f}"
                f"{pct(health, 0.99):>11.1f}{retries:>9.0f}"
            )
        print(_summary(run))
        print("-" * len(header))
    print(
        "phases: before = done before the lock was taken; during = overlapping the lock; "
        "after = started after the release.\nWrites wait behind the one DB thread: while one "
        "write waits for the lock, the others queue."
    )
    for run in runs:
        for message, count in run.messages.items():
            print(f"{run.policy.name}: {count} x {message}")


def _phase_bounds(run: Run, phase: str) -> tuple[float, float]:
    bounds = {
        "before": (-math.inf, run.locked_at),
        "during": (run.locked_at, run.released_at),
        "after": (run.released_at, math.inf),
    }
    return bounds[phase]


def _metric_delta(run: Run, start: float, end: float, name: str) -> float:
    """Growth of a counter over [start, end), from the scrapes nearest both ends."""
    inside = [s for s in run.scrapes if s.t < end]
    before = [s for s in run.scrapes if s.t < start] or run.scrapes[:1]
    if not inside or not before:
        return math.nan
    return float(getattr(inside[-1], name) - getattr(before[-1], name))


def _summary(run: Run) -> str:
    last = run.scrapes[-1]
    opened = [s.t for s in run.scrapes if s.breaker_open]
    lines = [
        f"  store retries {last.retries:.0f}, failures {last.failures:.0f} "
        "(aegisd_store_retries / aegisd_store_failures); breaker "
        + (
            f"open from +{opened[0] - run.locked_at:.1f} s to +{opened[-1] - run.locked_at:.1f} s "
            "after the lock was taken"
            if opened
            else "never opened"
        )
    ]
    during = [c for c in run.writes if run.phase(c) != "before"]
    ok_after = [c.started + c.seconds for c in during if c.outcome == "ok"]
    if ok_after:
        first = min(t for t in ok_after if t >= run.released_at - 0.001) - run.released_at
        lines.append(f"  first write completed +{max(first, 0):.2f} s after the release")
    hints = [c.retry_after_ms for c in during if c.retry_after_ms is not None]
    if hints:
        lines.append(f"  retry_after_ms given to callers: {min(hints)}..{max(hints)}")
    failed = sum(1 for c in run.writes if c.outcome != "ok")
    lines.append(
        f"  every write answered: {len(run.writes)} calls, {failed} reported as errors, "
        "none dropped"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--hold", type=float, default=2.0, help="seconds the lock is held")
    args = parser.parse_args(argv)
    policies = [
        Policy("default", {}, after_s=1.5),
        # Long enough after the release to see the breaker's 5 s cool-down end.
        Policy("retries=0", {"AEGISD_STORE__RETRIES": "0"}, after_s=6.5),
        # The breaker on a hair trigger: open on the first failure, probe again after 1 s.
        Policy(
            "breaker=1",
            {
                "AEGISD_STORE__RETRIES": "0",
                "AEGISD_STORE__BREAKER_FAILURES": "1",
                "AEGISD_STORE__BREAKER_COOLDOWN_S": "1",
            },
            after_s=2.0,
        ),
    ]
    runs = []
    for policy in policies:
        with tempfile.TemporaryDirectory(prefix="aegisd-store-") as tmp_name:
            tmp = Path(tmp_name)
            project = tmp / "project"
            project.mkdir()
            (project / "app.py").write_text("def main() -> None:\n    print('hi')\n")
            sock, state = tmp / "aegisd.sock", tmp / "state"
            env = {**isolated_env(tmp), **policy.env}
            cmd = daemon_command(sock, state, "--root", str(project))
            with server_process(cmd, sock, tmp / "aegisd.log", env):
                runs.append(
                    asyncio.run(drive(sock, state / "aegisd.db", policy, args.writers, args.hold))
                )
            print(f"policy {policy.name} done", file=sys.stderr, flush=True)
    report(runs, args.writers, args.hold)
    return 0


if __name__ == "__main__":
    sys.exit(main())
