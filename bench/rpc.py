"""Benchmark `daemon.health` over POST /rpc and the WebSocket against a bare aiohttp handler.

The daemon (`aegisd serve`, default INFO logging to a file) and a bare aiohttp server answering
the same JSON-RPC shape run as subprocesses on their own Unix sockets. One client drives both
(one keep-alive connection or WebSocket per concurrent worker), alternating bare and aegisd on
every repeat; each figure is the median of the repeats. Server CPU per request is read from the
server process's own /proc/<pid>/stat, so a saturated client does not hide server cost.

    python bench/rpc.py [--duration S | --requests N] [--repeats R] [--concurrency 1,16,64]
                        [--baseline-tree DIR]

With `--baseline-tree DIR` (a checkout of an earlier aegisd, e.g. `git worktree add --detach
/tmp/base <commit>`) that aegisd runs too, in the same alternation, and the report adds its
figures and aegisd's ratio to them: a change's cost on the hot path, measured in one run.

Prints a table and verdicts against the targets; always exits 0.
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
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from _common import (
    CPU_TICK_S,
    baseline_tree,
    cpu_seconds,
    daemon_command,
    isolated_env,
    server_process,
)
from aiohttp import WSMsgType, web

TRANSPORTS = ("http", "ws")
BASELINE_TARGET = 1.05  # aegisd's CPU per request and p50 at most this many times the baseline's
CPU_TARGET = 1.5  # aegisd's server CPU per request, at most this many times the bare handler's
P50_TARGET = 1.3  # aegisd's p50 at concurrency 1, at most this many times the bare handler's
BASE_URL = "http://localhost"
JSON_HEADERS = {"Content-Type": "application/json"}
HEALTH_FIELDS = {"status", "reasons", "version", "pid"}
TIMEOUT_S = 30.0  # a server that stops answering fails the run instead of hanging it

Call = Callable[[], Awaitable[str | bytes]]


class BenchError(Exception):
    """A server answered something other than a daemon.health result."""


@dataclass(frozen=True)
class Server:
    name: str
    pid: int
    sock: Path


@dataclass(frozen=True)
class Budget:
    """How long one measurement runs: `seconds`, or `requests` in total when given."""

    seconds: float
    requests: int | None = None


@dataclass(frozen=True)
class Sample:
    """One measurement of one server at one transport and concurrency."""

    elapsed_s: float
    cpu_s: float
    latencies_s: list[float]  # sorted

    @property
    def rps(self) -> float:
        return len(self.latencies_s) / self.elapsed_s

    @property
    def cpu_us(self) -> float:
        return self.cpu_s / len(self.latencies_s) * 1e6

    def percentile_ms(self, q: float) -> float:
        """Nearest-rank percentile, q in (0, 1]."""
        index = max(0, math.ceil(q * len(self.latencies_s)) - 1)
        return self.latencies_s[index] * 1000


@dataclass(frozen=True)
class Summary:
    """Medians over the repeats."""

    rps: float
    p50_ms: float
    p99_ms: float
    cpu_us: float

    @classmethod
    def of(cls, samples: Sequence[Sample]) -> Summary:
        return cls(
            rps=statistics.median(s.rps for s in samples),
            p50_ms=statistics.median(s.percentile_ms(0.50) for s in samples),
            p99_ms=statistics.median(s.percentile_ms(0.99) for s in samples),
            cpu_us=statistics.median(s.cpu_us for s in samples),
        )


# --- the bare baseline ------------------------------------------------------------------------


def serve_bare(sock: Path) -> None:
    """A bare aiohttp server answering every JSON-RPC message with a fixed health result."""
    result = {"status": "ok", "reasons": [], "version": "0.1.0", "pid": os.getpid()}

    def answer(data: str | bytes) -> str:
        message = json.loads(data)
        return json.dumps({"jsonrpc": "2.0", "result": result, "id": message.get("id")})

    async def rpc_post(request: web.Request) -> web.Response:
        return web.Response(text=answer(await request.read()), content_type="application/json")

    async def rpc_ws(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            if message.type is WSMsgType.TEXT:
                await ws.send_str(answer(message.data))
        return ws

    app = web.Application()
    app.router.add_post("/rpc", rpc_post)
    app.router.add_get("/rpc/ws", rpc_ws)
    web.run_app(app, path=str(sock), access_log=None, print=None)


# --- the client -------------------------------------------------------------------------------


def _request(n: int) -> str:
    return f'{{"jsonrpc":"2.0","method":"daemon.health","id":{n}}}'


async def _open(stack: contextlib.AsyncExitStack, server: Server, transport: str) -> Call:
    """One worker's own connection (keep-alive HTTP or a WebSocket) and its request function."""
    connector = aiohttp.UnixConnector(path=str(server.sock), limit=1)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    session = await stack.enter_async_context(
        aiohttp.ClientSession(connector=connector, timeout=timeout)
    )
    ids = itertools.count(1)
    if transport == "http":

        async def call_http() -> bytes:
            async with session.post(
                f"{BASE_URL}/rpc", data=_request(next(ids)).encode(), headers=JSON_HEADERS
            ) as response:
                body = await response.read()
            if response.status != 200 or b'"result"' not in body:
                raise BenchError(f"{server.name} answered {response.status}: {body[:300]!r}")
            return body

        return call_http
    ws = await stack.enter_async_context(
        session.ws_connect(f"{BASE_URL}/rpc/ws", receive_timeout=TIMEOUT_S)
    )

    async def call_ws() -> str:
        await ws.send_str(_request(next(ids)))
        message = await ws.receive()
        if message.type is not WSMsgType.TEXT or '"result"' not in message.data:
            raise BenchError(f"{server.name} answered {message.type.name}: {message.data!r:.300}")
        return str(message.data)

    return call_ws


