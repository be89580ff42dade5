"""Benchmark the latency from a file write to aegisd's `files.changed` notification.

The daemon (`aegisd serve`, default logging to a file) watches a project directory. A bare
watchfiles `awatch` loop with the same debounce and step runs as a subprocess on a directory of
its own and prints every batch it yields. One client edits a file in each directory in turn,
spaced out so each edit is a batch of its own, and times write -> notification (daemon, over the
WebSocket) and write -> yield (bare, over a pipe) with `time.perf_counter`. Then it writes a burst
of files as fast as it can into each directory and times until every file has been reported.
The same is repeated, shorter, at other debounce values (the daemon's workspace is reopened so
the new `watcher.debounce_ms` takes effect) to inform the default.

    python bench/watch.py [--edits N] [--burst N] [--sweep 20,100] [--sweep-edits N]

Prints a table and a verdict against the target; always exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import watchfiles
from _common import daemon_command, isolated_env, server_process
from aiohttp import WSMsgType

TARGET_MS = 30.0  # aegisd's p95 at most this much above bare awatch's
BASE_URL = "http://localhost"
EDITED_FILES = 20  # edits rotate over this many files
WARMUP_EDITS = 5
EDIT_TIMEOUT_S = 5.0
BURST_TIMEOUT_S = 120.0
READY_TIMEOUT_S = 30.0
PIPE_LIMIT = 1 << 26  # one bare batch of a burst is one long line


class BenchError(Exception):
    """The daemon answered with an error or never became ready."""


class Sink:
    """Resolves the futures waiting for particular paths as batches report them."""

    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[float]] = {}
        self.batches = 0  # batches that reported at least one awaited path
        self.edits = 0  # numbers the content of each edit

    def expect(self, rel: str) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting[rel] = future
        return future

    def deliver(self, paths: Iterable[str]) -> None:
        now = time.perf_counter()
        hit = False
        for rel in paths:
            future = self._waiting.pop(rel, None)
            if future is not None and not future.done():
                future.set_result(now)
                hit = True
        self.batches += hit


class Watch(Protocol):
    name: str
    root: Path
    sink: Sink


# --- the bare baseline ------------------------------------------------------------------------


async def serve_bare(root: Path, debounce: int, step: int) -> None:
    """Print each batch `awatch` yields as one JSON line of root-relative paths."""
    async for changes in watchfiles.awatch(root, debounce=debounce, step=step):
        rels = [Path(path).relative_to(root).as_posix() for _, path in changes]
        sys.stdout.write(json.dumps(rels) + "\n")
        sys.stdout.flush()


class BareWatch:
    """A bare `awatch` subprocess and the reader of its batches."""

    name = "bare awatch"

    def __init__(self, root: Path, proc: asyncio.subprocess.Process) -> None:
        self.root = root
        self.sink = Sink()
        self._proc = proc
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, root: Path, debounce: int, step: int) -> BareWatch:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--bare-watch", str(root),
            "--debounce", str(debounce), "--step", str(step),
            stdout=asyncio.subprocess.PIPE, limit=PIPE_LIMIT,
        )  # fmt: skip
        return cls(root, proc)

    async def _read(self) -> None:
        assert self._proc.stdout is not None
        async for line in self._proc.stdout:
            self.sink.deliver(json.loads(line))

    async def close(self) -> None:
        if self._proc.returncode is None:
            self._proc.terminate()
        await self._proc.wait()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


# --- the daemon -------------------------------------------------------------------------------


class DaemonWatch:
    """One WebSocket to the daemon: JSON-RPC calls and `files.changed` notifications."""

    name = "aegisd"

    def __init__(self, root: Path, session: aiohttp.ClientSession, ws: Any) -> None:
        self.root = root
        self.sink = Sink()
        self._session = session
        self._ws = ws
        self._ids = 0
        self._calls: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, sock: Path, root: Path) -> DaemonWatch:
        session = aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=str(sock)))
        ws = await session.ws_connect(f"{BASE_URL}/rpc/ws", max_msg_size=0)
        watch = cls(root, session, ws)
        await watch.call("events.subscribe", {"topics": ["files.changed"]})
        return watch

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        self._ids += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._calls[self._ids] = future
        message = {"jsonrpc": "2.0", "method": method, "params": params, "id": self._ids}
        await self._ws.send_str(json.dumps(message))
        answer = await asyncio.wait_for(future, 30)
        if "error" in answer:
            raise BenchError(f"{method}: {answer['error']}")
        return answer["result"]

    async def _read(self) -> None:
        async for message in self._ws:
            if message.type is not WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            if data.get("method") == "files.changed":
                self.sink.deliver(change["path"] for change in data["params"]["changes"])
            elif (future := self._calls.pop(data.get("id"), None)) is not None:
                future.set_result(data)

    async def reopen(self, debounce: int, step: int) -> None:
        """Apply new watcher settings: the running watcher keeps its own until reopened."""
        watcher = {"debounce_ms": debounce, "step_ms": step}
        await self.call("settings.update", {"settings": {"watcher": watcher}})
        await self.call("workspace.close", {})
        await self.call("workspace.open", {"root": str(self.root)})

    async def settled(self) -> None:
        """Wait until the workspace is no longer pending (its first reconciliation is done)."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            result = await self.call("workspace.list", {})
            if not any(ws["pending"] for ws in result["workspaces"]):
                return
            await asyncio.sleep(0.05)
        raise BenchError("the workspace stayed pending")

    async def close(self) -> None:
        await self._ws.close()
        await self._session.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


