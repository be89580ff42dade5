"""Navigation benchmark on a copy of the Python standard library.

Prints, from one run:
- cold index time with name binding and without it (`AEGIS_CODEMAP_BINDINGS=0`), each in a
  state dir of its own, alternating which goes first: bindings' share (target: adds <= 50%);
- daemon RSS after each cold index: the growth bindings bring (target <= 60 MiB);
- `index.references` and `index.definition` p95 over the same 50 symbols (target <= 20 ms),
  asked right after the daemon restarts ready, and asked again of another restart once the
  files' namespaces are read ahead (`--settle` seconds after ready);
- recall and precision of `index.references` against jedi's `Script.get_references`
  (in-workspace results) on those symbols (targets >= 90%, >= 95%), and jedi's time per query
  as a ratio of ours.
Only the code map plugin is loaded (the others' passes would share the cores unevenly).
The standard library is copied into a temporary folder; it is never indexed in place.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _common import (
    REPO,
    Rpc,
    binding_share_rows,
    daemon_command,
    isolated_env,
    percentile,
    print_rows,
    server_process,
    tree_cpu,
    verdict,
)
from index import copy_stdlib, rss_mib, wait_ready

from aegisd.plugins import BUILTIN_PLUGINS

OTHER_PLUGINS = ",".join(
    p for p in BUILTIN_PLUGINS if not p.startswith(("aegisd.builtin", "aegisd_codemap"))
)
KINDS = ("function", "class", "method")


def _note(text: str) -> None:
    print(f"  .. {text}", file=sys.stderr, flush=True)


def env_for(tmp: Path, label: str, bindings: bool) -> dict[str, str]:
    env = isolated_env(tmp / label, REPO)
    env["AEGISD_PLUGINS__DISABLED"] = OTHER_PLUGINS
    env["AEGIS_CODEMAP_BINDINGS"] = "1" if bindings else "0"
    return env


def cold_index(
    tmp: Path, root: Path, label: str, bindings: bool, round_: int
) -> tuple[float, float, float]:
    """(seconds from workspace.open to ready, CPU seconds, daemon RSS in MiB after it)."""
    sock, data = tmp / f"{label}.sock", tmp / f"{label}-state-{round_}"
    command = daemon_command(sock, data)
    with server_process(command, sock, tmp / f"{label}.log", env_for(tmp, label, bindings)) as proc:
        rpc = Rpc(sock)
        rpc("plugins.list")
        start, cpu = time.perf_counter(), tree_cpu(proc.pid)
        rpc("workspace.open", {"root": str(root)})
        wait_ready(rpc)
        took = time.perf_counter() - start
        cpu = tree_cpu(proc.pid) - cpu  # the pool's workers are still up (parsing.IDLE_S)
        time.sleep(1.0)  # the last writes land
        rss = rss_mib(proc.pid)
    _note(f"{label}: cold index {took:.1f} s, {cpu:.1f} CPU s, RSS {rss:.0f} MiB")
    return took, cpu, rss


Rounds = dict[bool, list[float]]
"""A figure per cold index, by whether names were bound."""


def cold_indexes(tmp: Path, root: Path, rounds: int) -> tuple[Rounds, Rounds, Rounds]:
    """`rounds` cold indexes each way, alternating which goes first: (seconds, CPU seconds,
    daemon RSS in MiB) of each, by whether names were bound. The state of the first bound
    index stays in ``tmp / "bound-state-0"`` for the questions."""
    cold: Rounds = {True: [], False: []}
    cpu: Rounds = {True: [], False: []}
    rss: Rounds = {True: [], False: []}
    for at in range(rounds):
        for bindings in (True, False) if at % 2 == 0 else (False, True):
            label = "bound" if bindings else "unbound"
            took, seconds, mib = cold_index(tmp, root, label, bindings, at)
            cold[bindings].append(took)
            cpu[bindings].append(seconds)
            rss[bindings].append(mib)
    return cold, cpu, rss


@contextmanager
def bound_daemon(tmp: Path, root: Path, log: str = "query.log") -> Iterator[Rpc]:
    """A daemon on the first bound cold index's state (`cold_indexes`), ready for questions."""
    sock = tmp / "bound.sock"
    command = daemon_command(sock, tmp / "bound-state-0", "--root", str(root))
    with server_process(command, sock, tmp / log, env_for(tmp, "bound", True), 60):
        rpc = Rpc(sock)
        wait_ready(rpc)
        yield rpc


def pick_symbols(rpc: Rpc, root: Path, count: int, rng: random.Random) -> list[dict[str, Any]]:
    """`count` definitions from random files, each with the position of its name."""
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*.py"))
    rng.shuffle(files)
    picked: list[dict[str, Any]] = []
    names: set[str] = set()
    for path in files:
        if len(picked) == count:
            break
        try:
            outline = rpc("index.file", {"path": path})["outline"]
        except RuntimeError:
            continue
        stack, found = list(outline), []
        while stack:
            node = stack.pop()
            stack += node["children"]
            if node["kind"] in KINDS and not node["name"].startswith("__"):
                found.append(node)
        if not found:
            continue
        node = rng.choice(found)
        if node["name"] in names:
            continue
        lines = (root / path).read_text(errors="replace").splitlines()
        column = lines[node["line"] - 1].find(node["name"], node["column"] - 1) + 1
        if column <= 0:
            continue
        names.add(node["name"])
        picked.append(
            {"path": path, "line": node["line"], "column": column, "qualname": node["qualname"]}
        )
    return picked


