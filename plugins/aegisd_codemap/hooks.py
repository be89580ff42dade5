"""The code map plugin's hook implementations (wiring only)."""

from __future__ import annotations

from collections.abc import Awaitable

from aegisd import hookimpl
from aegisd.daemon import Daemon
from aegisd.rpc.registry import Notification, RpcMethod, with_examples
from aegisd.settings import SettingsSection
from aegisd.store.migrations import Migration
from aegisd.workspace import ChangeBatch, Workspace
from aegisd_codemap import callrpc, examples, graphs, navrpc, notifications, rpc, service, store
from aegisd_codemap.settings import CodemapSettings


@hookimpl
def aegisd_migrations() -> list[Migration]:
    """The code map's tables."""
    return list(store.MIGRATIONS)


@hookimpl
def aegisd_settings_sections() -> list[SettingsSection]:
    """The `codemap` section."""
    return [SettingsSection("codemap", CodemapSettings)]


@hookimpl
def aegisd_rpc_methods() -> list[RpcMethod]:
    """`index.*` and `graph.*` methods."""
    return with_examples(
        rpc.methods() + navrpc.methods() + graphs.methods() + callrpc.methods(), examples.EXAMPLES
    )


@hookimpl
def aegisd_notifications() -> list[Notification]:
    """`index.updated`."""
    return notifications.notifications()


@hookimpl
def aegisd_startup(daemon: Daemon) -> None:
    """Create the plugin's state (the parser pool starts on first use)."""
    daemon.state[service.CODEMAP] = service.create(daemon)


@hookimpl
def aegisd_shutdown(daemon: Daemon) -> None:
    """Stop the parser pool and the names' reading, close the read connections."""
    codemap = daemon.state.get(service.CODEMAP)
    if codemap is not None:
        if codemap.reading_names is not None:
            codemap.reading_names.cancel()
        codemap.pool.shutdown()
        codemap.readers.close()


@hookimpl
def aegisd_workspace_opened(daemon: Daemon, workspace: Workspace) -> Awaitable[None]:
    """Load the stored index and bring it in line with the disk (in a task)."""
    return service.opened(daemon, workspace)


@hookimpl
def aegisd_workspace_closed(daemon: Daemon, workspace: Workspace) -> Awaitable[None]:
    """Forget the workspace's in-memory index once its updates are stored."""
    return service.closed(daemon, workspace)


@hookimpl
def aegisd_files_changed(
    daemon: Daemon, workspace: Workspace, batch: ChangeBatch
) -> Awaitable[None]:
    """Re-parse changed files, drop deleted ones, publish index.updated."""
    return service.changed(daemon, workspace, batch)