# --- measuring --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    """Latencies of a series of edits, in milliseconds; None is an edit never reported."""

    latencies_ms: list[float]  # sorted
    missed: int

    @classmethod
    def of(cls, latencies_s: Sequence[float | None]) -> Stats:
        seen = sorted(s * 1000 for s in latencies_s if s is not None)
        return cls(seen, len(latencies_s) - len(seen))

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile, q in (0, 1]; NaN when nothing was reported."""
        if not self.latencies_ms:
            return math.nan
        return self.latencies_ms[max(0, math.ceil(q * len(self.latencies_ms)) - 1)]

    @property
    def count(self) -> int:
        return len(self.latencies_ms) + self.missed


@dataclass(frozen=True)
class Burst:
    files: int
    reported: int
    batches: int
    write_s: float
    settle_s: float  # from the first write until the last file was reported

    @property
    def tail_s(self) -> float:
        """From the last write until the last file was reported: writing speed left out."""
        return self.settle_s - self.write_s


@dataclass(frozen=True)
class Run:
    """Everything measured at one debounce value."""

    debounce: int
    step: int
    edits: dict[str, Stats]
    bursts: dict[str, Burst]


async def edit(watch: Watch, rel: str) -> float | None:
    """Rewrite one file with new content and return the seconds until its change is reported."""
    watch.sink.edits += 1  # the daemon rightly ignores a rewrite with the same content
    future = watch.sink.expect(rel)
    path = watch.root / rel
    start = time.perf_counter()
    path.write_text(f"VALUE = {watch.sink.edits}\n")
    try:
        return await asyncio.wait_for(future, EDIT_TIMEOUT_S) - start
    except TimeoutError:
        return None


async def ready(watch: Watch) -> None:
    """Edit a probe file until the watcher reports it: awatch starts watching lazily."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    n = 0
    while time.monotonic() < deadline:
        n += 1
        future = watch.sink.expect("probe.txt")
        (watch.root / "probe.txt").write_text(f"probe {n}\n")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(future, 0.5)
            return
    raise BenchError(f"{watch.name} never reported the probe file")


async def series(
    watches: Sequence[Watch], edits: int, gap_s: float, jitter_s: float, rng: random.Random
) -> dict[str, Stats]:
    """Edit a file under each watch in turn, alternating which goes first, `edits` times."""
    latencies: dict[str, list[float | None]] = {w.name: [] for w in watches}
    for n in range(edits):
        for watch in watches if n % 2 == 0 else reversed(watches):
            latencies[watch.name].append(await edit(watch, f"src/f{n % EDITED_FILES}.py"))
        await asyncio.sleep(gap_s + rng.uniform(0, jitter_s))
    return {name: Stats.of(values) for name, values in latencies.items()}


