"""`git.*` methods: params and handlers (result models in `models`)."""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from datetime import UTC, datetime
from typing import Any

from pydantic import Field, model_validator

from aegisd.gitrun import check_rev
from aegisd.rpc.context import RpcContext
from aegisd.rpc.errors import InvalidParams
from aegisd.rpc.registry import PathText, RpcMethod, WorkspaceParams
from aegisd.threads import interactive
from aegisd.workspace import Workspace
from aegisd_git import blames, history, service
from aegisd_git.blames import repo_key
from aegisd_git.models import (
    BlameLine,
    BlameResult,
    Commit,
    DiffResult,
    FileHistoryResult,
    LogResult,
    MatrixResult,
    ShowResult,
    StatusEntry,
    StatusResult,
)
from aegisd_git.repo import Repository

_ID = re.compile(r"^\^?[0-9a-f]{40}([0-9a-f]{24})?$")
Rev = Field(description="A revision: a commit id (or a prefix of one), branch, tag, HEAD~2 ...")


async def _open(ctx: RpcContext) -> tuple[service.GitService, Workspace, Repository]:
    svc = service.get(ctx.daemon)
    ws = ctx.workspace
    return svc, ws, await svc.repository(ws)


def _path(ctx: RpcContext, path: str | None) -> str | None:
    """A client's path, root-confined before anything else (INVALID_PATH in any workspace)."""
    return None if path is None else ctx.workspace.relative(path)


# -- git.status -----------------------------------------------------------------------------------


class StatusParams(WorkspaceParams):
    pass


_OPERATIONS = (("rebase-merge", "rebase"), ("rebase-apply", "rebase"), ("MERGE_HEAD", "merge"),
               ("CHERRY_PICK_HEAD", "cherry-pick"), ("REVERT_HEAD", "revert"),
               ("BISECT_LOG", "bisect"))  # fmt: skip


async def status(params: StatusParams, ctx: RpcContext) -> StatusResult:
    svc, ws, repo = await _open(ctx)
    if repo.bare:
        head = await svc.head(ws, repo)
        state = svc.workspaces[ws.id]
        return StatusResult(kind="bare", head=head, branch=state.branch, shallow=repo.shallow,
                            files=[])  # fmt: skip
    headers, entries = await svc.cached(
        svc.live, (ws.id, "status", ""), lambda: history.status(repo)
    )
    operation = await interactive(
        lambda: next((op for name, op in _OPERATIONS if os.path.exists(repo.git_dir / name)), None)
    )
    ahead = behind = None
    if "branch.ab" in headers:
        a, b = headers["branch.ab"].split()
        ahead, behind = int(a), -int(b)
    oid, name = headers.get("branch.oid"), headers.get("branch.head")
    return StatusResult(
        kind=repo.kind,
        head=None if oid in (None, "(initial)") else oid,
        branch=None if name in (None, "(detached)") else name,
        upstream=headers.get("branch.upstream"),
        ahead=ahead,
        behind=behind,
        shallow=repo.shallow,
        operation=operation,
        files=[StatusEntry(**e) for e in entries],
    )


# -- git.log ----------------------------------------------------------------------------------------


class LogParams(WorkspaceParams):
    path: PathText | None = Field(None, description="Only commits touching this file or directory")
    rev: str | None = Field(None, description="A revision or a range A..B / A...B; default HEAD")
    since: datetime | None = Field(
        None, description="Committed at or after (ISO 8601; UTC if naive)"
    )
    until: datetime | None = Field(None, description="Committed at or before")
    author: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Regular expression on author name or email, any case",
    )
    grep: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Regular expression on the message, any case",
    )
    limit: int = Field(50, ge=1, le=1000)
    cursor: str | None = Field(
        None, max_length=2000, description="next_cursor of the previous page"
    )


def _epoch(when: datetime | None) -> int | None:
    if when is None:
        return None
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())


