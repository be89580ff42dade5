"""What `bench/scale.py` asks the daemons: a fixed query set, and answers to compare.

After the branch checkout, the daemon that followed it and a fresh daemon on the same tree must
give the same answers: index.status counts, index.search on sampled names (the branch's new
and renamed definitions and existing ones), index.file on sampled files (modified, deleted,
added, unchanged), graph.imports counts and the import edges of sampled files.
"""

from __future__ import annotations

import ast
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from _scaletree import Tree

Call = Callable[..., Any]
QUERY_FILES = 200  # files whose definitions make the query set
SEARCH_LIMIT = 500
STATUS_KEYS = ("files", "symbols", "languages", "files_with_errors", "stale_files")
VOLATILE = {"clock", "pending"}  # differ between any two answers, right or wrong


def query_set(tree: Tree, rng: random.Random, count: int) -> tuple[list[str], list[str]]:
    """`count` search queries drawn from the definitions of sampled files (40 % names, 30 %
    prefixes, 20 % initials, 10 % misses), and the names they came from."""
    names: list[str] = []
    for rel in sorted(rng.sample(tree.python, min(QUERY_FILES, len(tree.python)))):
        try:
            module = ast.parse((tree.root / rel).read_bytes())
        except (SyntaxError, ValueError):
            continue
        names += [
            node.name
            for node in ast.walk(module)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and not node.name.startswith("__")
        ]
    names = sorted(set(names)) or ["open"]
    rng.shuffle(names)
    queries = []
    for _ in range(count):
        name, kind = rng.choice(names), rng.random()
        if kind < 0.4:
            queries.append(name)
        elif kind < 0.7:
            queries.append(name[: max(1, len(name) // 2)])
        elif kind < 0.9:
            queries.append("".join(w[:1] for w in name.split("_") if w) or name)
        else:
            queries.append(name + "zz")
    return queries, names


@dataclass(frozen=True)
class Sample:
    names: list[str]
    files: list[str]
    import_files: list[str]


def _some(rng: random.Random, items: list[str], count: int) -> list[str]:
    return sorted(rng.sample(items, min(count, len(items))))


def sample_for(tree: Tree, names: list[str], rng: random.Random) -> Sample:
    changed = {*tree.modified, *tree.deleted}
    unchanged = [p for p in tree.sources if p not in changed]
    modified, added = _some(rng, tree.modified, 60), _some(rng, tree.added, 20)
    kept = _some(rng, unchanged, 50)
    return Sample(
        names=_some(rng, tree.branch_names, 100) + _some(rng, names, 50),
        files=modified + _some(rng, tree.deleted, 20) + added + kept,
        import_files=_some(rng, modified + added + kept, 30),
    )


def _answer(rpc: Call, method: str, params: dict[str, Any]) -> Any:
    """The result without its volatile fields, or the error's code."""
    try:
        result = rpc(method, params)
    except RuntimeError as err:
        error = err.args[0] if err.args and isinstance(err.args[0], dict) else {}
        return {"error": error.get("data", {}).get("code", str(err))}
    return {k: v for k, v in result.items() if k not in VOLATILE}


def collect(rpc: Call, sample: Sample) -> dict[str, Any]:
    status = rpc("index.status")
    answers: dict[str, Any] = {"status": {k: status[k] for k in STATUS_KEYS}}
    for name in sample.names:
        found = _answer(rpc, "index.search", {"query": name, "limit": SEARCH_LIMIT})
        answers[f"search {name}"] = [
            [h["name"], h["qualname"], h["kind"], h["path"], h["line"], h["end_line"], h["match"],
             h.get("signature"), round(h["score"], 3)]
            for h in found.get("hits", [])
        ] if "hits" in found else found  # fmt: skip
    for path in sample.files:
        answers[f"file {path}"] = _answer(rpc, "index.file", {"path": path})
    graph = _answer(rpc, "graph.imports", {})
    answers["imports"] = (
        {k: len(graph[k]) for k in ("nodes", "edges", "cycles")} if "nodes" in graph else graph
    )
    for path in sample.import_files:
        edges = _answer(rpc, "graph.imports", {"path": path})
        answers[f"imports {path}"] = edges.get("edges", edges)
    return answers


def compare(ours: dict[str, Any], fresh: dict[str, Any]) -> list[str]:
    """One line per answer that differs: the key, then both answers, cut short."""
    differing = []
    for key in sorted(ours.keys() | fresh.keys()):
        a, b = ours.get(key), fresh.get(key)
        if a == b:
            continue
        if isinstance(a, list) and isinstance(b, list):
            # Long lists (hits, edges): where they part, not their common start.
            pairs = enumerate(zip(a, b, strict=False))
            at = next((i for i, (x, y) in pairs if x != y), min(len(a), len(b)))
            where = f"{key} [{at}] of {len(a)}/{len(b)}"
            a, b = a[at : at + 1], b[at : at + 1]
        else:
            where = key
        differing.append(f"{where}: after checkout {_short(a)} / fresh {_short(b)}")
    return differing


def _short(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."
