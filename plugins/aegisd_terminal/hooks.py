"""The terminal plugin's hook implementations (wiring only)."""

from __future__ import annotations

from collections.abc import Awaitable

from aegisd import hookimpl
from aegisd.daemon import Daemon
from aegisd.rpc.registry import Notification, Page, RpcMethod, with_examples
from aegisd.settings import SettingsSection
from aegisd.workspace import Workspace
from aegisd_terminal import examples, notifications, page, rpc, service
from aegisd_terminal.settings import TerminalSettings


@hookimpl
def aegisd_settings_sections() -> list[SettingsSection]:
    """The `terminal` section (scrollback, recording, shell integration)."""
    return [SettingsSection(service.SECTION, TerminalSettings)]


@hookimpl
def aegisd_rpc_methods() -> list[RpcMethod]:
    """`terminal.*` methods."""
    return with_examples(rpc.methods(), examples.EXAMPLES)


@hookimpl
def aegisd_notifications() -> list[Notification]:
    """`terminal.output`, `terminal.exit`, `terminal.overflow`."""
    return notifications.notifications()


@hookimpl
async def aegisd_startup(daemon: Daemon) -> None:
    """Write the shell integration, start the recorder, the audit link and retention."""
    terminals = service.Terminals(daemon)
    await terminals.start()
    daemon.state[service.TERMINALS] = terminals


@hookimpl
async def aegisd_shutdown(daemon: Daemon) -> None:
    """Every session ends with the daemon: its processes hung up, then killed."""
    terminals = daemon.state.pop(service.TERMINALS)
    if terminals is not None:
        await terminals.stop()


@hookimpl
def aegisd_workspace_closed(daemon: Daemon, workspace: Workspace) -> Awaitable[None] | None:
    """A terminal belongs to its workspace: it ends when the workspace closes."""
    terminals = daemon.state.get(service.TERMINALS)
    return terminals.close_where(workspace.id, "workspace closed") if terminals else None


@hookimpl
def aegisd_workspace_trust_changed(daemon: Daemon, workspace: Workspace) -> Awaitable[None] | None:
    """Terminals run only in trusted workspaces: revoking the trust ends them."""
    terminals = daemon.state.get(service.TERMINALS)
    if terminals is None or workspace.trusted:
        return None
    return terminals.close_where(workspace.id, "workspace no longer trusted")


@hookimpl
def aegisd_dashboard_pages() -> list[Page]:
    """`GET /dashboard/terminal`."""
    return page.pages()
