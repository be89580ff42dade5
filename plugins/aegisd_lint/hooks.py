"""The linters plugin's hook implementations (wiring only).

It defines the `aegisd_lint_tools` hook (`AEGISD_HOOKSPECS`), so it is registered before the
tool modules that implement it (`aegisd_lint.ruff`, `.mypy`, `.bandit`, `.pytest`,
`.max_file_length` and third-party ones).
"""

from __future__ import annotations

from collections.abc import Awaitable
from functools import partial

from aegisd import hookimpl
from aegisd.daemon import Daemon
from aegisd.rpc.registry import Notification, RpcMethod, with_examples
from aegisd.settings import SettingsSection
from aegisd.store.migrations import Migration
from aegisd.workspace import ChangeBatch, Workspace
from aegisd_lint import examples, hookspecs, model, notifications, rpc, service, store
from aegisd_lint.settings import LintSettings

AEGISD_HOOKSPECS = hookspecs


@hookimpl
def aegisd_migrations() -> list[Migration]:
    """The result cache, tool outcomes and run history tables."""
    return list(store.MIGRATIONS)


@hookimpl
def aegisd_settings_sections() -> list[SettingsSection]:
    """The `lint` section."""
    return [SettingsSection("lint", LintSettings)]


@hookimpl
def aegisd_rpc_methods() -> list[RpcMethod]:
    """`lint.tools`, `lint.run`, `lint.report`, `lint.history`."""
    return with_examples(rpc.methods(), examples.EXAMPLES)


@hookimpl
def aegisd_notifications() -> list[Notification]:
    """`lint.updated`."""
    return notifications.notifications()


@hookimpl
def aegisd_startup(daemon: Daemon) -> None:
    """Collect the tools every plugin contributes; clear scratch dirs a killed daemon left;
    have settings updates naming an unknown tool refused."""
    model.clear_scratch(daemon)
    linters = service.collect_tools(daemon.host)
    daemon.state[model.LINT] = linters
    daemon.settings.add_check(partial(service.check_settings, linters))


@hookimpl
def aegisd_shutdown(daemon: Daemon) -> Awaitable[None]:
    """Stop every workspace's worker (and the tool it runs)."""
    return service.shutdown(daemon)


@hookimpl
def aegisd_workspace_opened(daemon: Daemon, workspace: Workspace) -> None:
    """Load the stored results and start the workspace's worker."""
    service.opened(daemon, workspace)


@hookimpl
def aegisd_workspace_closed(daemon: Daemon, workspace: Workspace) -> Awaitable[None]:
    """Stop the worker and forget the in-memory state."""
    return service.closed(daemon, workspace)


@hookimpl
def aegisd_workspace_trust_changed(daemon: Daemon, workspace: Workspace) -> None:
    """Lint the workspace again: tools that run its code start, or stop, at once."""
    service.trust_changed(daemon, workspace)


@hookimpl(tryfirst=True)
def aegisd_files_changed(
    daemon: Daemon, workspace: Workspace, batch: ChangeBatch
) -> Awaitable[None] | None:
    """Record the batch and wake the worker; linting happens in the worker's task. First of
    the plugins, so an idle worker starts its quickest tool before the others react."""
    return service.changed(daemon, workspace, batch)
