"""What each `git.*` method asks git, turned into plain dicts. No caching here (`service` does).

Diffs are made with `--no-ext-diff --no-textconv` (no program a repository names runs), renames
detected (`-M`), merges shown against their first parent (`--diff-merges=first-parent`).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import Any, TypeVar

from aegisd.gitrun import GitFailed
from aegisd.rpc.errors import InvalidParams, NotFound, Unavailable, Unsupported
from aegisd.threads import interactive
from aegisd_git.parse import (
    LOG_FORMAT,
    parse_blame,
    parse_files,
    parse_hunks,
    parse_log,
    parse_status,
)
from aegisd_git.repo import Repository

DIFF_OPTS = ("--no-ext-diff", "--no-textconv", "-M", "--no-color")
FILES_OPTS = ("--raw", "--numstat", "-z", *DIFF_OPTS, "--diff-merges=first-parent")

T = TypeVar("T")
#: git output parsed on the event loop at most (a 2,000-line blame is ~700 KB: ~3 ms)
PARSE_INLINE_BYTES = 64 * 1024


async def _parsed(parse: Callable[..., T], out: bytes, *args: Any) -> T:
    """`parse(out, *args)`, in the interactive lane when `out` is large: the loop never
    spends milliseconds on one answer's text."""
    if len(out) <= PARSE_INLINE_BYTES:
        return parse(out, *args)
    return await interactive(parse, out, *args)


async def log(
    repo: Repository,
    revs: list[str],
    *,
    paths: list[str] | None = None,
    limit: int,
    skip: int = 0,
    since: int | None = None,
    until: int | None = None,
    author: str | None = None,
    grep: str | None = None,
    follow: bool = False,
    files: bool = True,
) -> list[dict[str, Any]]:
    """Commits from `revs` (full ids), newest first, `skip` then `limit` of them."""
    args = ["log", LOG_FORMAT, f"--max-count={limit}", f"--skip={skip}"]
    spec = repo.pathspec(paths)
    if not files:
        args.append("-z")
    elif spec:
        # with a path, --diff-merges would also change which merges are listed (any merge
        # differing from one parent): merges are listed as `git log -- path` lists them
        args += FILES_OPTS[:-1]
    else:
        args += FILES_OPTS
    if since is not None:
        args.append(f"--since=@{since}")
    if until is not None:
        args.append(f"--until=@{until}")
    if author is not None:
        args.append(f"--author={author}")
    if grep is not None:
        args.append(f"--grep={grep}")
    if author is not None or grep is not None:
        args.append("--regexp-ignore-case")
    if follow:
        args.append("--follow")
    try:
        out = await repo.runner.run(*args, *revs, paths=spec)
    except GitFailed as exc:
        raise _refusal(exc) from None
    return await _parsed(parse_log, out, repo.from_git)


async def show(repo: Repository, commit: str) -> dict[str, Any]:
    """One commit with its files."""
    found = await log(repo, [commit, "--no-walk"], limit=1)
    if not found:
        raise NotFound(f"no commit {commit}", rev=commit)
    return found[0]


