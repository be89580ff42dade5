"""Similarity benchmark on a copy of the Python standard library, beside jscpd in the same run.

Prints, from one run:
- full index through the daemon (workspace.open -> similarity.status ready) and the first full
  similarity.report, with the daemon's peak memory (PSS of daemon, forkserver and workers together),
  beside jscpd 5 on the same files (installed with npm in this benchmark's own temp folder,
  when npm is there) and both clone counts; targets: index + report within 1.5x jscpd's wall
  time, at most a quarter of its peak memory;
- recall on clones this benchmark seeds itself: copies of random functions, exact (type 1),
  with every identifier and literal changed (type 2), and changed with statements added and
  removed as well (type 3); targets >= 95 % for types 1-2 and >= 80 % for type 3;
- similarity.check p95 for one function (target <= 50 ms);
- one-file edit until similarity.report reflects it, through the watcher (target <= 200 ms);
- daemon.health p99 while the index is built and reported (target <= 50 ms);
- warm restart: time until ready, and files analyzed again (target: none).
The standard library is copied into a temporary folder; it is never indexed in place. Only the
similarity plugin is loaded in the daemon, so the figures are its own.
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import keyword
import os
import random
import resource
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import threading
import time
import tokenize
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import (
    REPO,
    Rpc,
    daemon_command,
    health_probes,
    isolated_env,
    percentile,
    server_process,
    tree_cpu,
    tree_memory,
)

sys.path[:0] = [str(REPO), str(REPO / "plugins")]

from aegisd_similarity.tokens import tokenize_file  # noqa: E402

from aegisd.plugins import BUILTIN_PLUGINS  # noqa: E402

SKIP_DIRS = {"site-packages", "__pycache__", "lib-dynload", "venv"}  # venv: excluded by default
SEEDED = "bench_seeded"
EDIT_TIMEOUT_S = 10.0
JSCPD_FLAGS = ["--min-tokens", "30", "--ignore-identifiers", "--ignore-literals"]


# -- the workspace -------------------------------------------------------------------------------


def copy_stdlib(target: Path) -> int:
    source = Path(sysconfig.get_paths()["stdlib"])

    def ignore(directory: str, names: list[str]) -> set[str]:
        return {
            n
            for n in names
            if n in SKIP_DIRS or (not n.endswith(".py") and not os.path.isdir(os.path.join(directory, n)))
        }  # fmt: skip

    shutil.copytree(source, target, ignore=ignore, symlinks=False)
    return sum(1 for _ in target.rglob("*.py"))


@dataclass(frozen=True)
class Function:
    path: str  # root-relative
    start: int  # 1-based, inclusive
    end: int
    source: str  # dedented


def functions(root: Path, rng: random.Random, files: int) -> list[Function]:
    """Functions of 8 to 40 lines and 60 to 400 tokens (as the index counts them) from a random
    sample of files."""
    paths = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.py"))
    found = []
    for rel in rng.sample(paths, min(files, len(paths))):
        text = (root / rel).read_text(errors="replace")
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        lines = text.split("\n")
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef) or node.end_lineno is None:
                continue
            if not 8 <= node.end_lineno - node.lineno + 1 <= 40:
                continue
            code = textwrap.dedent("\n".join(lines[node.lineno - 1 : node.end_lineno])) + "\n"
            tokens = tokenize_file("f.py", code.encode())
            if 60 <= tokens.size(0, len(tokens)) <= 400:
                found.append(Function(rel, node.lineno, node.end_lineno, code))
    return found


def renamed(code: str, rng: random.Random) -> str:
    """Every identifier renamed (consistently) and every literal changed: a type-2 copy."""
    starts = [0]
    for line in code.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    names: dict[str, str] = {}
    pieces, last = [], 0
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type == tokenize.NAME and not keyword.iskeyword(tok.string):
            new = names.setdefault(tok.string, f"{tok.string}_{rng.choice('xyzw')}{len(names)}")
        elif tok.type == tokenize.NUMBER:
            new = str(rng.randrange(2, 999))
        elif tok.type == tokenize.STRING:
            new = repr(f"text {rng.randrange(1000)}")
        else:
            continue
        begin = starts[tok.start[0] - 1] + tok.start[1]
        pieces += [code[last:begin], new]
        last = starts[tok.end[0] - 1] + tok.end[1]
    return "".join([*pieces, code[last:]])


def gapped(code: str, rng: random.Random) -> str | None:
    """A renamed copy with one statement added and one removed: a type-3 copy (None when the
    function has no body statement that can go)."""
    code = renamed(code, rng)
    tree = ast.parse(code)
    body = tree.body[0].body  # type: ignore[attr-defined]
    if ast.get_docstring(tree.body[0]) is not None:  # type: ignore[arg-type]
        body = body[1:]
    single = [s for s in body if s.end_lineno == s.lineno and not isinstance(s, ast.Return)]
    if len(body) < 3 or not single:
        return None
    lines = code.split("\n")
    drop = rng.choice(single)
    at = rng.choice([s for s in body if s is not drop])
    indent = lines[at.lineno - 1][: at.col_offset]
    extra = f"{indent}audit_trail.append((len(audit_trail), 'checkpoint'))"
    out = []
    for number, line in enumerate(lines, 1):
        if number == at.lineno:
            out.append(extra)
        if number != drop.lineno:
            out.append(line)
    result = "\n".join(out)
    try:
        ast.parse(result)
    except SyntaxError:
        return None
    return result


@dataclass(frozen=True)
class Seed:
    type: int
    path: str  # the copy's file
    original: Function


def seed(root: Path, pool: list[Function], rng: random.Random, per_type: int) -> list[Seed]:
    """Write `per_type` copies of each type, one per file under SEEDED."""
    (root / SEEDED).mkdir()
    seeds: list[Seed] = []
    candidates = iter(rng.sample(pool, len(pool)))
    for kind in (1, 2, 3):
        made = 0
        while made < per_type:
            f = next(candidates)
            if kind == 1:
                copy: str | None = "# an exact copy (comments and layout aside)\n\n" + f.source
            else:
                copy = renamed(f.source, rng) if kind == 2 else gapped(f.source, rng)
            if copy is None:
                continue
            rel = f"{SEEDED}/seed_{kind}_{made}.py"
            (root / rel).write_text(copy)
            seeds.append(Seed(kind, rel, f))
            made += 1
    return seeds


def recall(seeds: list[Seed], pairs: list[tuple[str, int, int, str, int, int]]) -> dict[int, float]:
    """Share of seeds of each type with a clone between the copy and its original's lines."""
    hits: dict[int, list[bool]] = {1: [], 2: [], 3: []}
    by_copy: dict[str, list[tuple[str, int, int]]] = {}
    for pa, sa, ea, pb, sb, eb in pairs:
        by_copy.setdefault(pa, []).append((pb, sb, eb))
        by_copy.setdefault(pb, []).append((pa, sa, ea))
    for s in seeds:
        o = s.original
        found = any(
            path == o.path and start <= o.end and end >= o.start
            for path, start, end in by_copy.get(s.path, [])
        )
        hits[s.type].append(found)
    return {kind: 100 * sum(v) / len(v) for kind, v in hits.items() if v}


