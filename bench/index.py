"""Code map benchmark on a copy of the Python standard library.

Prints, from one run:
- cold index time (daemon: open → index ready) vs a bare 2-process ast.parse + symbol walk of
  the same files (target ≤ 1.3x), and vs universal-ctags when installed (reference only);
- daemon.health p99 while the cold index runs (target ≤ 50 ms);
- warm restart until the first search answers (target ≤ 0.5 s);
- one-file edit until index.search shows the new symbol, p95 over 20 edits (target ≤ 50 ms);
- index.search p99 over 1,000 queries (target ≤ 20 ms);
- daemon RSS after indexing (target ≤ 120 MiB).
The standard library is copied into a temporary folder; it is never indexed in place.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from _common import (
    Rpc,
    bare_index,
    ctags_index,
    daemon_command,
    health_probes,
    isolated_env,
    percentile,
    server_process,
)

from aegisd.plugins import BUILTIN_PLUGINS

SKIP = {"site-packages", "__pycache__"}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--edits", type=int, default=20)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="aegisd-bench-index-"))
    try:
        root = tmp / "stdlib"
        n_files = copy_stdlib(root)
        bare_s, bare_symbols = bare_index([str(p) for p in root.rglob("*.py")])
        _note(f"copied {n_files} files; bare index {bare_s:.1f} s")
        ctags_s = ctags_index(root, "--languages=Python")
        sock, data = tmp / "s.sock", tmp / "state"
        env = isolated_env(tmp)
        log = tmp / "daemon.log"
        with server_process(daemon_command(sock, data), sock, log, env, timeout=60) as proc:
            rpc = Rpc(sock)
            # Started: `serve` listens before its deferred plugins load; plugins.list waits
            # for them, so the cold index below times indexing, not the daemon's own start.
            rpc("plugins.list")
            start = time.perf_counter()
            rpc("workspace.open", {"root": str(root)})
            with health_probes(sock) as health:
                wait_ready(rpc)
                cold_s = time.perf_counter() - start
            _note(f"cold index {cold_s:.1f} s")
            status = rpc("index.status")
            rss = rss_mib(proc.pid)
            # Search latency over real names, prefixes, initials and misses.
            symbols = rpc("index.search", {"query": "a", "limit": 500})["hits"]
            pool = [h["name"] for h in symbols] or ["open"]
            rng = random.Random(7)
            queries = []
            for _ in range(args.queries):
                name = rng.choice(pool)
                kind = rng.random()
                queries.append(
                    name if kind < 0.4 else name[: max(1, len(name) // 2)] if kind < 0.7
                    else "".join(w[:1] for w in name.split("_")) if kind < 0.9 else name + "zz"
                )  # fmt: skip
            search_ms = []
            for q in queries:
                t = time.perf_counter()
                rpc("index.search", {"query": q})
                search_ms.append((time.perf_counter() - t) * 1000)
            _note("searches done")
            # One-file edit until search shows the new symbol.
            target = root / "bench_edit_target.py"
            edit_ms = []
            for i in range(args.edits):
                name = f"freshly_added_symbol_{i}_{rng.randrange(10**9)}"
                t = time.perf_counter()
                target.write_text(f"def {name}():\n    return {i}\n")
                while not rpc("index.search", {"query": name, "limit": 1})["hits"]:
                    time.sleep(0.002)
                edit_ms.append((time.perf_counter() - t) * 1000)
                time.sleep(0.1)
        _note("edits done")
        # Warm restart: the same state dir; time until the first search answers with hits.
        imports_s = import_floor(env)
        t0 = time.perf_counter()  # from process start: the restart is part of the figure
        with server_process(
            daemon_command(sock, data, "--root", str(root)), sock, log, env, 60, poll_s=0.005
        ):
            listening_s = time.perf_counter() - t0
            rpc = Rpc(sock)
            while True:
                try:
                    if rpc("index.search", {"query": "urlopen", "limit": 1})["hits"]:
                        break
                except (RuntimeError, OSError):
                    rpc = Rpc(sock)
                time.sleep(0.01)
            warm_s = time.perf_counter() - t0
            warm_status = rpc("index.status")
        rows = [
            ("files indexed", f"{status['files']} ({n_files} .py in copy)", ""),
            ("symbols", f"{status['symbols']} (bare walk: {bare_symbols})", ""),
            ("cold index, aegisd", f"{cold_s:.2f} s", ""),
            ("cold index, bare 2-proc ast", f"{bare_s:.2f} s", ""),
            ("  ratio (target <= 1.3x)", f"{cold_s / bare_s:.2f}x", _v(cold_s / bare_s <= 1.3)),
            ("cold index, universal-ctags", f"{ctags_s:.2f} s" if ctags_s else "not installed", ""),
            ("daemon.health p99 during cold index", f"{percentile(health, 0.99):.1f} ms ({len(health)} probes)",
             _v(percentile(health, 0.99) <= 50)),
            ("warm restart to first search", f"{warm_s:.3f} s (parsed {warm_status['parsed']})", _v(warm_s <= 0.5)),
            ("  of which: start to socket listening", f"{listening_s:.3f} s", ""),
            ("  interpreter + imports alone", f"{imports_s:.3f} s", ""),
            ("edit -> search shows symbol, p95", f"{percentile(edit_ms, 0.95):.1f} ms (p50 {percentile(edit_ms, 0.5):.1f})",
             _v(percentile(edit_ms, 0.95) <= 50)),
            (f"index.search p99 ({len(search_ms)} queries)", f"{percentile(search_ms, 0.99):.2f} ms (p50 {percentile(search_ms, 0.5):.2f})",
             _v(percentile(search_ms, 0.99) <= 20)),
            ("daemon RSS after indexing", f"{rss:.0f} MiB", _v(rss <= 120)),
        ]  # fmt: skip
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
        for label, value, verdict in rows:
            print(f"{label:<38} {value:<40} {verdict}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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
