"""Code map benchmark on a copy of the Python standard library.

Prints, from one run:
- cold index time (daemon: open → index ready) vs a bare 2-process ast.parse + symbol walk of
  the same files (target ≤ 1.3x), and vs universal-ctags when installed (reference only);
- daemon.health p99 while the cold index runs (target ≤ 50 ms);
- warm restart until the first search answers (target ≤ 0.5 s);
- one-file edit until index.search shows the new symbol, p95 over 20 edits (target ≤ 50 ms);
- index.search p99 over 1,000 queries (target ≤ 20 ms), these two on the daemon restarted on
  its index and settled;
- daemon RSS after indexing (target ≤ 120 MiB).
The standard library is copied into a temporary folder; it is never indexed in place.

With `--baseline-tree DIR` (a checkout of an earlier aegisd, e.g. `git worktree add --detach
/tmp/base main`) a second daemon from that tree indexes its own copy after this one's (each
alone), both are restarted one after the other, then both are restarted side by side and
answer the same searches and edits alternately (which goes first changes every round); a
table of both and their ratios follows. `--rounds N` repeats each cold index and warm
restart N times (medians), alternating which daemon goes first.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import (
    REPO,
    Rpc,
    bare_index,
    baseline_tree,
    ctags_index,
    daemon_command,
    health_probes,
    isolated_env,
    percentile,
    server_process,
)

from aegisd.plugins import BUILTIN_PLUGINS

SKIP = {"site-packages", "__pycache__"}
#: after a restart, before searches: the plugins' own start-up work is done
SETTLE_S = 5.0


def copy_stdlib(target: Path) -> int:
    source = Path(sysconfig.get_paths()["stdlib"])

    def ignore(directory: str, names: list[str]) -> set[str]:
        return {n for n in names if n in SKIP}

    shutil.copytree(source, target, ignore=ignore, symlinks=False)
    return sum(1 for _ in target.rglob("*.py"))


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def wait_ready(rpc: Rpc) -> None:
    while True:
        status = rpc("index.status")
        if status["ready"] and not status["pending"]:
            return
        time.sleep(0.05)


@dataclass
class Run:
    """One daemon's figures: a source tree (aegisd's, or `--baseline-tree`'s) serving its own
    copy of the standard library."""

    label: str
    tree: Path
    root: Path
    tmp: Path
    health: list[float] = field(default_factory=list)
    search_ms: list[float] = field(default_factory=list)
    edit_ms: list[float] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=dict)
    cold: list[float] = field(default_factory=list)  # seconds, a round each
    warm: list[float] = field(default_factory=list)
    listening: list[float] = field(default_factory=list)
    rss: float = 0.0
    warm_parsed: int = 0
    round: int = 0  # each cold index starts from a state dir of its own

    @property
    def cold_s(self) -> float:
        return statistics.median(self.cold)

    @property
    def warm_s(self) -> float:
        return statistics.median(self.warm)

    @property
    def listening_s(self) -> float:
        return statistics.median(self.listening)

    @property
    def sock(self) -> Path:
        return self.tmp / f"{self.label}.sock"

    @property
    def data(self) -> Path:
        return self.tmp / f"{self.label}-state-{self.round}"

    @property
    def log(self) -> Path:
        return self.tmp / f"{self.label}.log"

    @property
    def env(self) -> dict[str, str]:
        return isolated_env(self.tmp / self.label, self.tree)


def cold_index(run: Run, pid: int) -> Rpc:
    rpc = Rpc(run.sock)
    # Started: `serve` listens before its deferred plugins load; plugins.list waits for them,
    # so the cold index below times indexing, not the daemon's own start.
    rpc("plugins.list")
    start = time.perf_counter()
    rpc("workspace.open", {"root": str(run.root)})
    with health_probes(run.sock) as health:
        wait_ready(rpc)
        run.cold.append(time.perf_counter() - start)
    run.health += health
    run.status = rpc("index.status")
    run.rss = rss_mib(pid)
    _note(f"{run.label}: cold index {run.cold[-1]:.1f} s")
    return rpc


def search_queries(rpc: Rpc, count: int, rng: random.Random) -> list[str]:
    """Real names, their prefixes, their initials and misses."""
    symbols = rpc("index.search", {"query": "a", "limit": 500})["hits"]
    pool = [h["name"] for h in symbols] or ["open"]
    queries = []
    for _ in range(count):
        name = rng.choice(pool)
        kind = rng.random()
        queries.append(
            name if kind < 0.4 else name[: max(1, len(name) // 2)] if kind < 0.7
            else "".join(w[:1] for w in name.split("_")) if kind < 0.9 else name + "zz"
        )  # fmt: skip
    return queries


def alternating(runs: list[Run], i: int) -> list[Run]:
    """Which daemon goes first changes every round: neither always meets a warmer machine."""
    return runs if i % 2 == 0 else runs[::-1]


def measure_search(runs: list[Run], rpcs: dict[str, Rpc], queries: list[str]) -> None:
    for i, query in enumerate(queries):
        for run in alternating(runs, i):
            t = time.perf_counter()
            rpcs[run.label]("index.search", {"query": query})
            run.search_ms.append((time.perf_counter() - t) * 1000)
    _note("searches done")


def measure_edits(runs: list[Run], rpcs: dict[str, Rpc], edits: int, rng: random.Random) -> None:
    """A one-file edit until index.search shows the new symbol."""
    for i in range(edits):
        for run in alternating(runs, i):
            name = f"freshly_added_symbol_{i}_{rng.randrange(10**9)}"
            rpc = rpcs[run.label]
            t = time.perf_counter()
            (run.root / "bench_edit_target.py").write_text(f"def {name}():\n    return {i}\n")
            while not rpc("index.search", {"query": name, "limit": 1})["hits"]:
                time.sleep(0.002)
            run.edit_ms.append((time.perf_counter() - t) * 1000)
            time.sleep(0.1)
    _note("edits done")


def warm_restart(run: Run) -> None:
    """The same state dir; time from process start until the first search answers with hits."""
    t0 = time.perf_counter()
    command = daemon_command(run.sock, run.data, "--root", str(run.root))
    with server_process(command, run.sock, run.log, run.env, 60, poll_s=0.005):
        run.listening.append(time.perf_counter() - t0)
        rpc = Rpc(run.sock)
        while True:
            try:
                if rpc("index.search", {"query": "urlopen", "limit": 1})["hits"]:
                    break
            except (RuntimeError, OSError):
                rpc = Rpc(run.sock)
            time.sleep(0.01)
        run.warm.append(time.perf_counter() - t0)
        run.warm_parsed = rpc("index.status")["parsed"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="cold indexes and warm restarts per daemon (medians; with a baseline, in"
        " alternating order: ABBA...)",
    )
    parser.add_argument(
        "--baseline-tree",
        type=baseline_tree,
        help="an earlier aegisd checkout measured in the same run, its daemon alternating"
        " with this one (a change's cost)",
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="aegisd-bench-index-"))
    try:
        root = tmp / "stdlib"
        n_files = copy_stdlib(root)
        runs = [Run("aegisd", REPO, root, tmp)]
        if args.baseline_tree is not None:
            shutil.copytree(root, tmp / "stdlib-baseline", symlinks=False)
            runs.append(Run("baseline", args.baseline_tree, tmp / "stdlib-baseline", tmp))
        bare_s, bare_symbols = bare_index([str(p) for p in root.rglob("*.py")])
        _note(f"copied {n_files} files; bare index {bare_s:.1f} s")
        ctags_s = ctags_index(root, "--languages=Python")
        rng = random.Random(7)
        for at in range(args.rounds):
            # One daemon at a time: a cold index takes both cores, and the plugins' passes
            # after it (lint, clones, insights) would slow the other daemon's.
            for run in alternating(runs, at):
                run.round = at
                command = daemon_command(run.sock, run.data)
                with server_process(command, run.sock, run.log, run.env) as proc:
                    cold_index(run, proc.pid)
        imports_s = import_floor(runs[0].env)
        for at in range(args.rounds):
            for run in alternating(runs, at):
                warm_restart(run)
        with contextlib.ExitStack() as stack:
            # Searched and edited side by side, both restarted on their last index and settled.
            rpcs = {}
            for run in runs:
                command = daemon_command(run.sock, run.data, "--root", str(run.root))
                stack.enter_context(server_process(command, run.sock, run.log, run.env, 60))
                rpcs[run.label] = Rpc(run.sock)
                wait_ready(rpcs[run.label])
            time.sleep(SETTLE_S)
            queries = search_queries(rpcs["aegisd"], args.queries, rng)
            measure_search(runs, rpcs, queries)
            measure_edits(runs, rpcs, args.edits, rng)
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
        report(runs[0], n_files, bare_s, bare_symbols, ctags_s, imports_s)
        if len(runs) > 1:
            report_baseline(*runs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def report(
    run: Run,
    n_files: int,
    bare_s: float,
    bare_symbols: int,
    ctags_s: float | None,
    imports_s: float,
) -> None:
    status, cold_s, health = run.status, run.cold_s, run.health
    edit_ms, search_ms = run.edit_ms, run.search_ms
    rows = [
        ("files indexed", f"{status['files']} ({n_files} .py in copy)", ""),
        ("symbols", f"{status['symbols']} (bare walk: {bare_symbols})", ""),
        ("cold index, aegisd", f"{cold_s:.2f} s", ""),
        ("cold index, bare 2-proc ast", f"{bare_s:.2f} s", ""),
        ("  ratio (target <= 1.3x)", f"{cold_s / bare_s:.2f}x", _v(cold_s / bare_s <= 1.3)),
        ("cold index, universal-ctags", f"{ctags_s:.2f} s" if ctags_s else "not installed", ""),
        ("daemon.health p99 during cold index", f"{percentile(health, 0.99):.1f} ms ({len(health)} probes)",
         _v(percentile(health, 0.99) <= 50)),
        ("warm restart to first search", f"{run.warm_s:.3f} s (parsed {run.warm_parsed})", _v(run.warm_s <= 0.5)),
        ("  of which: start to socket listening", f"{run.listening_s:.3f} s", ""),
        ("  interpreter + imports alone", f"{imports_s:.3f} s", ""),
        ("edit -> search shows symbol, p95", f"{percentile(edit_ms, 0.95):.1f} ms (p50 {percentile(edit_ms, 0.5):.1f})",
         _v(percentile(edit_ms, 0.95) <= 50)),
        (f"index.search p99 ({len(search_ms)} queries)", f"{percentile(search_ms, 0.99):.2f} ms (p50 {percentile(search_ms, 0.5):.2f})",
         _v(percentile(search_ms, 0.99) <= 20)),
        ("daemon RSS after indexing", f"{run.rss:.0f} MiB", _v(run.rss <= 120)),
    ]  # fmt: skip
    for label, value, verdict in rows:
        print(f"{label:<38} {value:<40} {verdict}")


def report_baseline(ours: Run, base: Run) -> None:
    """aegisd against the `--baseline-tree` daemon, measured alternately in the same run."""

    def figures(run: Run) -> list[float]:
        return [
            run.status["files"] / run.cold_s,
            percentile(run.health, 0.99),
            max(run.health),
            percentile(run.search_ms, 0.5),
            percentile(run.search_ms, 0.99),
            percentile(run.edit_ms, 0.95),
            run.warm_s,
            run.rss,
        ]

    labels = [
        "cold index, files/s", "health p99 during cold index, ms", "health max during cold index, ms",
        "index.search p50, ms", "index.search p99, ms", "edit -> search p95, ms",
        "warm restart to first search, s", "RSS after indexing, MiB",
    ]  # fmt: skip
    print(f"\n{'against the baseline tree':<38}{'aegisd':>10}{'baseline':>10}{'ratio':>8}")
    for label, a, b in zip(labels, figures(ours), figures(base), strict=True):
        print(f"{label:<38}{a:>10.2f}{b:>10.2f}{a / b if b else math.inf:>7.2f}x")


def import_floor(env: dict[str, str]) -> float:
    """Seconds for a fresh interpreter to import what `aegisd serve` imports: no restart can
    answer sooner than this."""
    modules = ", ".join(("aegisd.server", *BUILTIN_PLUGINS))
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {modules}"], env=env, check=True)
    return time.perf_counter() - started


def _note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _v(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


if __name__ == "__main__":
    main()