# -- measuring processes -------------------------------------------------------------------------


@contextmanager
def peak_memory(pid: int) -> Iterator[Callable[[], float]]:
    """The highest memory of the process tree of `pid` (PSS, summed), polled every 50 ms."""
    peak = [0.0]
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], tree_memory(pid)[1])
            stop.wait(0.05)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield lambda: peak[0]
    finally:
        stop.set()
        thread.join()


# -- jscpd ---------------------------------------------------------------------------------------


def install_jscpd(folder: Path) -> tuple[Path, str] | None:
    """jscpd 5 in `folder`: the newest 5.x whose native package installs here (a release can
    come out before its binaries do), trying at most three."""
    if shutil.which("npm") is None:
        return None
    folder.mkdir()
    listed = subprocess.run(
        ["npm", "view", "jscpd@5", "version", "--json"], capture_output=True, text=True
    )
    try:
        versions = json.loads(listed.stdout)
    except json.JSONDecodeError:
        return None
    versions = [versions] if isinstance(versions, str) else versions
    versions.sort(key=lambda v: tuple(int(x) for x in v.split(".")), reverse=True)
    binary = folder / "node_modules" / ".bin" / "jscpd"
    for version in versions[:3]:
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--silent", f"jscpd@{version}"],
            cwd=folder, capture_output=True,
        )  # fmt: skip
        works = binary.exists() and subprocess.run([binary, "--version"], capture_output=True)
        if works and works.returncode == 0:
            return binary, version
    return None


@dataclass(frozen=True)
class JscpdRun:
    version: str
    wall_s: float
    cpu_s: float
    peak_mib: float
    clones: int
    pairs: list[tuple[str, int, int, str, int, int]]