async def blame(
    repo: Repository, path: str, rev: str | None, start: int | None, end: int | None
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """`git blame --porcelain` of `path` at `rev` (the working-tree file when None): its
    lines, and their commits by id."""
    args = ["blame", "--porcelain", "--no-textconv"]  # blame runs textconv unless told
    if start is not None or end is not None:
        args.append(f"-L{start or 1},{end or ''}")
    if rev is not None:
        args.append(rev)
    try:
        # blame takes a plain path (no pathspec magic), relative to the runner's directory:
        # the workspace root
        out = await repo.runner.run(*args, paths=[path])
    except GitFailed as exc:
        raise _refusal(exc, path=path) from None
    lines, commits = await _parsed(parse_blame, out)
    if any("\0" in line["text"] for line in lines):
        raise Unsupported(f"{path} is a binary file: it has no lines to blame", path=path)
    for line in lines:
        line["path"] = repo.from_git(line["path"]) or line["path"]
    return lines, commits


async def diff(
    repo: Repository, base: str | None, rev: str | None, paths: list[str] | None
) -> list[dict[str, Any]]:
    """Files changed from `base` (None: the empty tree) to `rev` (None: the work tree), each
    with its hunks."""
    sides = [base or await empty_tree(repo)] + ([rev] if rev is not None else [])
    spec = repo.pathspec(paths)
    try:
        raw = await repo.runner.run("diff", *FILES_OPTS[:-1], *sides, paths=spec)
        patch = await repo.runner.run("diff", "-p", *DIFF_OPTS, *sides, paths=spec)
    except GitFailed as exc:
        raise _refusal(exc) from None
    # `diff` prints the files of both outputs in the same order: zip them.
    entries = await _parsed(parse_files, raw)
    hunks = await _parsed(parse_hunks, patch)
    out = []
    for entry, section in zip(entries, hunks + [[]] * (len(entries) - len(hunks)), strict=False):
        path = repo.from_git(entry["path"])
        if path is None:
            continue
        entry["path"] = path
        if entry["old_path"] is not None:
            entry["old_path"] = repo.from_git(entry["old_path"]) or entry["old_path"]
        out.append({**entry, "hunks": section})
    return out


async def empty_tree(repo: Repository) -> str:
    """The id of the empty tree in this repository's hash (sha1 or sha256)."""
    out = await repo.runner.run("hash-object", "-t", "tree", "/dev/null")
    return out.decode().strip()


async def status(repo: Repository) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The branch headers and entries of `git status` within the workspace."""
    repo.need_work_tree("git.status")
    try:
        out = await repo.runner.run(
            "status", "--porcelain=v2", "--branch", "-z", "--untracked-files=all",
            "--ignore-submodules=none", paths=repo.scope(),
        )  # fmt: skip
    except GitFailed as exc:
        raise _refusal(exc) from None
    headers, entries = await _parsed(parse_status, out)
    kept = []
    for entry in entries:
        path = repo.from_git(entry["path"])
        if path is None:
            continue
        entry["path"] = path
        if entry["old_path"] is not None:
            entry["old_path"] = repo.from_git(entry["old_path"]) or entry["old_path"]
        kept.append(entry)
    return headers, kept


def matrix_rows(commits: list[dict[str, Any]], glob: str | None) -> list[dict[str, Any]]:
    """AEGIS's file x commit matrix: each file the commits touched, with a cell per commit
    that touched it; most often touched files first, then by path."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for index, commit in enumerate(commits):
        for f in commit["files"]:
            if glob is not None and not fnmatch.fnmatchcase(f["path"], glob):
                continue
            cell = {"commit": index, "status": f["status"], "added": f["added"],
                    "removed": f["removed"]}  # fmt: skip
            rows.setdefault(f["path"], []).append(cell)
    ordered = sorted(rows.items(), key=lambda item: (-len(item[1]), item[0]))
    return [{"path": path, "cells": cells} for path, cells in ordered]


def _refusal(exc: GitFailed, **details: Any) -> Exception:
    """git's refusal of a request as the error it is for the client."""
    text = exc.stderr.lower()
    if "no such path" in text or "does not exist" in text or "no such ref" in text:
        return NotFound(exc.stderr.strip().removeprefix("fatal: "), **details)
    if (
        ("has only" in text and "lines" in text)
        or "regular expression" in text
        or "unmatched" in text
    ):
        return InvalidParams(exc.stderr.strip().removeprefix("fatal: "), **details)
    if "does not have any commits" in text or "bad default revision" in text:
        return NotFound("the repository has no commits yet", **details)
    if "unknown revision" in text or "bad revision" in text:
        return NotFound(exc.stderr.strip().removeprefix("fatal: "), **details)
    if "shallow" in text:
        return Unsupported(f"not available in a shallow clone: {exc}", reason="shallow")
    return Unavailable(f"git failed: {exc}", tool="git")
