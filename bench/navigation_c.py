"""C/C++ navigation benchmark on a real C project (default: Pillow's sdist, fetched with
``pip download --no-binary :all: --no-deps pillow``; or ``--source DIR_OR_SDIST``).

Only the project's C/C++ files are copied into a temporary folder (never indexed in place).
Prints, from one run:
- cold index time with name binding and without it (`AEGIS_CODEMAP_BINDINGS=0`), each in a
  state dir of its own, alternating which goes first: bindings' share of the cold index;
- `index.references` and `index.definition` p95 over the same symbols (target <= 20 ms);
- recall and precision of `index.references` against the symbol's name as an identifier token
  in the C/C++ files, comments, string/char literals and ``#include`` lines left out (the
  token list is an UPPER BOUND of the true references: a local variable or a member of
  another struct with the same name counts too, so recall against it is a lower bound);
  A second recall leaves out the files that define the name themselves (universal-ctags);
- definitions: of each symbol's first reference outside its own file, whether
  `index.definition` lands on a line universal-ctags tags as a definition of that name.
Only the code map plugin is loaded.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import Rpc, binding_share_rows, percentile, print_rows, verdict
from navigation import _note, bound_daemon, cold_indexes

C_SUFFIXES = frozenset({".c", ".h", ".cc", ".cpp", ".cxx", ".hh", ".hpp", ".hxx"})
KINDS = ("function", "struct", "macro", "typedef", "enum", "union", "class", "method")
#: comments, string and char literals, and #include lines: no identifier tokens there
_NOISE = re.compile(
    rb'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|^[ \t]*#[ \t]*include[^\n]*',
    re.S | re.M,
)
_TOKEN = re.compile(rb"[A-Za-z_]\w*")

Site = tuple[str, int, int]


def fetch(tmp: Path, source: str | None) -> Path:
    """The unpacked project: ``source`` (a folder or an sdist) or Pillow's sdist from PyPI."""
    if source is not None and Path(source).is_dir():
        return Path(source)
    if source is None:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
             "pillow", "-d", str(tmp / "sdist"), "-q"],
            check=True,
        )  # fmt: skip
        source = str(next((tmp / "sdist").glob("*.tar.gz")))
    with tarfile.open(source) as archive:
        archive.extractall(tmp / "unpacked", filter="data")
    return tmp / "unpacked"


def copy_c(source: Path, root: Path) -> int:
    count = 0
    for path in sorted(source.rglob("*")):
        if path.suffix.lower() in C_SUFFIXES and path.is_file():
            target = root / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            count += 1
    return count


def token_index(root: Path) -> dict[str, set[Site]]:
    """Every identifier token of the C/C++ files (1-based line and column), by name."""
    found: dict[str, set[Site]] = {}
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in C_SUFFIXES:
            continue
        data = path.read_bytes()
        code = _NOISE.sub(lambda m: re.sub(rb"[^\n]", b" ", m.group()), data)
        rel = path.relative_to(root).as_posix()
        starts = [0] + [i + 1 for i, c in enumerate(code) if c == 10]
        line = 0
        for match in _TOKEN.finditer(code):
            while line + 1 < len(starts) and starts[line + 1] <= match.start():
                line += 1
            name = match.group().decode()
            found.setdefault(name, set()).add((rel, line + 1, match.start() - starts[line] + 1))
    return found


