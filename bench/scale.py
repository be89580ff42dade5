"""Scale benchmark: grows a generated monorepo and prints how aegisd's costs grow with it.

For each size in `--sizes` (files the daemon indexes), one tree is generated in a temporary
folder (bench/_scaletree.py: standard-library copies, generated TS/JS, an ignored node_modules
of two fifths as many files again, a git repository with a branch), measured, then deleted:
- cold index: `workspace.open` until index.status is ready and not pending, vs a bare 2-process
  ast.parse of the same Python files and vs universal-ctags (`ctags -R` over the same tree,
  node_modules and .git excluded as the daemon excludes them), as ratios; files/s;
- daemon.health p99 and max during the cold index (a probe every 20 ms);
- RSS and PSS of the whole process tree (daemon, forkservers, workers, linters) once ready and
  after `--settle-s` idle seconds (default 600: the issue's "10 idle minutes"; a shorter settle
  is printed with the table), and the peak PSS in between (polled every 0.5 s); the data dir;
- index.search p50/p99 over a fixed query set (names, prefixes, initials and misses drawn from
  the tree's own definitions), and the first search after the settle;
- edit -> fresh search p95: a function with a new name appended to a file, until index.search
  finds it (the files are restored afterwards);
- warm restart (same data dir): process start until the first search answers with hits, and
  until `pending` is false; how long SIGTERM takes to stop each daemon;
- `git checkout` of a branch that changes min(5000, size) files, until `pending` is false, then
  the answers (index.status counts, index.search on sampled names, index.file on sampled files,
  graph.imports counts and per-file edges) compared with a fresh daemon's on the same tree.
Targets, judged at the largest size (the issue sets them for 50,000 files): process tree PSS
(peak, every plugin loaded) <= 600 MiB; cold index <= 1.3x the bare parse; health p99 <= 50 ms
and max <= 250 ms during the cold index; warm restart to first search <= 2 s; search p99 <= 50
ms; memory growing sublinearly (settled RSS at the largest size over the next smaller size's
less than the ratio of sizes, 5 from 10k to 50k); 0 mismatches after the checkout.
Daemons run as the other benches run them (their own state dir and socket, default config,
every plugin loaded); `AEGISD_MEMORY__BUDGET_MIB` is passed to them when set. The workspace is
not trusted unless `--trust` says so: trusted, lint's pytest would run the copies of CPython's
own test suite (for minutes, on a shared machine). So the warm restart opens the workspace with
workspace.open as soon as the socket accepts, as `serve --root` would trust it; with `--trust`
every daemon trusts it before opening it, and the warm restart uses `--root`. A process of a
daemon's tree that outlives its daemon is reported, then killed.

    python bench/scale.py [--sizes 2000,10000,50000] [--settle-s 600] [--queries 1000]
                          [--edits 20] [--trust] [--json] [--keep]

Prints a table (one row per size) and the targets, or with `--json` a JSON summary on stdout
(the table then goes to stderr); exits 0 unless the bench itself failed.
"""

from __future__ import annotations

import argparse
import ast
import itertools
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from _common import (
    REPO,
    bare_index,
    ctags_index,
    health_probes,
    percentile,
    tree_cpu,
    tree_memory,
)

sys.path[:0] = [str(REPO), str(REPO / "plugins")]  # this checkout's aegisd, not an installed one

from _scaleanswers import collect, compare, query_set, sample_for  # noqa: E402
from _scaledaemon import (  # noqa: E402
    BenchError,
    Daemon,
    MemoryPeak,
    daemon_env,
    note,
    settled_after,
    wait_ready,
)
from _scalereport import SizeResult, render, targets  # noqa: E402
from _scaletree import BRANCH, Tree, generate  # noqa: E402

EDIT_TIMEOUT_S = 30.0
HEALTH_INTERVAL_S = 0.02


