"""A plugin the deferred-load tests load late: it records what it is told, in `calls`."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from aegisd import hookimpl
from aegisd.rpc.registry import Params, Result, RpcMethod
from aegisd.settings import SectionModel, SettingsSection

#: hook calls as they came: ("startup",), ("opened", ws id, level), ("changed", ws id, changes)
calls: list[tuple[Any, ...]] = []


class LateSettings(SectionModel):
    level: int = Field(1, ge=0)


class OpenedResult(Result):
    opened: int


async def opened(params: Params, ctx: Any) -> OpenedResult:
    return OpenedResult(opened=sum(1 for call in calls if call[0] == "opened"))


@hookimpl
def aegisd_settings_sections() -> list[SettingsSection]:
    """The `late` section."""
    return [SettingsSection("late", LateSettings)]


@hookimpl
def aegisd_rpc_methods() -> list[RpcMethod]:
    """`late.opened`: how many workspaces were opened for this plugin."""
    return [RpcMethod("late.opened", Params, opened)]


@hookimpl
def aegisd_startup(daemon: Any) -> None:
    """Record the start."""
    calls.append(("startup",))


@hookimpl
def aegisd_workspace_opened(daemon: Any, workspace: Any) -> None:
    """Record the open, with this plugin's setting as the workspace has it."""
    calls.append(("opened", workspace.id, workspace.settings.late.level))


@hookimpl
def aegisd_files_changed(daemon: Any, workspace: Any, batch: Any) -> None:
    """Record the batch."""
    calls.append(("changed", workspace.id, dict(batch.changes)))