def write_files(root: Path, rels: Sequence[str]) -> None:
    for n, rel in enumerate(rels):
        (root / rel).write_text(f"N = {n}\n")


async def burst(watch: Watch, files: int, folder: str) -> Burst:
    """Write `files` new files as fast as possible; time until all are reported."""
    rels = [f"{folder}/b{n:05d}.py" for n in range(files)]
    futures = [watch.sink.expect(rel) for rel in rels]
    batches = watch.sink.batches
    start = time.perf_counter()
    await asyncio.to_thread(write_files, watch.root, rels)
    written = time.perf_counter() - start
    done, pending = await asyncio.wait(futures, timeout=BURST_TIMEOUT_S)
    for future in pending:
        future.cancel()
    last = max((f.result() for f in done), default=math.nan)
    return Burst(files, len(done), watch.sink.batches - batches, written, last - start)


# --- the run ----------------------------------------------------------------------------------


def make_tree(root: Path, bursts: int) -> Path:
    """The files the edits rewrite, and one empty folder per burst."""
    (root / "src").mkdir(parents=True)
    for n in range(EDITED_FILES):
        (root / "src" / f"f{n}.py").write_text("VALUE = 0\n")
    for n in range(bursts):
        (root / f"burst-{n}").mkdir()
    return root


async def measure(
    daemon: DaemonWatch, bare_root: Path, debounce: int, step: int, edits: int, index: int,
    args: argparse.Namespace, rng: random.Random,
) -> Run:  # fmt: skip
    """Edits then bursts at one debounce; `index` picks this run's burst folder."""
    bare = await BareWatch.start(bare_root, debounce, step)
    try:
        watches: list[Watch] = [bare, daemon]
        await daemon.settled()
        for watch in watches:
            await ready(watch)
        await series(watches, WARMUP_EDITS, args.gap_ms / 1000, args.jitter_ms / 1000, rng)
        stats = await series(watches, edits, args.gap_ms / 1000, args.jitter_ms / 1000, rng)
        bursts = {}
        for watch in watches:
            await asyncio.sleep(0.5)
            bursts[watch.name] = await burst(watch, args.burst, f"burst-{index}")
        return Run(debounce, step, stats, bursts)
    finally:
        await bare.close()


async def bench(args: argparse.Namespace) -> list[Run]:
    """The daemon's default debounce first, with the full series; then each sweep value."""
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="aegisd-bench-watch-") as name:
        tmp = Path(name)
        bursts = len(args.sweep) + 1  # burst folders must exist before the watchers start
        project = make_tree(tmp / "project", bursts)
        bare_root = make_tree(tmp / "bare", bursts)
        sock = tmp / "run" / "aegisd.sock"
        cmd = daemon_command(sock, tmp / "state", "--root", str(project))
        with server_process(cmd, sock, tmp / "daemon.log", isolated_env(tmp)):
            daemon = await DaemonWatch.connect(sock, project)
            try:
                watcher = (await daemon.call("settings.get", {}))["settings"]["watcher"]
                default, step = int(watcher["debounce_ms"]), int(watcher["step_ms"])
                plan = [(default, args.edits)]
                plan += [(d, args.sweep_edits) for d in args.sweep if d != default]
                runs = []
                for n, (debounce, edits) in enumerate(plan):
                    if debounce != default:
                        await daemon.reopen(debounce, step)
                    run = await measure(daemon, bare_root, debounce, step, edits, n, args, rng)
                    runs.append(run)
                    print(f"measured debounce {debounce} ms", flush=True)
                return runs
            finally:
                await daemon.close()


# --- the report -------------------------------------------------------------------------------


def verdict(run: Run) -> tuple[bool, float, float]:
    """Whether aegisd's p95 is within the target of bare awatch's; and both p95s."""
    ours = run.edits[DaemonWatch.name].percentile(0.95)
    bare = run.edits[BareWatch.name].percentile(0.95)
    missed = run.edits[DaemonWatch.name].missed
    return ours <= bare + TARGET_MS and missed == 0, ours, bare