def ctags_definitions(root: Path) -> dict[str, set[tuple[str, int]]]:
    """universal-ctags' definitions (no prototypes, no extern declarations), by name."""
    out = subprocess.run(
        ["ctags", "-x", "--_xformat=%N\t%F\t%n\t%K", "-R", "--languages=C,C++", "."],
        cwd=root, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    found: dict[str, set[tuple[str, int]]] = {}
    for row in out.splitlines():
        name, path, line, kind = row.split("\t")
        if kind not in ("prototype", "externvar"):
            found.setdefault(name, set()).add((path.removeprefix("./"), int(line)))
    return found


def pick_symbols(rpc: Rpc, root: Path, count: int, seed: int) -> list[dict[str, Any]]:
    """`count` definitions of distinct names from files in a fixed shuffled order."""
    import random

    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.c"))
    files += sorted(p.relative_to(root).as_posix() for p in root.rglob("*.h"))
    rng = random.Random(seed)
    rng.shuffle(files)
    picked: list[dict[str, Any]] = []
    names: set[str] = set()
    for path in files * 3:  # up to three symbols per file
        if len(picked) == count:
            break
        stack, found = list(rpc("index.file", {"path": path})["outline"]), []
        while stack:
            node = stack.pop()
            stack += node["children"]
            if node["kind"] in KINDS and node["name"] not in names:
                found.append(node)
        if not found:
            continue
        node = rng.choice(found)
        lines = (root / path).read_text(errors="replace").splitlines()
        at = re.search(rf"\b{re.escape(node['name'])}\b", lines[node["line"] - 1])
        if at is None:
            continue
        names.add(node["name"])
        picked.append({**node, "path": path, "column": at.start() + 1})
    return picked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", help="a C project's folder or sdist (default: Pillow's)")
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=1, help="cold indexes each way (medians)")
    parser.add_argument("--verbose", action="store_true", help="each symbol's differences")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="aegisd-bench-navc-"))
    try:
        root = (tmp / "project").resolve()
        n_files = copy_c(fetch(tmp, args.source), root)
        _note(f"copied {n_files} C/C++ files")
        cold, cpu, _ = cold_indexes(tmp, root, args.rounds)
        tokens, tags = token_index(root), ctags_definitions(root)
        rows: list[tuple[dict[str, Any], set[Site], float, float, bool | None]] = []
        with bound_daemon(tmp, root) as rpc:
            for symbol in pick_symbols(rpc, root, args.symbols, 18):
                position = {k: symbol[k] for k in ("path", "line", "column")}
                start = time.perf_counter()
                answer = rpc("index.references", {**position, "limit": 10_000})
                ref_ms = (time.perf_counter() - start) * 1000
                ours = {(r["path"], r["line"], r["column"]) for r in answer["references"]}
                elsewhere = [r for r in answer["references"] if r["path"] != symbol["path"]]
                site = (elsewhere or answer["references"] or [position])[0]
                start = time.perf_counter()
                found = rpc("index.definition", {k: site[k] for k in ("path", "line", "column")})
                def_ms = (time.perf_counter() - start) * 1000
                landed = {(d["path"], d["line"]) for d in found["definitions"]}
                known = tags.get(symbol["name"])
                rows.append((symbol, ours, ref_ms, def_ms, bool(landed & known) if known else None))
        report(n_files, cold, cpu, rows, tokens, tags, args.verbose)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def report(
    n_files: int,
    cold: dict[bool, list[float]],
    cpu: dict[bool, list[float]],
    rows: list[tuple[dict[str, Any], set[Site], float, float, bool | None]],
    tokens: dict[str, set[Site]],
    tags: dict[str, set[tuple[str, int]]],
    verbose: bool,
) -> None:
    agreed = theirs_total = ours_total = own_agreed = own_total = 0
    for symbol, ours, *_ in rows:
        theirs = tokens.get(symbol["name"], set()) - {
            (symbol["path"], symbol["line"], symbol["column"])
        }
        agreed += len(ours & theirs)
        theirs_total += len(theirs)
        ours_total += len(ours)
        # a file that defines the name itself (a static function, a local typedef or macro
        # of the same name) uses its own definition: its tokens left out
        others = {path for path, _ in tags.get(symbol["name"], ())} - {symbol["path"]}
        own = {site for site in theirs if site[0] not in others}
        own_agreed += len(ours & own)
        own_total += len(own)
        if verbose and ours != theirs:
            _note(f"{symbol['qualname']} ({symbol['kind']}): missing {len(theirs - ours)} "
                  f"{sorted(theirs - ours)[:3]} extra {sorted(ours - theirs)[:3]}")  # fmt: skip
    ref_ms, def_ms = [r[2] for r in rows], [r[3] for r in rows]
    checked = [r[4] for r in rows if r[4] is not None]
    recall, precision = agreed / max(theirs_total, 1), agreed / max(ours_total, 1)
    table = [
        ("C/C++ files in copy", f"{n_files}", ""),
        *binding_share_rows(cold, cpu),
        (f"index.references p95 ({len(rows)} symbols)", f"{percentile(ref_ms, 0.95):.1f} ms (p50 {percentile(ref_ms, 0.5):.1f})",
         verdict(percentile(ref_ms, 0.95) <= 20)),
        ("index.definition p95", f"{percentile(def_ms, 0.95):.1f} ms (p50 {percentile(def_ms, 0.5):.1f})",
         verdict(percentile(def_ms, 0.95) <= 20)),
        (f"recall vs name tokens (upper bound, {theirs_total})", f"{recall * 100:.1f}%", ""),
        (f"  files defining the name too left out ({own_total})", f"{own_agreed / max(own_total, 1) * 100:.1f}%", ""),
        (f"precision vs name tokens ({ours_total} refs)", f"{precision * 100:.1f}%", ""),
        (f"definition on a ctags definition ({len(checked)})", f"{sum(checked) / max(len(checked), 1) * 100:.1f}%", ""),
    ]  # fmt: skip
    print_rows(table)


if __name__ == "__main__":
    main()