def run_queries(
    rpc: Rpc, symbols: list[dict[str, Any]]
) -> tuple[list[set[tuple[str, int, int]]], list[float], list[float]]:
    """Each symbol's references (and a definition at the first): the answers and the times."""
    ours: list[set[tuple[str, int, int]]] = []
    ref_ms, def_ms = [], []
    for symbol in symbols:
        position = {k: symbol[k] for k in ("path", "line", "column")}
        start = time.perf_counter()
        answer = rpc("index.references", position)
        ref_ms.append((time.perf_counter() - start) * 1000)
        ours.append({(r["path"], r["line"], r["column"]) for r in answer["references"]})
        site = answer["references"][0] if answer["references"] else position
        start = time.perf_counter()
        rpc("index.definition", {k: site[k] for k in ("path", "line", "column")})
        def_ms.append((time.perf_counter() - start) * 1000)
    return ours, ref_ms, def_ms


def jedi_references(root: Path, symbol: dict[str, Any]) -> tuple[set[tuple[str, int, int]], float]:
    import jedi

    path, line, column = symbol["path"], symbol["line"], symbol["column"]
    start = time.perf_counter()
    script = jedi.Script(
        path=root / path, project=jedi.Project(root), environment=jedi.InterpreterEnvironment()
    )
    names = script.get_references(line, column - 1, scope="project")
    took = time.perf_counter() - start
    found = set()
    for name in names:
        module = name.module_path
        if module is not None and Path(module).is_relative_to(root):
            found.add((Path(module).relative_to(root).as_posix(), name.line, name.column + 1))
    found.discard((path, line, column))
    return found, took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=1, help="cold indexes each way (medians)")
    parser.add_argument("--no-jedi", action="store_true", help="skip the comparison with jedi")
    parser.add_argument("--verbose", action="store_true", help="each symbol's differences")
    parser.add_argument(
        "--settle", type=float, default=10.0, help="seconds after ready before the second round"
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="aegisd-bench-nav-"))
    rng = random.Random(18)
    try:
        root = (tmp / "stdlib").resolve()
        n_files = copy_stdlib(root)
        _note(f"copied {n_files} files")
        cold, cpu, rss = cold_indexes(tmp, root, args.rounds)
        with bound_daemon(tmp, root) as rpc:
            symbols = pick_symbols(rpc, root, args.symbols, rng)
            ours, ref_ms, def_ms = run_queries(rpc, symbols)
        # A restart, the same questions once the namespaces are read ahead (`navcache`).
        with bound_daemon(tmp, root, "settled.log") as rpc:
            time.sleep(args.settle)
            _, settled_ms, _ = run_queries(rpc, symbols)
        _note("queries done")
        if args.verbose:
            for symbol, ms in sorted(zip(symbols, ref_ms, strict=True), key=lambda x: -x[1])[:5]:
                _note(f"slowest: {ms:.1f} ms {symbol}")
        agreed = theirs_total = ours_total = 0
        jedi_s: list[float] = []
        if not args.no_jedi:
            for symbol, mine in zip(symbols, ours, strict=True):
                theirs, took = jedi_references(root, symbol)
                jedi_s.append(took)
                if args.verbose and mine != theirs:
                    _note(
                        f"{symbol}: missing {sorted(theirs - mine)[:4]} extra {sorted(mine - theirs)[:4]}"
                    )
                agreed += len(mine & theirs)
                theirs_total += len(theirs)
                ours_total += len(mine)
            _note("jedi done")
        report(
            n_files,
            cold,
            cpu,
            rss,
            ref_ms,
            settled_ms,
            def_ms,
            agreed,
            theirs_total,
            ours_total,
            jedi_s,
            len(symbols),
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def report(
    n_files: int,
    cold: dict[bool, list[float]],
    cpu: dict[bool, list[float]],
    rss: dict[bool, list[float]],
    ref_ms: list[float],
    settled_ms: list[float],
    def_ms: list[float],
    agreed: int,
    theirs: int,
    ours: int,
    jedi_s: list[float],
    symbols: int,
) -> None:
    growth = statistics.median(rss[True]) - statistics.median(rss[False])
    rows = [
        ("files in copy", f"{n_files}", ""),
        *binding_share_rows(cold, cpu),
        ("daemon RSS growth from bindings", f"{growth:.1f} MiB", verdict(growth <= 60)),
        (f"index.references p95 ({len(ref_ms)} symbols)", f"{percentile(ref_ms, 0.95):.1f} ms (p50 {percentile(ref_ms, 0.5):.1f})",
         verdict(percentile(ref_ms, 0.95) <= 20)),
        ("  once namespaces are read ahead", f"{percentile(settled_ms, 0.95):.1f} ms (p50 {percentile(settled_ms, 0.5):.1f})",
         verdict(percentile(settled_ms, 0.95) <= 20)),
        ("index.definition p95", f"{percentile(def_ms, 0.95):.1f} ms (p50 {percentile(def_ms, 0.5):.1f})",
         verdict(percentile(def_ms, 0.95) <= 20)),
    ]  # fmt: skip
    if jedi_s:
        recall, precision = agreed / max(theirs, 1), agreed / max(ours, 1)
        ratio = statistics.mean(jedi_s) * 1000 / statistics.mean(ref_ms)
        rows += [
            (f"recall vs jedi ({symbols} symbols, {theirs} refs)", f"{recall * 100:.1f}%", verdict(recall >= 0.9)),
            (f"precision vs jedi ({ours} refs)", f"{precision * 100:.1f}%", verdict(precision >= 0.95)),
            ("jedi time per query / ours", f"{ratio:.0f}x ({statistics.mean(jedi_s) * 1000:.0f} ms)", ""),
        ]  # fmt: skip
    print_rows(rows)


if __name__ == "__main__":
    main()
