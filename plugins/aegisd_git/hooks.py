"""The git plugin's hook implementations (wiring only)."""

from __future__ import annotations

from collections.abc import Awaitable

from aegisd import hookimpl
from aegisd.daemon import Daemon
from aegisd.rpc.registry import Notification, RpcMethod, with_examples
from aegisd.settings import SettingsSection
from aegisd.store.migrations import Migration
from aegisd.workspace import ChangeBatch, Workspace
from aegisd_git import examples, notifications, rpc, service, store
from aegisd_git.settings import GitSettings


@hookimpl
def aegisd_migrations() -> list[Migration]:
    """The table of blames of large files."""
    return list(store.MIGRATIONS)


@hookimpl
def aegisd_settings_sections() -> list[SettingsSection]:
    """The `git` section."""
    return [SettingsSection("git", GitSettings)]


@hookimpl
def aegisd_rpc_methods() -> list[RpcMethod]:
    """`git.status`, `git.log`, `git.show`, `git.diff`, `git.blame`, `git.file_history`,
    `git.matrix`."""
    return with_examples(rpc.methods(), examples.EXAMPLES)


@hookimpl
def aegisd_notifications() -> list[Notification]:
    """`git.changed`."""
    return notifications.notifications()


@hookimpl
def aegisd_startup(daemon: Daemon) -> None:
    """The caches and the per-workspace state."""
    daemon.state[service.KEY] = service.GitService(daemon)


@hookimpl
def aegisd_workspace_opened(daemon: Daemon, workspace: Workspace) -> None:
    """Find the workspace's repository and start watching its git dir (in a task)."""
    service.get(daemon).opened(workspace)


@hookimpl
def aegisd_workspace_closed(daemon: Daemon, workspace: Workspace) -> Awaitable[None]:
    """Stop the git-dir watcher and forget the workspace's live cache entries."""
    return service.get(daemon).closed(workspace)


@hookimpl
def aegisd_workspace_trust_changed(daemon: Daemon, workspace: Workspace) -> Awaitable[None]:
    """Keep or empty the filter drivers the repository's own config defines."""
    return service.get(daemon).trust_changed(workspace)


@hookimpl
def aegisd_files_changed(daemon: Daemon, workspace: Workspace, batch: ChangeBatch) -> None:
    """Drop the status and working-tree blames and diffs the batch made stale."""
    service.get(daemon).files_changed(workspace, batch)