def measure(size: int, args: argparse.Namespace, tmp: Path) -> SizeResult:
    rng = random.Random(size)
    note(f"[{size}] generating the tree")
    tree = generate(tmp / "tree", size)
    out = SizeResult(size=size, python=len(tree.python), web=len(tree.web), ignored=tree.ignored)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out.bare_s, _ = bare_index([str(tree.root / p) for p in tree.python])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the pool's workers, reaped
    out.bare_cpu_s = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    out.ctags_s = ctags_index(tree.root, "--exclude=node_modules", "--exclude=.git")
    note(f"[{size}] bare parse {out.bare_s:.1f} s, ctags {out.ctags_s or 0:.1f} s")
    queries, names = query_set(tree, rng, args.queries)
    env = daemon_env(tmp)
    with Daemon(tmp, tmp / "state", env, "first") as daemon:
        cold_index(daemon, tree, args, out)
        settle(daemon, args.settle_s, out)
        search_ms = timed_searches(daemon.rpc, queries)
        out.first_search_ms, out.search_p50_ms = search_ms[0], percentile(search_ms, 0.5)
        out.search_p99_ms = percentile(search_ms, 0.99)
        edit_ms = edits(daemon.rpc, tree, rng, args.edits, args.timeout_s)
        out.edit_p95_ms = percentile([ms for ms in edit_ms if ms >= 0], 0.95)
        out.edit_timeouts = edit_ms.count(-1.0)
    out.record(daemon)
    note(f"[{size}] warm restart")
    # `serve --root` trusts the root: used only when the bench trusts it anyway (--trust);
    # otherwise the workspace is opened as soon as the socket accepts.
    roots = ("--root", str(tree.root)) if args.trust else ()
    start = time.perf_counter()  # from process start: the restart is part of the figure
    with Daemon(tmp, tmp / "state", env, "warm", *roots) as daemon:
        if not args.trust:
            daemon.rpc("workspace.open", {"root": str(tree.root)})
        out.warm_search_s = first_hit(daemon, names[0], start, args.timeout_s)
        wait_ready(daemon.rpc, args.timeout_s)
        out.warm_ready_s = time.perf_counter() - start
        out.rss_warm, out.pss_warm = tree_memory(daemon.pid)
        sample = sample_for(tree, names, rng)
        note(f"[{size}] git checkout of {tree.changed} changed files")
        checkout(daemon.rpc, tree, args.timeout_s, out)
        ours = collect(daemon.rpc, sample)
    out.record(daemon)
    note(f"[{size}] a fresh daemon on the checked-out tree")
    with Daemon(tmp, tmp / "state-fresh", env, "fresh") as daemon:
        daemon.rpc("plugins.list")
        start = time.perf_counter()
        open_workspace(daemon.rpc, tree, args.trust)
        wait_ready(daemon.rpc, args.timeout_s)
        out.fresh_cold_s = time.perf_counter() - start
        fresh = collect(daemon.rpc, sample)
    out.record(daemon)
    out.compared, out.mismatches = len(ours), compare(ours, fresh)
    return out


def open_workspace(rpc: Any, tree: Tree, trust: bool) -> None:
    if trust:  # before it opens: its first lint pass runs every tool once, trusted
        rpc("workspace.trust", {"workspace": str(tree.root), "trusted": True})
    rpc("workspace.open", {"root": str(tree.root)})


def cold_index(daemon: Daemon, tree: Tree, args: argparse.Namespace, out: SizeResult) -> None:
    """workspace.open until ready and not pending, probing daemon.health meanwhile; the
    peak memory is watched from here to the end of the settle."""
    rpc = daemon.rpc
    rpc("plugins.list")  # waits for the deferred plugins: times indexing, not start-up
    daemon.peak = MemoryPeak(daemon.pid).start()
    cpu, start = tree_cpu(daemon.pid), time.perf_counter()
    open_workspace(rpc, tree, args.trust)
    with health_probes(daemon.sock, HEALTH_INTERVAL_S) as health:
        status = wait_ready(rpc, args.timeout_s)
        out.cold_s = time.perf_counter() - start
    out.cold_cpu_s = tree_cpu(daemon.pid) - cpu
    out.files, out.symbols = status["files"], status["symbols"]
    out.health_p99_ms, out.health_max_ms = percentile(health, 0.99), max(health, default=0)
    out.health_probes = len(health)
    out.rss_ready, out.pss_ready = tree_memory(daemon.pid)
    out.db_ready_mib = daemon.data_mib()
    note(f"[{out.size}] cold index {out.cold_s:.1f} s; settling {args.settle_s:.0f} s")


def settle(daemon: Daemon, seconds: float, out: SizeResult) -> None:
    """Idle for `seconds`, then the memory, the data dir and the daemon's own view."""
    time.sleep(seconds)
    out.rss_settled, out.pss_settled = tree_memory(daemon.pid)
    out.pss_peak = daemon.peak.stop() if daemon.peak else 0.0
    out.db_settled_mib = daemon.data_mib()
    health = daemon.rpc("daemon.health")
    out.degraded = health["reasons"] if health["status"] != "ok" else []
    out.daemon_memory = own_view(daemon.rpc("daemon.status"))


def checkout(rpc: Any, tree: Tree, timeout_s: float, out: SizeResult) -> None:
    """`git checkout` of the branch, until the daemon has indexed every change it made."""
    clock = rpc("index.status")["clock"]
    start = time.perf_counter()
    subprocess.run(["git", "checkout", "-q", BRANCH], cwd=tree.root, check=True)
    out.git_s = time.perf_counter() - start
    out.checkout_s = settled_after(rpc, clock, timeout_s) - start


