"""`workspace.open/list/close` and `settings.get/update`."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from aegisd import hookimpl
from aegisd.rpc.context import RpcContext
from aegisd.rpc.registry import FreshResult, Params, Result, RpcMethod, WorkspaceParams


class WorkspaceInfo(Result):
    id: str
    root: str
    name: str
    clock: int
    pending: bool
    degraded: str | None
    opened_at: str


class OpenWorkspaceParams(Params):
    root: str = Field(description="Absolute path of the directory to open (symlinks resolved).")


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
    workspace: str | None = Field(None, description="Root path or id; optional when one is open.")


class CloseWorkspaceResult(Result):
    closed: WorkspaceInfo


async def close_workspace(params: CloseWorkspaceParams, ctx: RpcContext) -> CloseWorkspaceResult:
    ws = await ctx.daemon.workspaces.close(params.workspace)
    return CloseWorkspaceResult(closed=WorkspaceInfo(**ws.info()))


class GetSettingsResult(FreshResult):
    settings: dict[str, Any]


async def get_settings(params: WorkspaceParams, ctx: RpcContext) -> GetSettingsResult:
    settings = await ctx.daemon.settings.get(ctx.workspace.id)
    return GetSettingsResult(settings=settings.model_dump(mode="json"))


class UpdateSettingsParams(WorkspaceParams):
    settings: dict[str, Any] = Field(
        description="A partial settings object; nested sections are merged, lists replaced."
    )


class UpdateSettingsResult(FreshResult):
    updated: list[str] = Field(description="Dotted keys whose effective value changed.")
    settings: dict[str, Any]


async def update_settings(params: UpdateSettingsParams, ctx: RpcContext) -> UpdateSettingsResult:
    ws = ctx.workspace
    updated, settings = await ctx.daemon.settings.update(ws.id, params.settings)
    await ctx.daemon.workspaces.reload_settings(ws)
    return UpdateSettingsResult(updated=updated, settings=settings.model_dump(mode="json"))


@hookimpl
def aegisd_rpc_methods() -> list[RpcMethod]:
    """Workspace lifecycle and per-workspace settings."""
    not_found = ("NOT_FOUND",)
    return [
        RpcMethod("workspace.open", OpenWorkspaceParams, open_workspace,
                  summary="Open a directory as a workspace (idempotent)", errors=("INVALID_PATH",),
                  cost="write"),
        RpcMethod("workspace.list", EmptyParams, list_workspaces, summary="Open workspaces"),
        RpcMethod("workspace.close", CloseWorkspaceParams, close_workspace,
                  summary="Close a workspace (its stored data is kept)", errors=not_found,
                  cost="write"),
        RpcMethod("settings.get", WorkspaceParams, get_settings,
                  summary="Effective settings of a workspace", errors=not_found),
        RpcMethod("settings.update", UpdateSettingsParams, update_settings,
                  summary="Partially update a workspace's settings", errors=("INVALID_PARAMS",
                  "NOT_FOUND"), cost="write"),
    ]  # fmt: skip
