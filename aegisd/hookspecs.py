# mypy: disable-error-code="empty-body"
"""Every `aegisd_*` hook, grouped by lifecycle phase.

Contribution hooks (`aegisd_<noun>`) return data that the core wires in; reaction hooks
(`aegisd_<event>`) are told that something happened. Hooks are always called with keyword
arguments. A reaction hook may return an awaitable; the core awaits it. Each plugin's
implementation is called on its own, so one plugin raising never stops the others: at load or
start time the plugin is blocked and reported in `plugins.list`; at run time the error is logged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING

from aegisd import hookspec

if TYPE_CHECKING:
    import argparse

    import peewee

    from aegisd.daemon import Daemon
    from aegisd.rpc.registry import Notification, Page, RpcMethod
    from aegisd.settings import SettingsSection
    from aegisd.store.migrations import Migration
    from aegisd.workspace import ChangeBatch, Workspace


# -- loading: called once, before the store opens ------------------------------------------------


@hookspec
def aegisd_store_models() -> Sequence[type[peewee.Model]]:
    """Return the peewee models this plugin queries.

    Called once at startup, before the database opens; the store binds every returned model to
    the daemon's database. Tables are created by `aegisd_migrations`, not from the models.
    """


@hookspec
def aegisd_migrations() -> Sequence[Migration]:
    """Return this plugin's numbered schema migrations (`Migration(plugin, number, name, apply)`).

    Called once at startup, right after the database opens. Migrations not yet recorded run in
    number order, each in its own transaction; a failing one rolls back and blocks the plugin.
    """


@hookspec
def aegisd_settings_sections() -> Sequence[SettingsSection]:
    """Return the per-workspace settings sections this plugin owns (name, pydantic model).

    Called once at startup. The model's defaults are the section's defaults; `settings.get`
    shows the section and `settings.update` validates partial updates against the model.
    """


@hookspec
def aegisd_rpc_methods() -> Sequence[RpcMethod]:
    """Return the JSON-RPC methods this plugin contributes.

    Called once at startup. Each `RpcMethod` names its params model, async handler and errors;
    the result model comes from the handler's return annotation. Two plugins returning the same
    method name stop startup with a message naming both.
    """


@hookspec
def aegisd_notifications() -> Sequence[Notification]:
    """Return the notifications this plugin pushes to subscribers (`daemon.events.publish`).

    Called once at startup, with `aegisd_rpc_methods`. Each `Notification` names the method
    (the topic clients pass to `events.subscribe`), a pydantic model of its params and a
    summary; it is used for the API document only (`rpc.discover`'s `x-notifications`,
    `docs/api.md`), never to build or check what is published. A notification of a blocked
    plugin is left out; two plugins declaring one name stop startup like two methods do.
    """


@hookspec
def aegisd_dashboard_pages() -> Sequence[Page]:
    """Return the pages this plugin serves under `/dashboard/<name>` (`Page(name, handler)`).

    Called once at startup, with `aegisd_rpc_methods` (for a deferred plugin: when it loads;
    until then its page answers 404). The core routes `GET /dashboard/<name>` and
    `GET /dashboard/<name>/<file>` to `handler(request)` behind the guard every route has
    (local Host/Origin, same-uid peers, the TCP token, which a browser may pass as
    `?token=`); the page sets its own Content-Security-Policy. Two plugins serving one name
    stop startup like two methods do.
    """


# -- daemon lifetime ----------------------------------------------------------------------------


@hookspec
def aegisd_startup(daemon: Daemon) -> Awaitable[None] | None:
    """The store is open and migrated and the registry is built; the socket is not yet listening.

    Set up this plugin's state (in `daemon.state` under a typed key) and background tasks. A
    plugin that raises here is blocked: its methods are removed and `plugins.list` shows why.
    """


@hookspec
def aegisd_shutdown(daemon: Daemon) -> Awaitable[None] | None:
    """The daemon is stopping: in-flight requests are done, the store is still open.

    Cancel and await background tasks, flush what must be kept. Errors are logged. An
    awaitable returned here gets `close_timeout_s`, and the whole shutdown ends by
    `shutdown_timeout_s` whatever still runs.
    """


# -- workspaces ---------------------------------------------------------------------------------


@hookspec
def aegisd_workspace_opened(daemon: Daemon, workspace: Workspace) -> Awaitable[None] | None:
    """A workspace was opened (by `workspace.open`, `--root` or an MCP client).

    Called once per open, after its settings and stored file state are loaded
    (`workspace.live.known`) and before watching and the first reconciliation start; await
    `workspace.live.ready` (in a task) to act once the known state mirrors the disk. Plugins load
    their per-workspace state here; long work belongs in a task. A plugin loaded after the
    workspace opened (serve's deferred plugins) is called when it loads, possibly while a first
    index runs: its first `aegisd_files_changed` is then one batch of everything changed since
    the open, handed over at the end of the batch in progress (before `workspace.live.ready`
    when that is the first reconciliation), or at once when none is.
    """


@hookspec
def aegisd_workspace_closed(daemon: Daemon, workspace: Workspace) -> Awaitable[None] | None:
    """A workspace was closed or the daemon is stopping: drop its in-memory state.

    The workspace's tasks are already cancelled. An awaitable returned here gets
    `close_timeout_s`; then it is cancelled, and one that ignores that is abandoned (listed by
    `daemon.health` and in `workspace.close`'s `abandoned`).
    """


@hookspec
def aegisd_workspace_trust_changed(daemon: Daemon, workspace: Workspace) -> Awaitable[None] | None:
    """`workspace.trusted` changed while it is open (`workspace.trust`, `aegisd trust`).

    Plugins that run tools executing the workspace's code (pytest, mypy with the workspace's
    mypy plugins) start running them now when it became trusted, and stop when it no longer
    is, without waiting for a restart or a change. Called once per change, after the new
    trust is set on `workspace`.
    """


@hookspec
def aegisd_files_changed(
    daemon: Daemon, workspace: Workspace, batch: ChangeBatch
) -> Awaitable[None] | None:
    """A settled batch of file changes in `workspace` (from the watcher, reconciliation or
    `workspace.notify_changes`).

    `batch.clock` is the workspace clock the batch advanced to; `batch.changes` maps each
    relative path to "created", "modified" or "deleted", in path order; the dict is shared (the
    change log keeps it): read it, never change it. Plugins update their state and invalidate
    caches; the workspace stays `pending` until every plugin has returned. A plugin that
    raises has not taken the batch in: its paths are handed to it alone again (`batch.source`
    as the first failed batch's), with a growing delay, until it does; the workspace is
    degraded meanwhile (`aegisd/redelivery.py`). Reacting twice to a path must be harmless.
    """


# -- the command line (client side: no daemon, no store) ----------------------------------------


@hookspec
def aegisd_cli_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this plugin's `aegisd` subcommands.

    Called once per `aegisd` invocation, before the arguments are parsed, only for the
    modules that contribute commands (built-ins listed in `aegisd.cli.CLI_PLUGINS`, third
    parties under the `aegisd.cli` entry point group); the daemon's plugins are not loaded.
    Add each command with `subparsers.add_parser(name, help=...)` and give it
    `set_defaults(handler=fn)`: `fn(args)` runs when the command is chosen and returns the
    exit code. Keep the module's imports light (every command, the agent hook included, pays
    for them); import what a handler needs inside it.
    """