def _check(reply: str | bytes, server: Server) -> None:
    """Full check of one answer: a JSON-RPC result with daemon.health's fields."""
    message = json.loads(reply)
    result = message.get("result")
    if not isinstance(result, dict) or set(result) != HEALTH_FIELDS:
        raise BenchError(f"{server.name} did not answer like daemon.health: {reply!r:.300}")


def _quota(budget: Budget) -> Callable[[], bool]:
    """A function the workers call before each request: may one more be sent?"""
    if budget.requests is None:
        deadline = time.perf_counter() + budget.seconds
        return lambda: time.perf_counter() < deadline
    left = budget.requests

    def take() -> bool:
        nonlocal left
        left -= 1
        return left >= 0

    return take


async def _drive(call: Call, more: Callable[[], bool]) -> list[float]:
    latencies: list[float] = []
    clock = time.perf_counter
    while more():
        start = clock()
        await call()
        latencies.append(clock() - start)
    return latencies


async def measure(server: Server, transport: str, concurrency: int, budget: Budget) -> Sample:
    """Drive `server` with `concurrency` workers; connections open before the clock starts."""
    async with contextlib.AsyncExitStack() as stack:
        calls = [await _open(stack, server, transport) for _ in range(concurrency)]
        for reply in await asyncio.gather(*(call() for call in calls)):
            _check(reply, server)
        cpu_before = cpu_seconds(server.pid)
        started = time.perf_counter()
        more = _quota(budget)
        per_worker = await asyncio.gather(*(_drive(call, more) for call in calls))
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds(server.pid) - cpu_before
    latencies = sorted(itertools.chain.from_iterable(per_worker))
    if not latencies:
        raise BenchError("no request completed; raise --duration or --requests")
    return Sample(elapsed, cpu, latencies)


