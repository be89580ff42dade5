"""The insights plugin's hook implementations (wiring only).

The workspace hooks run last (`trylast`) and act when the host awaits them, after the earlier
plugins' reactions: the code map has then set up the workspace and taken each change batch, so
the index an insights recompute reads already reflects the batch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any

from aegisd import hookimpl
from aegisd.daemon import Daemon
from aegisd.rpc.registry import Notification, RpcMethod, with_examples
from aegisd.settings import SettingsSection
from aegisd.store.migrations import Migration
from aegisd.workspace import ChangeBatch, Workspace
from aegisd_insights import examples, follow, notifications, rpc, service, store
from aegisd_insights.settings import InsightsSettings


@hookimpl
def aegisd_migrations() -> list[Migration]:
    """The current set, its history and the stored LLM answers."""
    return list(store.MIGRATIONS)


@hookimpl
def aegisd_settings_sections() -> list[SettingsSection]:
    """The `insights` section (Ollama, thresholds, pacing)."""
    return [SettingsSection("insights", InsightsSettings)]


@hookimpl
def aegisd_rpc_methods() -> list[RpcMethod]:
    """`insights.list`, `insights.stage`, `insights.ollama_status`, `insights.generate`."""
    return with_examples(rpc.methods(), examples.EXAMPLES)


@hookimpl
def aegisd_notifications() -> list[Notification]:
    """`insights.updated`."""
    return notifications.notifications()


@hookimpl
def aegisd_startup(daemon: Daemon) -> None:
    """Create the plugin's state (the HTTP session opens on first use)."""
    daemon.state[service.INSIGHTS] = service.Insights()


@hookimpl
def aegisd_shutdown(daemon: Daemon) -> Awaitable[None]:
    """Stop every workspace's tasks and close the HTTP session."""
    return service.shutdown(daemon)


class _WhenAwaited:
    """Calls `fn(*args)` when awaited. Unlike a coroutine it stays silent when the host is
    cancelled (a closing workspace) before reaching it."""

    def __init__(self, fn: Callable[..., None], *args: Any) -> None:
        self._fn = fn
        self._args = args

    def __await__(self) -> Generator[Any, None, None]:
        self._fn(*self._args)
        yield from ()


@hookimpl(trylast=True)
def aegisd_workspace_opened(daemon: Daemon, workspace: Workspace) -> Awaitable[None]:
    """Start the workspace's task (it loads the stored set, then follows the index)."""
    return _WhenAwaited(follow.opened, daemon, workspace)


@hookimpl
def aegisd_workspace_closed(daemon: Daemon, workspace: Workspace) -> Awaitable[None]:
    """Stop the workspace's tasks and forget its state."""
    return service.closed(daemon, workspace)


@hookimpl(trylast=True)
def aegisd_files_changed(
    daemon: Daemon, workspace: Workspace, batch: ChangeBatch
) -> Awaitable[None]:
    """Note the batch and wake the workspace's task; recomputing happens there."""
    return _WhenAwaited(service.changed, daemon, workspace, batch)