def burst_line(burst: Burst) -> str:
    missing = (
        f", {burst.files - burst.reported} NEVER REPORTED" if burst.reported < burst.files else ""
    )
    return (
        f"{burst.reported}/{burst.files} files in {burst.batches:3} batches, all reported "
        f"{burst.settle_s:.2f} s after the first write, {burst.tail_s:.2f} s after the last"
        f"{missing}"
    )


def report(runs: Sequence[Run]) -> None:
    main = runs[0]
    ours, bare = main.edits[DaemonWatch.name], main.edits[BareWatch.name]
    print(
        f"\nwrite -> files.changed latency: {ours.count} edits, debounce {main.debounce} ms, "
        f"step {main.step} ms (ms)"
    )
    print(f"{'':14}{'p50':>9}{'p95':>9}{'max':>9}{'missed':>8}")
    for name, stats in ((BareWatch.name, bare), (DaemonWatch.name, ours)):
        row = "".join(f"{stats.percentile(q):9.1f}" for q in (0.5, 0.95, 1.0))
        print(f"{name:14}{row}{stats.missed:8}")
    diff = "".join(f"{ours.percentile(q) - bare.percentile(q):+9.1f}" for q in (0.5, 0.95, 1.0))
    print(f"{'difference':14}{diff}")
    passed, ours_p95, bare_p95 = verdict(main)
    print(
        f"target: aegisd p95 <= bare p95 + {TARGET_MS:.0f} ms: {ours_p95:.1f} <= "
        f"{bare_p95 + TARGET_MS:.1f}, none missed  {'PASS' if passed else 'FAIL'}"
    )
    print(f"\nburst of {main.bursts[DaemonWatch.name].files} files (debounce {main.debounce} ms)")
    for name, result in main.bursts.items():
        print(f"  {name:12}  {burst_line(result)}")
    if len(runs) < 2:
        return
    print("\ndebounce sweep (latency in ms; burst: s after the last write / batches)")
    print(
        f"{'debounce':>8}{'edits':>7}{'bare p50':>10}{'p95':>7}{'aegisd p50':>12}{'p95':>7}"
        f"{'diff p95':>10}{'bare burst':>14}{'aegisd burst':>15}"
    )
    for run in sorted(runs, key=lambda r: r.debounce):
        b, o = run.edits[BareWatch.name], run.edits[DaemonWatch.name]
        bb, ob = run.bursts[BareWatch.name], run.bursts[DaemonWatch.name]
        print(
            f"{run.debounce:8}{o.count:7}{b.percentile(0.5):10.1f}{b.percentile(0.95):7.1f}"
            f"{o.percentile(0.5):12.1f}{o.percentile(0.95):7.1f}"
            f"{o.percentile(0.95) - b.percentile(0.95):+10.1f}"
            f"{bb.tail_s:9.2f}/{bb.batches:<4}{ob.tail_s:10.2f}/{ob.batches:<4}"
        )


def integers(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("a comma-separated list of positive integers")
    return values


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--edits", type=int, default=200, help="measured edits at the default")
    parser.add_argument("--gap-ms", type=float, default=150, help="pause between edits")
    parser.add_argument("--jitter-ms", type=float, default=50, help="random extra pause, at most")
    parser.add_argument("--burst", type=int, default=5000, help="files written in one burst")
    parser.add_argument("--sweep", type=integers, default=[20, 100], help="other debounces (ms)")
    parser.add_argument("--sweep-edits", type=int, default=60, help="measured edits per sweep")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bare-watch", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--debounce", type=int, default=50, help=argparse.SUPPRESS)
    parser.add_argument("--step", type=int, default=10, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.bare_watch is not None:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_bare(args.bare_watch, args.debounce, args.step))
        return 0
    print(
        f"python {platform.python_version()}, watchfiles {watchfiles.__version__}, "
        f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs",
        flush=True,
    )
    try:
        runs = asyncio.run(bench(args))
    except BenchError as exc:
        print(f"benchmark failed: {exc}")
        return 0
    report(runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