async def run_all(
    servers: Sequence[Server],
    concurrencies: Sequence[int],
    budget: Budget,
    args: argparse.Namespace,
) -> dict[tuple[str, int], dict[str, list[Sample]]]:
    """Warm both servers up, then measure every cell, alternating which server goes first."""
    for server in servers:
        for transport in TRANSPORTS:
            await measure(server, transport, max(concurrencies), Budget(args.warmup))
    cells = [(t, c) for t in TRANSPORTS for c in concurrencies]
    results: dict[tuple[str, int], dict[str, list[Sample]]] = {
        cell: {s.name: [] for s in servers} for cell in cells
    }
    for repeat in range(args.repeats):
        order = servers if repeat % 2 == 0 else list(reversed(servers))
        for transport, concurrency in cells:
            line = [f"repeat {repeat + 1}/{args.repeats} {transport:4} c={concurrency:<3}"]
            for server in order:
                sample = await measure(server, transport, concurrency, budget)
                results[transport, concurrency][server.name].append(sample)
                line.append(f"{server.name} {sample.rps:8,.0f} req/s {sample.cpu_us:6.0f} µs")
            print("  ".join(line), file=sys.stderr, flush=True)
    return results


# --- the report -------------------------------------------------------------------------------


def _verdict(ratio: float, target: float) -> str:
    return f"{ratio:5.2f}x {'PASS' if ratio <= target else 'FAIL'}"


def report(results: dict[tuple[str, int], dict[str, list[Sample]]]) -> None:
    print(
        f"{'':15}{'req/s':>17}{'p50 ms':>17}{'p99 ms':>17}{'CPU µs/req':>17}\n"
        f"{'transport':<10}{'conc':>5}"
        + f"{'aegisd':>9}{'bare':>8}" * 4
        + "   CPU ratio   p50 ratio"
    )
    cpu_ratios: dict[tuple[str, int], float] = {}
    p50_ratios: dict[str, float] = {}
    for (transport, concurrency), samples in results.items():
        a, b = Summary.of(samples["aegisd"]), Summary.of(samples["bare"])
        cpu_ratios[transport, concurrency] = a.cpu_us / b.cpu_us
        p50 = ""
        if concurrency == 1:
            p50_ratios[transport] = a.p50_ms / b.p50_ms
            p50 = _verdict(p50_ratios[transport], P50_TARGET)
        print(
            f"{transport:<10}{concurrency:>5}"
            f"{a.rps:>9,.0f}{b.rps:>8,.0f}"
            f"{a.p50_ms:>9.3f}{b.p50_ms:>8.3f}"
            f"{a.p99_ms:>9.3f}{b.p99_ms:>8.3f}"
            f"{a.cpu_us:>9.0f}{b.cpu_us:>8.0f}"
            f"   {_verdict(cpu_ratios[transport, concurrency], CPU_TARGET)}   {p50}"
        )
    smallest = min(s.cpu_s for cell in results.values() for runs in cell.values() for s in runs)
    print(
        f"\nserver CPU is counted in {CPU_TICK_S * 1000:g} ms ticks; the smallest measurement used "
        f"{smallest:.2f} s (±{CPU_TICK_S / max(smallest, CPU_TICK_S):.0%})\n"
    )
    worst_cell, worst = max(cpu_ratios.items(), key=lambda item: item[1])
    ok = worst <= CPU_TARGET
    print(
        f"server CPU per request <= {CPU_TARGET}x bare, every row: {'PASS' if ok else 'FAIL'}"
        f" (worst {worst:.2f}x at {worst_cell[0]} c={worst_cell[1]})"
    )
    if p50_ratios:
        ok = all(r <= P50_TARGET for r in p50_ratios.values())
        detail = ", ".join(f"{t} {r:.2f}x" for t, r in p50_ratios.items())
        print(f"p50 at concurrency 1 <= {P50_TARGET}x bare: {'PASS' if ok else 'FAIL'} ({detail})")
    if any("base" in cell for cell in results.values()):
        report_baseline(results)


