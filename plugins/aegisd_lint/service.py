"""How the linters follow the daemon and its workspaces.

At startup the tools are collected from the `aegisd_lint_tools` hook (a later duplicate name is
reported and ignored). Each open workspace gets its stored results and one worker task. A
settled change batch is only recorded in `aegisd_files_changed`, never linted there; the worker
lints what the batches collected so far affect, so batches arriving during a run coalesce into
the next one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any

from loguru import logger

from aegisd.rpc.errors import InvalidParams
from aegisd_lint import model, runs, store
from aegisd_lint.plan import RunRequest
from aegisd_lint.tool import LintTool

if TYPE_CHECKING:
    from aegisd.daemon import Daemon
    from aegisd.plugins import PluginHost
    from aegisd.workspace import ChangeBatch, Workspace


def collect_tools(host: PluginHost) -> model.Linters:
    """Every contributed tool by name; duplicates and non-tools are reported and ignored (a
    plugin raising in the hook is blocked)."""
    tools: dict[str, LintTool] = {}
    owners: dict[str, str] = {}
    problems: list[str] = []
    contributions = host.call_each("aegisd_lint_tools", block_on_error=True)
    # hooks are called newest plugin first; the first registered keeps a name
    for plugin, contributed in reversed(contributions):
        for tool in contributed:
            name = getattr(tool, "name", None)
            if not isinstance(tool, LintTool) or not isinstance(name, str):
                problems.append(f"plugin {plugin} contributed {tool!r}, not a LintTool: ignored")
            elif name in tools:
                problems.append(
                    f"tool {name!r} of plugin {plugin} ignored: plugin {owners[name]} "
                    "already contributes a tool of that name"
                )
            else:
                tools[name], owners[name] = tool, plugin
    for problem in problems:
        logger.warning("lint: {}", problem)
    return model.Linters(tools, problems)


def check_settings(linters: model.Linters, patch: Mapping[str, Any]) -> None:
    """Refuse a settings patch that names a lint tool nobody contributes: a typo such as
    `lint.tools.pytestt` would be stored and silently do nothing."""
    section = patch.get("lint")
    tools = section.get("tools") if isinstance(section, Mapping) else None
    if not isinstance(tools, Mapping):
        return
    unknown = sorted(name for name in tools if name not in linters.tools)
    if not unknown:
        return
    known = sorted(linters.tools)
    listed = ", ".join(known)
    raise InvalidParams(
        f"unknown lint tool {', '.join(map(repr, unknown))}; the tools are: {listed}",
        errors=[
            {
                "loc": ["settings", "lint", "tools", name],
                "msg": f"unknown lint tool {name!r}; the tools are: {listed}",
                "type": "unknown_tool",
            }
            for name in unknown
        ],
        tools=known,
    )


def trust_changed(daemon: Daemon, ws: Workspace) -> None:
    """Lint the whole workspace again (when `auto` is on): tools that run its code start now
    that it is trusted, or are reported skipped now that it is not; the others start
    nothing, their results being cached. With `auto` off, the next `lint.run` does it."""
    lw = model.get(daemon).workspaces.get(ws.id)
    if lw is not None and model.settings_of(ws).auto:
        lw.sync = True
        lw.wake.set()


def opened(daemon: Daemon, ws: Workspace) -> None:
    linters = model.get(daemon)
    lw = model.WorkspaceLint(ws, model.new_scheduler(linters, model.settings_of(ws).max_heavy))
    linters.workspaces[ws.id] = lw
    lw.task = asyncio.create_task(_worker(daemon, lw), name=f"lint-{ws.id}")


def changed(daemon: Daemon, ws: Workspace, batch: ChangeBatch) -> Awaitable[None] | None:
    """Record the batch for the worker: quick, so the workspace stops being pending.

    When the worker was idle, the hook (called before the other plugins') returns one turn of
    the event loop to await: the woken worker takes it and gets as far as starting the
    quickest per-file tool (that path does not yield) before the other plugins start their
    reactions to the batch, whose threads would otherwise compete with it for the interpreter
    and the CPUs."""
    lw = model.get(daemon).workspaces.get(ws.id)
    if lw is None:
        return None
    idle = not lw.running
    lw.changes.update(batch.changes)
    lw.wake.set()
    return asyncio.sleep(0) if idle else None


async def closed(daemon: Daemon, ws: Workspace) -> None:
    lw = model.get(daemon).workspaces.pop(ws.id, None)
    if lw is not None:
        await _stop(lw)


async def shutdown(daemon: Daemon) -> None:
    linters = daemon.state.get(model.LINT)
    if linters is None:  # the daemon stopped before the plugin started
        return
    for ws_id in list(linters.workspaces):
        await _stop(linters.workspaces.pop(ws_id))


async def _stop(lw: model.WorkspaceLint) -> None:
    """Cancel the worker; a tool it is running is killed with its process group."""
    if lw.task is not None:
        lw.task.cancel()
        await asyncio.gather(lw.task, return_exceptions=True)


async def _worker(daemon: Daemon, lw: model.WorkspaceLint) -> None:
    results, last_run = await daemon.store.run(store.load, daemon.store.db, lw.ws.id)
    lw.results, lw.last_run = results, last_run
    lw.loaded.set()
    # on open, one whole-workspace pass: only what changed while the daemon was away runs
    lw.sync = model.settings_of(lw.ws).auto
    lw.wake.set()
    while True:
        await lw.wake.wait()
        lw.wake.clear()
        async with lw.lock:
            if lw.ws.live is not None:
                await lw.ws.live.ready.wait()
            request = _take(lw)
            if request is None:
                continue
            try:
                await runs.execute(daemon, lw, request)
            except Exception as exc:
                logger.opt(exception=exc).error("lint run in {} failed", lw.ws.id)


def _take(lw: model.WorkspaceLint) -> RunRequest | None:
    """The next run: everything on open, else what the collected changes affect (only the
    removal of deleted files' results when `auto` is off)."""
    changes, lw.changes = lw.changes, {}
    sync, lw.sync = lw.sync, False
    if sync:
        return RunRequest("open")
    if not changes:
        return None
    if model.settings_of(lw.ws).auto:
        return RunRequest("change", changes=changes)
    if "deleted" in changes.values():
        return RunRequest("change", tools=(), changes=changes)
    return None