def run_jscpd(binary: Path, version: str, root: Path, out: Path) -> JscpdRun:
    cmd = [str(binary), "-r", "json", "-o", str(out), "-f", "python", "--silent", *JSCPD_FLAGS]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen([*cmd, str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with peak_memory(proc.pid) as peak:
        while proc.poll() is None:
            time.sleep(0.05)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if proc.returncode != 0:
        raise RuntimeError(f"jscpd failed: {proc.stderr.read() if proc.stderr else ''!r}")
    report = json.loads((out / "jscpd-report.json").read_text())
    pairs = [
        (
            d["firstFile"]["name"], d["firstFile"]["startLoc"]["line"], d["firstFile"]["endLoc"]["line"],
            d["secondFile"]["name"], d["secondFile"]["startLoc"]["line"], d["secondFile"]["endLoc"]["line"],
        )
        for d in report["duplicates"]
    ]  # fmt: skip
    clones = report["statistics"]["total"]["clones"]
    return JscpdRun(version, wall, cpu, peak(), clones, pairs)


# -- the daemon ----------------------------------------------------------------------------------


def only_similarity(tmp: Path) -> dict[str, str]:
    env = isolated_env(tmp)
    others = [p for p in BUILTIN_PLUGINS if not p.startswith(("aegisd.", "aegisd_similarity"))]
    env["AEGISD_PLUGINS__DISABLED"] = ",".join(others)
    return env


def wait_ready(rpc: Rpc) -> dict[str, Any]:
    while True:
        status = rpc("similarity.status")
        if status["ready"] and not status["queued"]:
            return status  # type: ignore[no-any-return]
        time.sleep(0.02)


def edits(
    rpc: Rpc, root: Path, pool: list[Function], rng: random.Random, count: int
) -> list[float]:
    """Milliseconds from writing one file until the full report reflects it: a function pasted
    in (a new clone), then the file restored (the clone gone), `count` times."""
    times = []
    targets = rng.sample([f for f in pool if not f.path.startswith(SEEDED)], count)
    for target, donor in zip(targets, rng.sample(pool, count), strict=True):
        path = root / target.path
        before = path.read_text()
        clones = rpc("similarity.report")["summary"]["clones"]
        for text in (before + "\n\n" + donor.source, before):
            start = time.perf_counter()
            path.write_text(text)
            while rpc("similarity.report")["summary"]["clones"] == clones:
                if time.perf_counter() - start > EDIT_TIMEOUT_S:
                    break  # counted as the timeout: the edit never showed
                time.sleep(0.002)
            times.append((time.perf_counter() - start) * 1000)
            clones = rpc("similarity.report")["summary"]["clones"]
            time.sleep(0.2)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=40, help="seeded clones per type")
    parser.add_argument("--checks", type=int, default=100)
    parser.add_argument("--edits", type=int, default=5)
    parser.add_argument("--no-jscpd", action="store_true")
    args = parser.parse_args()
    rng = random.Random(11)
    tmp = Path(tempfile.mkdtemp(prefix="aegisd-bench-similarity-"))
    try:
        root = tmp / "stdlib"
        n_files = copy_stdlib(root)
        pool = functions(root, rng, 400)
        seeds = seed(root, pool, rng, args.seeds)
        installed = None if args.no_jscpd else install_jscpd(tmp / "jscpd")
        jscpd = run_jscpd(*installed, root, tmp / "jscpd-out") if installed else None

        sock, data, log, env = (
            tmp / "s.sock",
            tmp / "state",
            tmp / "daemon.log",
            only_similarity(tmp),
        )
        with server_process(daemon_command(sock, data), sock, log, env, timeout=60) as proc:
            rpc = Rpc(sock)
            rpc("plugins.list")  # waits for the deferred plugins: time indexing, not start-up
            with peak_memory(proc.pid) as peak:
                start = time.perf_counter()
                rpc("workspace.open", {"root": str(root)})
                with health_probes(sock) as health:
                    status = wait_ready(rpc)
                    index_s = time.perf_counter() - start
                    start = time.perf_counter()
                    report = rpc("similarity.report")
                    report_s = time.perf_counter() - start
                ours_peak = peak()
            ours_cpu = tree_cpu(proc.pid)
            seeded = rpc("similarity.report", {"paths": [SEEDED], "limit": 10_000})["clones"]
            ours_recall = recall(
                seeds,
                [
                    (c["a"]["path"], c["a"]["start_line"], c["a"]["end_line"],
                     c["b"]["path"], c["b"]["start_line"], c["b"]["end_line"])
                    for c in seeded
                ],
            )  # fmt: skip
            check_ms, check_found = [], 0
            for f in rng.sample(pool, min(args.checks, len(pool))):
                code = renamed(f.source, rng) if rng.random() < 0.5 else f.source
                t = time.perf_counter()
                found = rpc("similarity.check", {"code": code})["clones"]
                check_ms.append((time.perf_counter() - t) * 1000)
                check_found += any(c["a"]["path"] == f.path for c in found)
            edit_ms = edits(rpc, root, pool, rng, args.edits)
        start = time.perf_counter()
        with server_process(
            daemon_command(sock, data, "--root", str(root)), sock, log, env, timeout=60
        ):
            rpc = Rpc(sock)
            warm = wait_ready(rpc)
            warm_s = time.perf_counter() - start

        total_s = index_s + report_s
        summary = report["summary"]
        theirs = recall(seeds, jscpd.pairs) if jscpd else {}
        rows = [
            ("files", f"{status['files']} indexed ({n_files} .py + {len(seeds)} seeded)", "", ""),
            ("full index (open -> ready)", f"{index_s:.2f} s", "", ""),
            ("first full report", f"{report_s:.2f} s", "", ""),
        ]
        if jscpd:
            rows += [
                ("index + report vs jscpd wall", f"{total_s:.2f} s", f"{jscpd.wall_s:.2f} s",
                 f"{total_s / jscpd.wall_s:.2f}x (<= 1.5x) {_v(total_s <= 1.5 * jscpd.wall_s)}"),
                ("CPU time (all processes)", f"{ours_cpu:.1f} s", f"{jscpd.cpu_s:.1f} s", ""),
                ("peak memory (PSS, process tree)", f"{ours_peak:.0f} MiB", f"{jscpd.peak_mib:.0f} MiB",
                 f"{ours_peak / jscpd.peak_mib:.2f}x (<= 0.25x) {_v(ours_peak <= jscpd.peak_mib / 4)}"),
                ("clones", f"{summary['clones']} ({summary['percent']} % of lines)", f"{jscpd.clones}", ""),
            ]  # fmt: skip
        else:
            rows += [
                ("CPU time (all processes)", f"{ours_cpu:.1f} s", "jscpd not run", ""),
                ("peak memory (PSS, process tree)", f"{ours_peak:.0f} MiB", "", ""),
                ("clones", f"{summary['clones']} ({summary['percent']} % of lines)", "", ""),
            ]
        for kind, target in ((1, 95), (2, 95), (3, 80)):
            got = ours_recall[kind]
            other = f"{theirs[kind]:.0f} %" if kind in theirs else ""
            rows.append((f"recall, seeded type {kind}", f"{got:.0f} % of {args.seeds}", other,
                         f">= {target} % {_v(got >= target)}"))  # fmt: skip
        p95 = percentile(check_ms, 0.95)
        edit_p50, edit_max = percentile(edit_ms, 0.5), max(edit_ms)
        health_p99 = percentile(health, 0.99)
        rows += [
            ("similarity.check p95", f"{p95:.1f} ms (p50 {percentile(check_ms, 0.5):.1f}; "
             f"found {check_found}/{len(check_ms)})", "", f"<= 50 ms {_v(p95 <= 50)}"),
            ("edit -> report reflects it, p50", f"{edit_p50:.0f} ms (max {edit_max:.0f}, n={len(edit_ms)})",
             "", f"<= 200 ms {_v(edit_p50 <= 200)}"),
            ("daemon.health p99 while indexing", f"{health_p99:.1f} ms ({len(health)} probes)", "",
             f"<= 50 ms {_v(health_p99 <= 50)}"),
            ("warm restart", f"ready in {warm_s:.2f} s, {warm['analyzed']} analyzed, "
             f"{warm['loaded']} loaded", "", f"0 analyzed {_v(warm['analyzed'] == 0)}"),
        ]  # fmt: skip
        version = f"jscpd {jscpd.version} {' '.join(JSCPD_FLAGS)}" if jscpd else "jscpd: not run"
        print(
            f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; {version}"
        )
        print(f"{'metric':<34} {'aegisd':<44} {'jscpd':<12} target")
        for label, ours, other, verdict in rows:
            print(f"{label:<34} {ours:<44} {other:<12} {verdict}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _v(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


if __name__ == "__main__":
    main()
