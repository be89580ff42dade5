"""`index.tree`: the workspace's directories and files, symbol counts and git status."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aegisd.gitrun import GitFailed, Runner, repository_filters
from aegisd.rpc.errors import RpcError
from aegisd_codemap.index import WorkspaceIndex

GIT_TIMEOUT_S = 10


async def git_status(root: Path, trusted: bool) -> dict[str, str] | None:
    """`git status --porcelain -z` as path → two-letter status; None when not a repository.
    Through the daemon's git runner: no lock taken, and (in an untrusted workspace) no program
    the repository's config names run (fsmonitor, filter drivers)."""
    if not (root / ".git").exists():
        return None
    runner = Runner(root, timeout_s=GIT_TIMEOUT_S)
    try:
        if not trusted:
            runner.extra_config = await repository_filters(runner)
        out = await runner.run("status", "--porcelain", "-z", "--untracked-files=all")
    except (GitFailed, RpcError):
        return None
    status: dict[str, str] = {}
    entries = out.decode(errors="replace").split("\0")
    i = 0
    while i < len(entries):
        entry = entries[i]
        i += 1
        if len(entry) < 4:
            continue
        code, path = entry[:2], entry[3:]
        status[path] = code.strip() or code
        if code[0] in "RC":
            i += 1  # the rename's source path follows
    return status


async def build_tree(
    root: Path,
    known: Mapping[str, Any],
    index: WorkspaceIndex,
    base: str,
    depth: int | None,
    trusted: bool = False,
) -> tuple[dict[str, Any], bool]:
    git = await git_status(root, trusted)
    top: dict[str, Any] = {"name": base.rsplit("/", 1)[-1] or root.name, "path": base, "type": "dir",
                           "symbols": 0, "files": 0, "children": {}}  # fmt: skip
    prefix = base + "/" if base else ""
    for path in sorted(known):
        if prefix and not path.startswith(prefix):
            continue
        parts = path[len(prefix) :].split("/")
        facts = index.facts.get(path)
        count = facts.symbols if facts is not None else 0
        node = top
        for level, part in enumerate(parts[:-1]):
            node["symbols"] += count
            node["files"] += 1
            # A directory `level + 1` deep is listed down to `depth` (its counts still cover
            # everything below); deeper ones only count towards it.
            if depth is not None and level + 1 > depth:
                node = {}
                break
            node = node["children"].setdefault(
                part, {"name": part, "path": prefix + "/".join(parts[: level + 1]), "type": "dir",
                       "symbols": 0, "files": 0, "children": {}},
            )  # fmt: skip
        if not node:
            continue
        node["symbols"] += count
        node["files"] += 1
        file_node: dict[str, Any] = {
            "name": parts[-1],
            "path": path,
            "type": "file",
            "symbols": count,
        }
        if facts is not None:
            file_node["language"] = facts.language
            file_node["errors"] = facts.errors
        if git is not None:
            file_node["git"] = git.get(path)
        if depth is None or len(parts) <= depth:
            node["children"][parts[-1]] = file_node
    return _listify(top), git is not None


def _listify(node: dict[str, Any]) -> dict[str, Any]:
    if node.get("type") == "dir":
        node["children"] = [_listify(child) for child in node["children"].values()]
    return node