def _encode_cursor(revs: list[str], skip: int) -> str:
    raw = json.dumps({"revs": revs, "skip": skip}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_cursor(cursor: str) -> tuple[list[str], int]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        revs, skip = data["revs"], data["skip"]
        ok = isinstance(skip, int) and 0 <= skip < 1 << 31 and isinstance(revs, list)
        if ok and revs and all(isinstance(r, str) and _ID.match(r) for r in revs):
            return revs, skip
    except (ValueError, KeyError, TypeError, binascii.Error):
        pass
    raise InvalidParams("cursor is not one this method gave", field="cursor")


async def _revs(
    svc: service.GitService, ws: Workspace, repo: Repository, rev: str | None
) -> list[str]:
    if rev is None:
        head = await svc.head(ws, repo)
        return [head] if head else []
    return await svc.resolve_range(ws, repo, rev)


async def log(params: LogParams, ctx: RpcContext) -> LogResult:
    path = _path(ctx, params.path)
    if params.rev is not None:
        check_rev(params.rev)
    svc, ws, repo = await _open(ctx)
    if params.cursor is not None:
        revs, skip = _decode_cursor(params.cursor)
    else:
        revs, skip = await _revs(svc, ws, repo, params.rev), 0
    if not revs:
        return LogResult(commits=[], next_cursor=None)
    since, until = _epoch(params.since), _epoch(params.until)
    key = (repo_key(repo), "log", tuple(revs), path, since, until, params.author, params.grep,
           params.limit, skip)  # fmt: skip
    commits = await svc.cached(svc.history, key, lambda: history.log(
        repo, revs, paths=[path] if path is not None else None, limit=params.limit + 1, skip=skip,
        since=since, until=until, author=params.author, grep=params.grep))  # fmt: skip
    more = len(commits) > params.limit
    return LogResult(
        commits=[Commit(**c) for c in commits[: params.limit]],
        next_cursor=_encode_cursor(revs, skip + params.limit) if more else None,
    )


# -- git.show ---------------------------------------------------------------------------------------


class ShowParams(WorkspaceParams):
    rev: str = Rev


async def show(params: ShowParams, ctx: RpcContext) -> ShowResult:
    check_rev(params.rev)
    svc, ws, repo = await _open(ctx)
    commit = await svc.resolve(ws, repo, params.rev)
    found = await svc.cached(svc.history, (repo_key(repo), "show", commit),
                             lambda: history.show(repo, commit))  # fmt: skip
    return ShowResult(commit=Commit(**found))


# -- git.diff ---------------------------------------------------------------------------------------


class DiffParams(WorkspaceParams):
    rev: str | None = Field(None, description="Compared to; omitted: the working tree")
    base: str | None = Field(None, description="Compared from; omitted: rev's first parent, or "
                             "HEAD when rev is omitted too")  # fmt: skip
    path: PathText | None = Field(None, description="Only this file or directory")


async def diff(params: DiffParams, ctx: RpcContext) -> DiffResult:
    path = _path(ctx, params.path)
    paths = [path] if path else None
    for rev_param, name in ((params.rev, "rev"), (params.base, "base")):
        if rev_param is not None:
            check_rev(rev_param, name)
    svc, ws, repo = await _open(ctx)
    rev = None if params.rev is None else await svc.resolve(ws, repo, params.rev)
    if params.base is not None:
        base: str | None = await svc.resolve(ws, repo, params.base)
    elif rev is not None:
        parents = (await svc.cached(svc.history, (repo_key(repo), "show", rev),
                                    lambda: history.show(repo, rev)))["parents"]  # fmt: skip
        base = parents[0] if parents else None
    else:
        repo.need_work_tree("git.diff of the working tree")
        base = await svc.head(ws, repo)
    if rev is None:
        key: tuple[Any, ...] = (ws.id, "diff", path, base)
        cache = svc.live
    else:
        key, cache = (repo_key(repo), "diff", base, rev, path), svc.history
    files = await svc.cached(cache, key, lambda: history.diff(repo, base, rev, paths))
    return DiffResult(base=base, rev=rev, files=files)


# -- git.blame --------------------------------------------------------------------------------------


class BlameParams(WorkspaceParams):
    path: PathText
    rev: str | None = Field(
        None,
        description="Blame the file at this revision; omitted: the "
        "working-tree file (uncommitted lines have the all-zero commit)",
    )
    start_line: int | None = Field(None, ge=1)
    end_line: int | None = Field(None, ge=1)  # fmt: skip
    compact: bool = Field(
        False,
        description="Lines carry only their commit's id; its author, time and summary are "
        "in `commits` once (a 2,000-line blame: less than half the answer)",
    )

    @model_validator(mode="after")
    def _ordered(self) -> BlameParams:
        if self.start_line and self.end_line and self.end_line < self.start_line:
            raise ValueError("end_line is before start_line")
        return self


async def blame(params: BlameParams, ctx: RpcContext) -> BlameResult:
    path = ctx.workspace.relative(params.path)
    if params.rev is not None:
        check_rev(params.rev)
    svc, ws, repo = await _open(ctx)
    if params.rev is None:
        repo.need_work_tree("git.blame of the working-tree file")
        rev = None
    else:
        rev = await svc.resolve(ws, repo, params.rev)
    found = await blames.lines(svc, ws, repo, path, rev, params.start_line, params.end_line)
    lines = found.lines if params.compact else await _detailed(found)
    return BlameResult(path=path, rev=rev, lines=lines, commits=found.commits)


async def _detailed(found: blames.Blame) -> list[BlameLine]:
    if found.full is not None or len(found.lines) < blames.MODELS_INLINE_LINES:
        return found.detailed()
    return await interactive(found.detailed)


# -- git.file_history ---------------------------------------------------------------------------------


class FileHistoryParams(WorkspaceParams):
    path: PathText
    follow: bool = Field(True, description="Follow the file across renames")
    limit: int = Field(500, ge=1, le=5000)


async def file_history(params: FileHistoryParams, ctx: RpcContext) -> FileHistoryResult:
    path = ctx.workspace.relative(params.path)
    svc, ws, repo = await _open(ctx)
    head = await svc.head(ws, repo)
    if head is None:
        return FileHistoryResult(path=path, commits=[])
    follow = params.follow and bool(path)
    key = (repo_key(repo), "history", head, path, follow, params.limit)
    commits = await svc.cached(svc.history, key, lambda: history.log(
        repo, [head], paths=[path], limit=params.limit, follow=follow))  # fmt: skip
    return FileHistoryResult(path=path, commits=[Commit(**c) for c in commits])


# -- git.matrix ---------------------------------------------------------------------------------------


class MatrixParams(WorkspaceParams):
    limit: int = Field(50, ge=1, le=500, description="The latest N commits")
    path_glob: str | None = Field(None, min_length=1, max_length=500,
                                  description="Only files matching (fnmatch, e.g. src/*.py)")  # fmt: skip


async def matrix(params: MatrixParams, ctx: RpcContext) -> MatrixResult:
    svc, ws, repo = await _open(ctx)
    head = await svc.head(ws, repo)
    if head is None:
        return MatrixResult(commits=[], files=[])
    key = (repo_key(repo), "matrix", head, params.limit)
    commits = await svc.cached(svc.history, key,
                               lambda: history.log(repo, [head], limit=params.limit))  # fmt: skip
    rows = history.matrix_rows(commits, params.path_glob)
    brief = [Commit(**{**c, "files": []}) for c in commits]
    return MatrixResult(commits=brief, files=rows)


def methods() -> list[RpcMethod]:
    repo_errors = ("UNSUPPORTED", "UNAVAILABLE", "TIMEOUT", "TOO_LARGE")
    rev_errors = (*repo_errors, "NOT_FOUND", "INVALID_PARAMS")
    path_errors = (*rev_errors, "INVALID_PATH")
    return [
        RpcMethod("git.status", StatusParams, status, errors=repo_errors,
                  summary="Branch, HEAD, upstream and the changed files of the work tree"),
        RpcMethod("git.log", LogParams, log, errors=path_errors,
                  summary="Commits with their files, newest first, paged; filtered by path, "
                  "revision range, time, author and message"),
        RpcMethod("git.show", ShowParams, show, errors=rev_errors,
                  summary="One commit with its files and line counts"),
        RpcMethod("git.diff", DiffParams, diff, errors=path_errors,
                  summary="Changes between revisions, or of the working tree, per file with hunks"),
        RpcMethod("git.blame", BlameParams, blame, errors=path_errors,
                  summary="Who last changed each line of a file (or of a range of lines)"),
        RpcMethod("git.file_history", FileHistoryParams, file_history, errors=path_errors,
                  summary="The commits that changed a file, across renames"),
        RpcMethod("git.matrix", MatrixParams, matrix, errors=repo_errors,
                  summary="Which files each of the latest commits touched (file x commit)"),
    ]  # fmt: skip
