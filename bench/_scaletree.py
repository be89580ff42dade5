"""The monorepo `bench/scale.py` grows: stdlib copies, generated TS/JS, node_modules, git.

`generate(root, size)` writes, deterministically (the same bytes for the same size):
- `packages/pyNN/`: copies of the standard library's Python files (numbered copies; the last one
  cut short) making nine tenths of `size`, without the directories the daemon excludes by
  default, so that every file counted is one the daemon indexes;
- `packages/webNN/src/`: generated TypeScript (two in three) and JavaScript modules importing
  each other, the remaining tenth;
- `node_modules/`: small JavaScript packages, two fifths of `size` more files, ignored (a
  default-excluded directory, and in `.gitignore`);
- a git repository with all of it committed on `main`, and a branch `scale-change` that
  changes `min(5000, size)` files (modified: comment lines inserted above the first definition,
  which moves every later line, that definition renamed, a function, a class and an import
  appended; a twentieth deleted; a twentieth added) and is left checked out on `main`.
The standard library is read, never written: the tree is a copy.
"""

from __future__ import annotations

import ast
import os
import random
import subprocess
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

from aegisd.settings import DEFAULT_EXCLUDE_DIRS

STDLIB = Path(sysconfig.get_paths()["stdlib"])
SKIP_DIRS = {*DEFAULT_EXCLUDE_DIRS, "site-packages"}
WEB_SHARE = 10  # one file in ten is TS/JS
NODE_MODULES_SHARE = 0.4  # ignored files, on top of `size`
WEB_PER_PACKAGE = 250
NODE_FILES_PER_PACKAGE = 50
BRANCH = "scale-change"
BRANCH_FILES = 5000
GIT_ENV = {
    "GIT_AUTHOR_NAME": "aegisd bench",
    "GIT_AUTHOR_EMAIL": "bench@aegisd.invalid",
    "GIT_COMMITTER_NAME": "aegisd bench",
    "GIT_COMMITTER_EMAIL": "bench@aegisd.invalid",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00+0000",
    "GIT_COMMITTER_DATE": "2024-01-01T00:00:00+0000",
    "GIT_CONFIG_GLOBAL": os.devnull,  # the user's config (hooks, signing) stays out of it
    "GIT_CONFIG_NOSYSTEM": "1",
}


@dataclass
class Tree:
    """What was generated: paths relative to the root, with `/`."""

    root: Path
    python: list[str] = field(default_factory=list)
    web: list[str] = field(default_factory=list)
    ignored: int = 0  # files under node_modules/
    modified: list[str] = field(default_factory=list)  # by the branch
    deleted: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    branch_names: list[str] = field(default_factory=list)  # symbols the branch defines

    @property
    def sources(self) -> list[str]:
        return self.python + self.web

    @property
    def changed(self) -> int:
        return len(self.modified) + len(self.deleted) + len(self.added)


def stdlib_files() -> list[str]:
    """The standard library's Python files outside excluded directories, sorted."""
    found = []
    for folder, dirs, files in os.walk(STDLIB):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        rel = Path(folder).relative_to(STDLIB)
        found += [(rel / f).as_posix() for f in files if f.endswith(".py")]
    return sorted(found)


def generate(root: Path, size: int) -> Tree:
    tree = Tree(root)
    root.mkdir(parents=True)
    web_count = size // WEB_SHARE
    _copy_python(tree, size - web_count)
    _write_web(tree, web_count)
    tree.ignored = _write_node_modules(root, int(size * NODE_MODULES_SHARE))
    (root / ".gitignore").write_text("node_modules/\n")
    _git(root, "init", "-q", "-b", "main")
    _commit(root, "the generated monorepo")
    _make_branch(tree, min(BRANCH_FILES, size))
    return tree


def _copy_python(tree: Tree, count: int) -> None:
    sources = stdlib_files()
    for n in range(count):
        copy, rel = divmod(n, len(sources))
        target = f"packages/py{copy:02d}/{sources[rel]}"
        path = tree.root / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes((STDLIB / sources[rel]).read_bytes())
        tree.python.append(target)


