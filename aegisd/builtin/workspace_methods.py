"""`workspace.open/list/close` and `settings.get/update`."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from aegisd import hookimpl
from aegisd.builtin.examples import EXAMPLES
from aegisd.rpc.context import RpcContext
from aegisd.rpc.errors import Unavailable
from aegisd.rpc.registry import (
    FreshResult,
    Params,
    PathText,
    Result,
    RpcMethod,
    WorkspaceParams,
    with_examples,
)
from aegisd.rpc.schemas import late_bound
from aegisd.threads import interactive
from aegisd.workspace import UnusablePath, coalesce_batches

#: the settings object's schema: the core keys plus every loaded plugin's section
SETTINGS_SCHEMA = late_bound("WorkspaceSettings")


class WorkspaceInfo(Result):
    id: str
    root: str
    name: str
    clock: int
    pending: bool
    degraded: str | None
    opened_at: str
    trusted: bool = Field(
        description="Tools that execute the workspace's code (pytest, mypy plugins) may run"
    )


class OpenWorkspaceParams(Params):
    root: PathText = Field(
        description="Absolute path of the directory to open (symlinks resolved)."
    )


class OpenWorkspaceResult(Result):
    workspace: WorkspaceInfo
    opened: bool = Field(description="False when it was already open (open is idempotent).")


async def open_workspace(params: OpenWorkspaceParams, ctx: RpcContext) -> OpenWorkspaceResult:
    ws, opened = await ctx.daemon.workspaces.open(params.root)
    return OpenWorkspaceResult(workspace=WorkspaceInfo(**ws.info()), opened=opened)


class EmptyParams(Params):
    pass


class ListWorkspacesResult(Result):
    workspaces: list[WorkspaceInfo]


async def list_workspaces(params: EmptyParams, ctx: RpcContext) -> ListWorkspacesResult:
    return ListWorkspacesResult(
        workspaces=[WorkspaceInfo(**ws.info()) for ws in ctx.daemon.workspaces]
    )


class CloseWorkspaceParams(Params):
    workspace: PathText | None = Field(
        None, description="Root path or id; optional when one is open."
    )


class CloseWorkspaceResult(Result):
    closed: WorkspaceInfo
    abandoned: list[str] = Field(
        default_factory=list,
        description="Work of the workspace that did not stop when told to (a runaway plugin "
        "task or hook): left running, listed by daemon.health until it ends.",
    )


async def close_workspace(params: CloseWorkspaceParams, ctx: RpcContext) -> CloseWorkspaceResult:
    ws, abandoned = await ctx.daemon.workspaces.close(params.workspace)
    return CloseWorkspaceResult(closed=WorkspaceInfo(**ws.info()), abandoned=abandoned)


class TrustParams(Params):
    workspace: PathText | None = Field(
        None,
        description="An open workspace (root or id; optional when one is open), or any absolute "
        "directory: the decision covers it and everything under it, open or not.",
    )
    trusted: bool = Field(True, description="false revokes the trust")


class TrustResult(Result):
    root: str = Field(description="The real path the decision was recorded for")
    trusted: bool = Field(description="Whether the root is trusted now")
    source: str = Field(
        description='What decides it: "store" (a recorded decision), "config" (a `[trust] '
        'roots` pattern) or "default" (nothing: untrusted)'
    )
    via: str | None = Field(description="The root of the deciding decision, or the pattern")
    workspaces: list[WorkspaceInfo] = Field(description="Open workspaces under the root")


async def trust_workspace(params: TrustParams, ctx: RpcContext) -> TrustResult:
    manager = ctx.daemon.workspaces
    root, trust = await manager.set_trust(params.workspace, params.trusted)
    under = [ws for ws in manager if ws.root == root or root in ws.root.parents]
    return TrustResult(
        root=str(root),
        trusted=trust.trusted,
        source=trust.source,
        via=trust.via,
        workspaces=[WorkspaceInfo(**ws.info()) for ws in under],
    )


class GetSettingsResult(FreshResult):
    settings: dict[str, Any] = Field(
        description="Every setting's effective value.", json_schema_extra=SETTINGS_SCHEMA
    )


async def get_settings(params: WorkspaceParams, ctx: RpcContext) -> GetSettingsResult:
    settings = await ctx.daemon.settings.get(ctx.workspace.id)
    return GetSettingsResult(settings=settings.model_dump(mode="json"))


class UpdateSettingsParams(WorkspaceParams):
    settings: dict[str, Any] = Field(
        description="A partial settings object; nested sections are merged, lists replaced.",
        json_schema_extra=SETTINGS_SCHEMA,
    )


class UpdateSettingsResult(FreshResult):
    updated: list[str] = Field(description="Dotted keys whose effective value changed.")
    settings: dict[str, Any] = Field(
        description="Every setting's effective value.", json_schema_extra=SETTINGS_SCHEMA
    )


async def update_settings(params: UpdateSettingsParams, ctx: RpcContext) -> UpdateSettingsResult:
    ws = ctx.workspace
    updated, settings = await ctx.daemon.settings.update(ws.id, params.settings)
    await ctx.daemon.workspaces.reload_settings(ws)
    return UpdateSettingsResult(updated=updated, settings=settings.model_dump(mode="json"))


class ChangesParams(WorkspaceParams):
    since: int | str = Field(
        0,
        description='A clock, or the cursor "instance:clock" from an earlier answer.',
    )


class FileChange(Result):
    path: str
    kind: str = Field(description='"created", "modified" or "deleted" (coalesced since `since`).')


class ChangesResult(FreshResult):
    instance: str = Field(description="The daemon instance; a restart changes it.")
    cursor: str = Field(description='Pass back as `since`: "instance:clock".')
    fresh_instance: bool = Field(
        description="True when `since` is not answerable (too old, or another daemon instance): "
        "resync from a full listing."
    )
    changes: list[FileChange]


#: changes listed on the event loop; more are coalesced and listed in a thread
INLINE_CHANGES = 1_000


def _parse_since(since: int | str, instance: str) -> int | None:
    """The clock in `since`, or None when it belongs to another daemon instance."""
    if isinstance(since, int):
        return since
    owner, sep, clock = since.rpartition(":")
    if not sep:
        owner, clock = instance, since
    if owner != instance or not clock.isdigit():
        return None
    return int(clock)


async def workspace_changes(params: ChangesParams, ctx: RpcContext) -> ChangesResult:
    ws = ctx.workspace
    instance = ctx.daemon.instance_id
    clock = ws.clock
    since = _parse_since(params.since, instance)
    batches = ws.batches_since(since) if since is not None else None
    if batches is None:
        changes: list[FileChange] = []
    elif sum(len(batch) for batch in batches) > INLINE_CHANGES:
        changes = await interactive(_file_changes, batches)  # after a first index: every file
    else:
        changes = _file_changes(batches)
    return ChangesResult(
        instance=instance,
        cursor=f"{instance}:{clock}",
        fresh_instance=batches is None,
        changes=changes,
    )


def _file_changes(batches: list[dict[str, str]]) -> list[FileChange]:
    """The batches coalesced per path, in path order (the batches are never changed: safe to
    read in a thread)."""
    return [FileChange(path=p, kind=k) for p, k in sorted(coalesce_batches(batches).items())]


class NotifyChangesParams(WorkspaceParams):
    paths: list[PathText] = Field(
        min_length=1, max_length=10_000, description="Files you just wrote (absolute or relative)."
    )


class PathError(Result):
    path: str = Field(description="The path as given.")
    error: str = Field(description="Why it could not be processed.")


class NotifyChangesResult(FreshResult):
    accepted: int = Field(description="Paths processed (with or without a change found).")
    errors: list[PathError] = Field(
        default_factory=list,
        description="Paths that could not be processed, each with its reason; the others were.",
    )


async def notify_changes(params: NotifyChangesParams, ctx: RpcContext) -> NotifyChangesResult:
    ws = ctx.workspace
    rels: dict[str, str] = {}  # as given -> root-relative
    errors: list[PathError] = []
    for path in params.paths:  # all confined before any is applied
        try:
            rels[path] = ws.relative(path)
        except UnusablePath as exc:  # a name no file can have: that path's problem only
            errors.append(PathError(path=path, error=exc.message))
    live = ws.live
    if live is None:
        raise Unavailable("the workspace is not live yet")
    live.touch(r for r in rels.values() if r)
    await live.flush()
    for path, rel in rels.items():
        why = live.path_errors.get(rel)
        if why is not None:
            errors.append(PathError(path=path, error=why))
    return NotifyChangesResult(accepted=len(params.paths) - len(errors), errors=errors)


@hookimpl
def aegisd_rpc_methods() -> list[RpcMethod]:
    """Workspace lifecycle and per-workspace settings."""
    not_found = ("NOT_FOUND",)
    return with_examples([
        RpcMethod("workspace.open", OpenWorkspaceParams, open_workspace,
                  summary="Open a directory as a workspace (idempotent)", errors=("INVALID_PATH",),
                  cost="write", after_plugins=True),
        RpcMethod("workspace.list", EmptyParams, list_workspaces, summary="Open workspaces", instant=True),
        RpcMethod("workspace.close", CloseWorkspaceParams, close_workspace,
                  summary="Close a workspace (its stored data is kept)", errors=not_found,
                  cost="write", after_plugins=True),
        RpcMethod("workspace.trust", TrustParams, trust_workspace,
                  summary="Trust (or stop trusting) a root: tools that run its code may run",
                  errors=("INVALID_PATH", "NOT_FOUND", "INVALID_PARAMS"), cost="write",
                  after_plugins=True),
        RpcMethod("settings.get", WorkspaceParams, get_settings,
                  summary="Effective settings of a workspace", errors=not_found, after_plugins=True),
        RpcMethod("settings.update", UpdateSettingsParams, update_settings,
                  summary="Partially update a workspace's settings", errors=("INVALID_PARAMS",
                  "NOT_FOUND"), cost="write", after_plugins=True),
        RpcMethod("workspace.changes", ChangesParams, workspace_changes,
                  summary="Paths changed since a clock or cursor, coalesced per path",
                  errors=not_found, instant=True),
        RpcMethod("workspace.notify_changes", NotifyChangesParams, notify_changes,
                  summary="Report files you just wrote so they are processed at once",
                  errors=("INVALID_PATH", "NOT_FOUND"), cost="write"),
    ], EXAMPLES)  # fmt: skip
