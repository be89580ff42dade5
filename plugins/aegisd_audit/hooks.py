"""The audit plugin's hook implementations (wiring only)."""

from __future__ import annotations

from collections.abc import Awaitable

from loguru import logger

from aegisd import hookimpl
from aegisd.daemon import Daemon
from aegisd.rpc.registry import Notification, RpcMethod, with_examples
from aegisd.settings import SettingsSection
from aegisd.store.migrations import Migration
from aegisd.workspace import ChangeBatch, Workspace
from aegisd_audit import examples, notifications, replay, rpc, service, store
from aegisd_audit.settings import AuditSettings


@hookimpl
def aegisd_migrations() -> list[Migration]:
    """The runs and events tables."""
    return list(store.MIGRATIONS)


@hookimpl
def aegisd_settings_sections() -> list[SettingsSection]:
    """The `audit` section (capture, retention_days)."""
    return [SettingsSection(service.SECTION, AuditSettings)]


@hookimpl
def aegisd_rpc_methods() -> list[RpcMethod]:
    """`audit.*` methods."""
    return with_examples(rpc.methods(), examples.EXAMPLES)


@hookimpl
def aegisd_notifications() -> list[Notification]:
    """`audit.event`."""
    return notifications.notifications()


@hookimpl
async def aegisd_startup(daemon: Daemon) -> None:
    """Replay what the agent hook spooled while no daemon ran, then start writing and pruning."""
    try:
        await replay.replay_spool(daemon)
    except Exception:  # the spool stays where it is for the next start
        logger.opt(exception=True).error("audit: replaying the hook spool failed")
    audit = service.Audit(daemon)
    daemon.state[service.AUDIT] = audit
    audit.start()


@hookimpl
async def aegisd_shutdown(daemon: Daemon) -> None:
    """Commit queued writes and stop."""
    audit = daemon.state.pop(service.AUDIT)
    if audit is not None:
        await audit.stop()


@hookimpl
def aegisd_workspace_opened(daemon: Daemon, workspace: Workspace) -> Awaitable[None]:
    """Adopt the open runs started in the workspace; start its capture task."""
    return service.get(daemon).workspace_opened(workspace)


@hookimpl
def aegisd_workspace_closed(daemon: Daemon, workspace: Workspace) -> Awaitable[None]:
    """Forget the workspace's capture state and remembered contents."""
    return service.get(daemon).workspace_closed(workspace)


@hookimpl
def aegisd_files_changed(daemon: Daemon, workspace: Workspace, batch: ChangeBatch) -> None:
    """Queue the batch for the workspace's capturing runs (diffed later, off the loop)."""
    service.get(daemon).files_changed(workspace, batch)