def web_source(package: int, index: int, typed: bool) -> str:
    """A module with imports of two earlier siblings, an interface (TS), a class and functions."""

    def t(annotation: str) -> str:
        return annotation if typed else ""

    lines = [f"// generated module {package}.{index}"]
    for dep in sorted({index // 2, index // 3} - {index}):
        lines.append(f'import {{ webFn{package}_{dep}_0 }} from "./m{dep:04d}";')
    lines.append("")
    if typed:
        lines += [
            f"export interface Shape{package}_{index} {{",
            "  id: number;",
            "  label: string;",
            "}",
            "",
        ]
    lines += [
        f"export class Widget{package}_{index} {{",
        f"  {t('private ')}count{t(': number')} = {index};",
        f"  increment(step{t(': number')}){t(': number')} {{",
        "    this.count += step;",
        "    return this.count;",
        "  }",
        f"  describe(){t(': string')} {{",
        f'    return "widget {package}.{index}: " + this.count;',
        "  }",
        "}",
        "",
    ]
    for k in range(4):
        lines += [
            f"export function webFn{package}_{index}_{k}(value{t(': number')}){t(': number')} {{",
            f"  let total = value * {k + 1};",
            "  for (let i = 0; i < value; i++) {",
            f"    total += i % {k + 2} === 0 ? i : -i;",
            "  }",
            "  return total;",
            "}",
            "",
        ]
    return "\n".join(lines)


def _write_web(tree: Tree, count: int) -> None:
    for n in range(count):
        package, index = divmod(n, WEB_PER_PACKAGE)
        typed = n % 3 != 2
        rel = f"packages/web{package:02d}/src/m{index:04d}.{'ts' if typed else 'js'}"
        path = tree.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(web_source(package, index, typed))
        tree.web.append(rel)


def _write_node_modules(root: Path, count: int) -> int:
    for n in range(count):
        package, index = divmod(n, NODE_FILES_PER_PACKAGE)
        folder = root / "node_modules" / f"dep{package:04d}"
        if index == 0:
            (folder / "lib").mkdir(parents=True)
            (folder / "package.json").write_text(
                f'{{"name": "dep{package}", "version": "1.0.0"}}\n'
            )
        (folder / "lib" / f"f{index:03d}.js").write_text(
            f"module.exports.f{index} = function f{index}(x) {{ return x + {index}; }};\n"
        )
    return count + (count + NODE_FILES_PER_PACKAGE - 1) // NODE_FILES_PER_PACKAGE


def _make_branch(tree: Tree, count: int) -> None:
    rng = random.Random(count * 7919 + len(tree.sources))
    twentieth = max(1, count // 20)
    deleted_count = twentieth if count >= 20 else 0
    added_count = deleted_count
    picked = rng.sample(tree.sources, count - added_count)
    tree.deleted = sorted(picked[:deleted_count])
    tree.modified = sorted(picked[deleted_count:])
    _git(tree.root, "checkout", "-q", "-b", BRANCH)
    for n, rel in enumerate(tree.modified):
        path = tree.root / rel
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        changed, names = (_change_python if rel.endswith(".py") else _change_web)(text, n)
        path.write_text(changed, encoding="utf-8", errors="surrogateescape")
        tree.branch_names += names
    for rel in tree.deleted:
        (tree.root / rel).unlink()
    for n in range(added_count):
        rel = f"packages/scale_new/new_{n:04d}.py"
        path = tree.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f"import json\n\n\ndef scale_added_{n}(value):\n    return json.dumps(value)\n\n\n"
            f"class ScaleAdded{n}:\n    def method_{n}(self):\n        return {n}\n"
        )
        tree.added.append(rel)
        tree.branch_names += [f"scale_added_{n}", f"ScaleAdded{n}"]
    _commit(tree.root, f"{BRANCH}: {tree.changed} files")
    _git(tree.root, "checkout", "-q", "main")


def _change_python(text: str, n: int) -> tuple[str, list[str]]:
    names = [f"scale_branch_{n}", f"ScaleBranch{n}"]
    lines = text.split("\n")
    try:
        module = ast.parse(text)
    except (SyntaxError, ValueError):
        module = None
    first = next(
        (
            node
            for node in (module.body if module else [])
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        ),
        None,
    )
    if first is not None:
        # Top-level definitions start at column 0, outside any string: safe to edit there.
        start = min([first.lineno, *(d.lineno for d in first.decorator_list)]) - 1
        line = first.lineno - 1
        renamed = f"{first.name}_renamed_{n}"
        lines[line] = lines[line].replace(f" {first.name}", f" {renamed}", 1)
        lines[start:start] = ["# changed on the branch", "# (moves every line below)", ""]
        names.append(renamed)
    lines += [
        "",
        "",
        f"import json as scale_json_{n}",
        "",
        "",
        f"def scale_branch_{n}(value):",
        f"    return scale_json_{n}.dumps(value)",
        "",
        "",
        f"class ScaleBranch{n}:",
        f"    def method_{n}(self):",
        f"        return {n}",
        "",
    ]
    return "\n".join(lines), names


def _change_web(text: str, n: int) -> tuple[str, list[str]]:
    name = f"scaleBranch{n}"
    return (
        "// changed on the branch\n// (moves every line below)\n" + text + "\n"
        f"export function {name}(x) {{\n  return x + {n};\n}}\n",
        [name],
    )


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", *args],
        cwd=root,
        check=True,
        env={**os.environ, **GIT_ENV},
        stdout=subprocess.DEVNULL,
    )


def _commit(root: Path, message: str) -> None:
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "--no-verify", "-m", message)
