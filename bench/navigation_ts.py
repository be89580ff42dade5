"""Navigation benchmark on a TypeScript package: `index.references` against the TypeScript
language service's `findReferences`.

    npm pack rxjs && tar xzf rxjs-*.tgz                      # the package, e.g. in /tmp/x
    npm install --prefix /tmp/ts typescript                  # never into the repository
    python bench/navigation_ts.py --ts /tmp/x/package --typescript /tmp/ts/node_modules/typescript

The package (without ``dist``/``node_modules``) is copied into a temporary folder and indexed
by a daemon with only the code map loaded; ``--symbols`` definitions (functions, classes,
methods, interfaces, type aliases) from random files are queried both ways (`bench/tsrefs.js`
drives the language service, its program built once before the first query). Prints recall
(target >= 90%) and precision of ours against theirs, in-workspace and without the queried
declaration itself, nor references in comments (JSDoc ``{@link X}``: counted apart), the
time per query both ways, and bindings' share of the cold index (``--rounds`` each way, with
and without `AEGIS_CODEMAP_BINDINGS=0`, as `navigation.py` measures it).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import REPO, Rpc, binding_share_rows, percentile, print_rows, verdict
from navigation import _note, bound_daemon, cold_indexes

KINDS = ("function", "class", "method", "interface", "type")
_SKIP = shutil.ignore_patterns("dist", "node_modules", "*.js", "*.map", "*.js.map")

Position = tuple[str, int, int]


def pick_symbols(rpc: Rpc, root: Path, count: int, rng: random.Random) -> list[dict[str, Any]]:
    """`count` definitions with distinct names from random .ts files, at their names."""
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*.ts") if ".d.ts" not in p.name)
    rng.shuffle(files)
    picked: list[dict[str, Any]] = []
    names: set[str] = set()
    for path in files:
        if len(picked) == count:
            break
        outline = rpc("index.file", {"path": path})["outline"]
        stack, found = list(outline), []
        while stack:
            node = stack.pop()
            stack += node["children"]
            if (
                node["kind"] in KINDS
                and node["name"] not in names
                and node["name"] != "constructor"
            ):
                found.append(node)
        if not found:
            continue
        node = rng.choice(found)
        text = (root / path).read_text(errors="replace").splitlines()[node["line"] - 1]
        column = text.find(node["name"], node["column"] - 1) + 1
        if column <= 0:
            continue
        names.add(node["name"])
        picked.append({"path": path, "line": node["line"], "column": column, "name": node["name"]})
    return picked


def typescript_references(
    typescript: Path, root: Path, symbols: list[dict[str, Any]], tmp: Path
) -> list[tuple[set[Position], float]]:
    queries = tmp / "queries.json"
    queries.write_text(json.dumps(symbols))
    out = subprocess.run(
        ["node", str(REPO / "bench" / "tsrefs.js"), str(typescript), str(root), str(queries)],
        check=True, capture_output=True, text=True, timeout=1800,
    ).stdout  # fmt: skip
    found = []
    for symbol, answer in zip(symbols, json.loads(out), strict=True):
        refs = {(p, line, col) for p, line, col, _ in answer["refs"] if not p.startswith("..")}
        refs.discard((symbol["path"], symbol["line"], symbol["column"]))
        docs = {ref for ref in refs if _in_comment(root, ref)}
        found.append((refs - docs, docs, answer["ms"]))
    return found


def _in_comment(root: Path, ref: Position) -> bool:
    """A reference in a comment (JSDoc's ``{@link X}``): the language service counts those."""
    lines = (root / ref[0]).read_text(errors="replace").splitlines()
    text = lines[ref[1] - 1].strip() if ref[1] <= len(lines) else ""
    return text.startswith(("*", "/*", "//"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ts", type=Path, required=True, help="the TS package's folder")
    parser.add_argument("--typescript", type=Path, required=True, help="typescript's folder")
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=1, help="cold indexes each way (medians)")
    parser.add_argument("--verbose", action="store_true", help="each symbol's differences")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="aegisd-bench-navts-"))
    rng = random.Random(18)
    try:
        root = (tmp / "package").resolve()
        shutil.copytree(args.ts, root, ignore=_SKIP)
        cold, cpu, _ = cold_indexes(tmp, root, args.rounds)
        with bound_daemon(tmp, root) as rpc:
            symbols = pick_symbols(rpc, root, args.symbols, rng)
            ours: list[set[Position]] = []
            own: list[tuple[str | None, int | None]] = []
            ref_ms = []
            for symbol in symbols:
                position = {k: symbol[k] for k in ("path", "line", "column")}
                start = time.perf_counter()
                answer = rpc("index.references", position)
                ref_ms.append((time.perf_counter() - start) * 1000)
                mine = {(r["path"], r["line"], r["column"]) for r in answer["references"]}
                mine.discard((symbol["path"], symbol["line"], symbol["column"]))
                ours.append(mine)
                defined = answer["symbol"] or {}
                own.append((defined.get("path"), defined.get("line")))
        theirs = typescript_references(args.typescript, root, symbols, tmp)
        agreed = theirs_total = ours_total = docs_total = 0
        for symbol, mine, (found, docs, _), (path, line) in zip(
            symbols, ours, theirs, own, strict=True
        ):
            # the definition ours answers with is no reference of its own (an overload's
            # first signature, when the query was on another)
            found = {ref for ref in found if (ref[0], ref[1]) != (path, line)}
            docs_total += len(docs)
            if args.verbose and mine != found:
                missing, extra = sorted(found - mine)[:4], sorted(mine - found)[:4]
                _note(f"{symbol['path']}:{symbol['name']}: missing {missing} extra {extra}")
            agreed += len(mine & found)
            theirs_total += len(found)
            ours_total += len(mine)
        ts_ms = [ms for _, _, ms in theirs]
        recall, precision = agreed / max(theirs_total, 1), agreed / max(ours_total, 1)
        rows = [
            ("package", f"{args.ts.name} ({sum(1 for _ in root.rglob('*.ts'))} .ts files)", ""),
            *binding_share_rows(cold, cpu),
            (f"recall vs findReferences ({len(symbols)} symbols, {theirs_total} refs)",
             f"{recall * 100:.1f}%", verdict(recall >= 0.9)),
            (f"precision ({ours_total} refs)", f"{precision * 100:.1f}%", ""),
            ("references in comments ({@link}), not counted", f"{docs_total}", ""),
            ("index.references p50 / p95", f"{percentile(ref_ms, 0.5):.1f} / {percentile(ref_ms, 0.95):.1f} ms", ""),
            ("findReferences mean / ours", f"{statistics.mean(ts_ms) / statistics.mean(ref_ms):.1f}x "
             f"({statistics.mean(ts_ms):.0f} ms)", ""),
        ]  # fmt: skip
        print_rows(rows)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
