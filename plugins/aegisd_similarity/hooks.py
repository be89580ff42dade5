"""The similarity plugin's hook implementations (wiring only)."""

from __future__ import annotations

from aegisd import hookimpl
from aegisd.daemon import Daemon
from aegisd.rpc.registry import RpcMethod, with_examples
from aegisd.settings import SettingsSection
from aegisd.store.migrations import Migration
from aegisd.workspace import ChangeBatch, Workspace
from aegisd_similarity import examples, rpc, service, store
from aegisd_similarity.settings import SimilaritySettings


@hookimpl
def aegisd_migrations() -> list[Migration]:
    """The table of analyzed files."""
    return list(store.MIGRATIONS)


@hookimpl
def aegisd_settings_sections() -> list[SettingsSection]:
    """The `similarity` section."""
    return [SettingsSection("similarity", SimilaritySettings)]


@hookimpl
def aegisd_rpc_methods() -> list[RpcMethod]:
    """`similarity.report`, `similarity.check` and `similarity.status`."""
    return with_examples(rpc.methods(), examples.EXAMPLES)


@hookimpl
def aegisd_startup(daemon: Daemon) -> None:
    """Create the plugin's state (the analysis pool starts on first use)."""
    daemon.state[service.SIMILARITY] = service.Similarity()


@hookimpl
def aegisd_shutdown(daemon: Daemon) -> None:
    """Stop the analysis pool."""
    similarity = daemon.state.get(service.SIMILARITY)
    if similarity is not None:
        similarity.pool.shutdown()


@hookimpl
def aegisd_workspace_opened(daemon: Daemon, workspace: Workspace) -> None:
    """Start the workspace's update task: load the stored index, then follow the disk."""
    service.opened(daemon, workspace)


@hookimpl
def aegisd_workspace_closed(daemon: Daemon, workspace: Workspace) -> None:
    """Forget the workspace's in-memory index (its task is already cancelled)."""
    service.closed(daemon, workspace)


@hookimpl
def aegisd_files_changed(daemon: Daemon, workspace: Workspace, batch: ChangeBatch) -> None:
    """Queue the changed paths for the update task (the hook returns at once)."""
    service.changed(daemon, workspace, batch)