def own_view(status: dict[str, Any]) -> dict[str, Any]:
    """The daemon's own memory figures (daemon.status `memory`, where it has them), in MiB."""
    memory = status.get("memory")
    if not memory:
        return {}

    def mib(n: int | None) -> float | None:
        return None if n is None else round(n / 2**20, 1)

    return {
        "used": mib(memory.get("used_bytes")),
        "budget": mib(memory.get("budget_bytes")),
        "over_budget": memory.get("over_budget"),
        "cached": mib(memory.get("cached_bytes")),
        "by_owner": {
            owner: {kind: mib(n) for kind, n in share.items()}
            for owner, share in memory.get("by_owner", {}).items()
        },
    }


def timed_searches(rpc: Any, queries: list[str]) -> list[float]:
    times = []
    for query in queries:
        start = time.perf_counter()
        rpc("index.search", {"query": query})
        times.append((time.perf_counter() - start) * 1000)
    return times


def edits(rpc: Any, tree: Tree, rng: random.Random, count: int, timeout_s: float) -> list[float]:
    """Milliseconds from appending a new function to a file until index.search finds it (-1:
    never within EDIT_TIMEOUT_S); the files are restored afterwards."""
    # Files that parse: the daemon keeps a broken file's last good outline, new names unseen.
    shuffled = rng.sample(tree.python, len(tree.python))
    targets = list(itertools.islice((rel for rel in shuffled if _parses(tree, rel)), count))
    originals = {rel: (tree.root / rel).read_bytes() for rel in targets}
    times, name = [], ""
    for n, rel in enumerate(targets):
        name = f"scale_edit_{n}_{rng.randrange(10**9)}"
        start = time.perf_counter()
        with (tree.root / rel).open("ab") as fh:
            fh.write(f"\n\ndef {name}():\n    return {n}\n".encode())
        while not any(h["name"] == name for h in rpc("index.search", {"query": name})["hits"]):
            if time.perf_counter() - start > EDIT_TIMEOUT_S:
                break
            time.sleep(0.002)
        else:
            times.append((time.perf_counter() - start) * 1000)
            time.sleep(0.1)
            continue
        times.append(-1.0)
    clock = rpc("index.status")["clock"]
    for rel, data in originals.items():
        (tree.root / rel).write_bytes(data)
    settled_after(rpc, clock, timeout_s)
    if any(h["name"] == name for h in rpc("index.search", {"query": name})["hits"]):
        raise BenchError(f"{name} is still found after its file was restored")
    return times


def _parses(tree: Tree, rel: str) -> bool:
    try:
        ast.parse((tree.root / rel).read_bytes())
    except (SyntaxError, ValueError):
        return False
    return True


def first_hit(daemon: Daemon, name: str, start: float, timeout_s: float) -> float:
    """Seconds from `start` until index.search answers `name` with hits."""
    rpc = daemon.rpc
    while time.perf_counter() - start < timeout_s:
        try:
            if rpc("index.search", {"query": name, "limit": 1})["hits"]:
                return time.perf_counter() - start
        except (RuntimeError, OSError):
            rpc = daemon.reconnect()
        time.sleep(0.01)
    raise BenchError(f"no search answered {name!r} within {timeout_s:.0f} s of a warm restart")


def _sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(s) for s in text.split(",") if s.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of sizes: {text!r}") from None
    if not sizes or sizes[0] < 100:
        raise argparse.ArgumentTypeError("sizes are at least 100 files")
    return sizes


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=_sizes, default=[2000, 10000, 50000])
    parser.add_argument("--settle-s", type=float, default=600.0, help="idle time before RSS/PSS")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--timeout-s", type=float, default=7200.0, help="per wait, at most")
    parser.add_argument(
        "--trust",
        action="store_true",
        help="trust the workspace: pytest then runs the copies of CPython's own tests",
    )
    parser.add_argument("--json", action="store_true", help="a JSON summary on stdout")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (trees, logs)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    results = []
    header = (
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load "
        f"{os.getloadavg()[0]:.1f}; settle {args.settle_s:.0f} s; memory budget "
        f"{os.environ.get('AEGISD_MEMORY__BUDGET_MIB', 'default')} MiB; workspace "
        f"{'trusted' if args.trust else 'not trusted'}"
    )
    for size in args.sizes:
        tmp = Path(tempfile.mkdtemp(prefix=f"aegisd-bench-scale-{size}-"))
        try:
            results.append(measure(size, args, tmp))
        finally:
            if args.keep:
                note(f"kept {tmp}")
            else:
                shutil.rmtree(tmp, ignore_errors=True)
    verdicts = targets(results)
    table = render(header, results, verdicts, args.settle_s)
    if args.json:
        print(table, file=sys.stderr)
        summary = {
            "header": header,
            "settle_s": args.settle_s,
            "sizes": [
                {
                    **asdict(r),
                    "cold_ratio": r.cold_ratio,
                    "cold_cpu_ratio": r.cold_cpu_ratio,
                    "ctags_ratio": r.ctags_ratio,
                    "files_per_s": r.files_per_s,
                }
                for r in results
            ],
            "targets": [asdict(v) for v in verdicts],
        }
        print(json.dumps(summary, indent=2))
    else:
        print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
