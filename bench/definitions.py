"""How many of a tree's definitions the code map finds, against universal-ctags and (for JS/TS,
optionally) the TypeScript compiler, per kind; files with parse errors; extraction time.

    python bench/definitions.py DIR [--h-cpp] [--tsc node_modules/typescript/lib/typescript.js]

A definition counts as found when the code map has a symbol of that name in that file. ctags
kinds that the code map does not index by design (variables, members, prototypes, macros,
enumerators, locals) are left out; anonymous ones (``__anon...``, ``AnonymousFunction...``)
count as missing. ``--h-cpp`` has ctags read ``.h`` files as C++ (the code map decides per file).
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]

from aegisd_codemap.extract import extract_file  # noqa: E402

SUFFIXES = {".ts", ".tsx", ".js", ".mjs", ".cjs", ".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh"}
SKIP_KINDS = {
    "member", "variable", "externvar", "enumerator", "macro", "header", "local", "parameter",
    "property", "field", "prototype", "macroparam", "label", "getter", "setter", "constant",
    "alias", "typedefName",
}  # fmt: skip
#: what the TypeScript compiler calls a definition (run with node)
TSC_SCRIPT = """
const ts = require(process.argv[1]); const fs = require('fs');
const kinds = {TypeAliasDeclaration: 'type', FunctionDeclaration: 'function',
  ClassDeclaration: 'class', InterfaceDeclaration: 'interface', EnumDeclaration: 'enum',
  MethodDeclaration: 'method', MethodSignature: 'method'};
for (const file of JSON.parse(fs.readFileSync(0, 'utf8'))) {
  const src = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const visit = (n) => {
    let kind = kinds[ts.SyntaxKind[n.kind]];
    if (kind === 'method' && ts.isObjectLiteralExpression(n.parent)) kind = 'object-method';
    if (ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.EqualsToken
        && ts.isPropertyAccessExpression(n.left)
        && (ts.isFunctionExpression(n.right) || ts.isArrowFunction(n.right)))
      console.log(JSON.stringify([file, 'member-function', n.left.name.text]));
    if (kind && n.name) console.log(JSON.stringify([file, kind, n.name.getText(src)]));
    ts.forEachChild(n, visit);
  };
  visit(src);
}
"""


def ours(root: Path) -> tuple[dict[str, set[str]], collections.Counter[str], int, float]:
    """Names per file, symbols per kind, files with parse errors, seconds spent extracting."""
    names: dict[str, set[str]] = {}
    kinds: collections.Counter[str] = collections.Counter()
    errors, spent = 0, 0.0
    for path in sorted(p for p in root.rglob("*") if p.suffix in SUFFIXES and p.is_file()):
        rel = path.relative_to(root).as_posix()
        data = path.read_bytes()
        start = time.perf_counter()
        found = extract_file(rel, data, False, str(root))
        spent += time.perf_counter() - start
        errors += bool(found.errors)
        names[rel] = {s.name for s in found.symbols}
        kinds.update(s.kind for s in found.symbols)
    return names, kinds, errors, spent


def ctags(root: Path, h_cpp: bool) -> list[tuple[str, str, str]]:
    langmap = "--langmap=C++:+.h" if h_cpp else "--langmap=C:+.h"
    out = subprocess.run(
        ["ctags", "-R", "--output-format=json", "--fields=+nK", "-f", "-", langmap, "."],
        cwd=root, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    tags = (json.loads(line) for line in out.splitlines())
    return [
        (t["path"], t["kind"], t["name"])
        for t in tags
        if t.get("_type") == "tag" and t["kind"] not in SKIP_KINDS
        and Path(t["path"]).suffix in SUFFIXES
    ]  # fmt: skip


def tsc(root: Path, compiler: str) -> list[tuple[str, str, str]]:
    files = [str(p) for p in root.rglob("*") if p.suffix in {".ts", ".tsx", ".js"}]
    out = subprocess.run(
        ["node", "-e", TSC_SCRIPT, compiler], input=json.dumps(files),
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rows = (json.loads(line) for line in out.splitlines())
    return [(Path(f).relative_to(root).as_posix(), kind, name) for f, kind, name in rows]


def table(label: str, found: dict[str, set[str]], wanted: list[tuple[str, str, str]]) -> None:
    want: collections.Counter[str] = collections.Counter()
    got: collections.Counter[str] = collections.Counter()
    for path, kind, name in wanted:
        want[kind] += 1
        got[kind] += name.strip("'\"") in found.get(path, ())
    for kind in sorted(want):
        print(f"  {label} {kind:16} {got[kind]:6} / {want[kind]:6}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--h-cpp", action="store_true", help="ctags reads .h files as C++")
    parser.add_argument("--tsc", help="the TypeScript compiler's lib/typescript.js")
    args = parser.parse_args()
    root = args.root.resolve()
    found, kinds, errors, spent = ours(root)
    print(f"{len(found)} files, {errors} with parse errors, extracted in {spent:.2f} s")
    print(f"  code map kinds: {dict(sorted(kinds.items()))}")
    table("ctags", found, ctags(root, args.h_cpp))
    if args.tsc:
        table("tsc  ", found, tsc(root, args.tsc))


if __name__ == "__main__":
    main()