def report_baseline(results: dict[tuple[str, int], dict[str, list[Sample]]]) -> None:
    """aegisd against the `--baseline-tree` daemon measured in the same alternation."""
    print(
        f"\naegisd against the baseline tree\n{'transport':<10}{'conc':>5}"
        f"{'CPU µs aegisd':>15}{'base':>8}{'ratio':>8}{'p50 ms aegisd':>15}{'base':>8}{'ratio':>8}"
    )
    worst = 0.0
    for (transport, concurrency), samples in results.items():
        a, b = Summary.of(samples["aegisd"]), Summary.of(samples["base"])
        cpu, p50 = a.cpu_us / b.cpu_us, a.p50_ms / b.p50_ms
        worst = max(worst, cpu, p50 if concurrency == 1 else 0.0)
        print(
            f"{transport:<10}{concurrency:>5}{a.cpu_us:>15.0f}{b.cpu_us:>8.0f}{cpu:>7.2f}x"
            f"{a.p50_ms:>15.3f}{b.p50_ms:>8.3f}{p50:>7.2f}x"
        )
    print(
        f"CPU per request (every row) and p50 at concurrency 1 <= {BASELINE_TARGET}x the "
        f"baseline: {'PASS' if worst <= BASELINE_TARGET else 'FAIL'} (worst {worst:.2f}x)"
    )


# --- entry point ------------------------------------------------------------------------------


def _concurrencies(text: str) -> list[int]:
    values = [int(part) for part in text.split(",") if part.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("a comma-separated list of positive integers")
    return values


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=1.5, help="seconds per measurement")
    parser.add_argument("--requests", type=int, help="requests per measurement (over --duration)")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per cell and server")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per transport")
    parser.add_argument("--concurrency", type=_concurrencies, default=[1, 16, 64])
    parser.add_argument(
        "--baseline-tree",
        type=baseline_tree,
        help="an earlier aegisd checkout to measure in the same run (a change's cost)",
    )
    parser.add_argument("--bare-server", type=Path, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.repeats < 1 or (args.requests is not None and args.requests < 1):
        parser.error("--duration, --requests and --repeats must be positive")
    if args.bare_server is not None:
        serve_bare(args.bare_server)
        return 0
    budget = Budget(args.duration, args.requests)
    with tempfile.TemporaryDirectory(prefix="aegisd-bench-") as tmp_name:
        tmp = Path(tmp_name)
        env = isolated_env(tmp)
        daemon_sock, bare_sock = tmp / "aegisd.sock", tmp / "bare.sock"
        daemon_log = tmp / "aegisd.log"
        bare_cmd = [sys.executable, str(Path(__file__).resolve()), "--bare-server", str(bare_sock)]
        with contextlib.ExitStack() as stack:
            daemon = stack.enter_context(
                server_process(
                    daemon_command(daemon_sock, tmp / "state"), daemon_sock, daemon_log, env
                )
            )
            bare = stack.enter_context(server_process(bare_cmd, bare_sock, tmp / "bare.log", env))
            servers = [
                Server("bare", bare.pid, bare_sock),
                Server("aegisd", daemon.pid, daemon_sock),
            ]
            if args.baseline_tree is not None:
                base_sock = tmp / "base.sock"
                base = stack.enter_context(
                    server_process(
                        daemon_command(base_sock, tmp / "base-state"),
                        base_sock,
                        tmp / "base.log",
                        isolated_env(tmp, args.baseline_tree),
                    )
                )
                servers.append(Server("base", base.pid, base_sock))
            load_before = os.getloadavg()[0]
            results = asyncio.run(run_all(servers, args.concurrency, budget, args))
            load_after = os.getloadavg()[0]
        with daemon_log.open("rb") as fh:
            log_lines = sum(1 for line in fh if b"method=daemon.health" in line)
    per = f"{args.requests} requests" if args.requests else f"{args.duration:g} s"
    print(
        f"\ndaemon.health: aegisd vs a bare aiohttp handler; {per} per measurement, median of "
        f"{args.repeats}; Python {platform.python_version()}, aiohttp {aiohttp.__version__}, "
        f"{os.cpu_count()} CPUs, load average {load_before:.2f} -> {load_after:.2f}; aegisd logged "
        f"{log_lines:,} rpc lines\n"
    )
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
