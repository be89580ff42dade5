"""How the linters follow the daemon and its workspaces.

At startup the tools are collected from the `aegisd_lint_tools` hook (a later duplicate name is
reported and ignored). Each open workspace gets its stored results and one worker task. A
settled change batch is only recorded in `aegisd_files_changed`, never linted there; the worker
lints what the batches collected so far affect, so batches arriving during a run coalesce into
the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any

from loguru import logger

from aegisd.rpc.errors import InvalidParams
from aegisd_lint import backlog, model, runs, store
from aegisd_lint.plan import RunRequest
from aegisd_lint.tool import LintTool

#: how often the background lane looks again whether the edits are linted
EDIT_FIRST_POLL_S = 0.05

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
        lw.backlog.wake.set()


def opened(daemon: Daemon, ws: Workspace) -> None:
    linters = model.get(daemon)
    settings = model.settings_of(ws)
    lw = model.WorkspaceLint(ws, model.new_scheduler(linters, settings.max_heavy))
    # on open, one whole-workspace pass: only what changed while the daemon was away runs
    lw.sync = settings.auto
    linters.workspaces[ws.id] = lw
    lw.task = asyncio.create_task(_worker(daemon, lw), name=f"lint-{ws.id}")


def changed(daemon: Daemon, ws: Workspace, batch: ChangeBatch) -> Awaitable[None] | None:
    """Record the batch for the worker: quick, so the workspace stops being pending.

    When the worker was idle, the hook (called before the other plugins') returns one turn of
    the event loop to await: the woken worker takes it and gets as far as starting the
    quickest per-file tool (that path does not yield) before the other plugins start their
    reactions to the batch, whose threads would otherwise compete with it for the interpreter
    and the CPUs.

    In a large workspace (see `large`) a reconciliation's batch (what changed while the daemon
    was away, or a tree seen for the first time) is not an edit: the background lane brings
    the results it made stale up to date, and files never linted stay so until asked."""
    lw = model.get(daemon).workspaces.get(ws.id)
    if lw is None:
        return None
    lw.backlog.note_touched(batch.changes)
    changes = batch.changes
    if batch.source == "reconcile" and ws.large:
        settings = model.settings_of(ws)
        if settings.auto:
            enabled = [name for name in model.get(daemon).tools if settings.enabled(name)]
            lw.backlog.arm("refresh", enabled)
        # (deleted files' results go at once, as after any batch)
        changes = {path: kind for path, kind in changes.items() if kind == "deleted"}
        if not changes:
            return None
    elif batch.source == "reconcile" and (lw.sync or lw.backlog.absorbs):
        return None  # what a reconciliation found, a whole pass not started yet lints
    idle = not lw.running
    lw.changes.update(changes)
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
    """Cancel the workers; a tool they are running is killed with its process group."""
    tasks = [task for task in (lw.task, lw.backlog_task) if task is not None]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _worker(daemon: Daemon, lw: model.WorkspaceLint) -> None:
    """Lint each edit's files as the batches come, in runs of their own."""
    results, last_run = await daemon.store.run(store.load, daemon.store.db, lw.ws.id)
    lw.results, lw.last_run = results, last_run
    lw.loaded.set()
    lw.backlog_task = asyncio.create_task(_backlog_worker(daemon, lw), name=f"lint-bg-{lw.ws.id}")
    while True:
        await lw.wake.wait()
        lw.wake.clear()
        async with lw.lock:
            if lw.ws.live is not None:
                await lw.ws.live.ready.wait()
            request = _take(daemon, lw)
            if request is None:
                continue
            try:
                await runs.execute(daemon, lw, request)
            except Exception as exc:
                logger.opt(exception=exc).error("lint run in {} failed", lw.ws.id)


def _take(daemon: Daemon, lw: model.WorkspaceLint) -> RunRequest | None:
    """The next edit run: what the collected changes affect (only the removal of deleted
    files' results when `auto` is off)."""
    changes, lw.changes = lw.changes, {}
    if lw.sync:
        _arm_whole_pass(daemon, lw)
    if not changes:
        return None
    if model.settings_of(lw.ws).auto:
        return RunRequest("change", changes=changes, unlinted=False, limit=backlog.CHANGE_FILES)
    if "deleted" in changes.values():
        return RunRequest("change", tools=(), changes=changes)
    return None


async def _backlog_worker(daemon: Daemon, lw: model.WorkspaceLint) -> None:
    """The background lane (see `backlog`): a chunk at a time, only while no edit is being
    linted, waiting out the backoff of tools that keep failing."""
    lane = lw.backlog
    if lw.ws.live is not None:
        await lw.ws.live.ready.wait()
    while True:
        if lw.sync:
            _arm_whole_pass(daemon, lw)
        settings = model.settings_of(lw.ws)
        lane.due &= {name for name in model.get(daemon).tools if settings.enabled(name)}
        ready = lane.ready() if settings.auto else []
        if not ready:
            if not lane.due:
                lane.idle()
            lane.wake.clear()
            wait = lane.next_retry_in() if settings.auto else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lane.wake.wait(), wait)
            continue
        await _after_edits(lw)
        full = lane.mode == "full"
        request = RunRequest(
            "open" if full else "backlog",
            tools=tuple(ready),
            unlinted=full,
            owed=frozenset() if full else frozenset(lane.owed),
            limit=backlog.CHUNK_FILES,
        )
        lane.touched = set()
        lane.chunks += 1
        try:
            await runs.execute(daemon, lw, request)
        except Exception as exc:
            logger.opt(exception=exc).error("lint backlog run in {} failed", lw.ws.id)
            for name in ready:
                lane.finished(name, lane.left.get(name, 0), failed=True)
        finally:
            lane.touched = None


async def _after_edits(lw: model.WorkspaceLint) -> None:
    """Wait until no edit run is going or due: an edit's run goes first. (A backlog run then
    runs beside later ones, without the lock.)"""
    while True:
        async with lw.lock:
            if not lw.changes:
                return
        await asyncio.sleep(EDIT_FIRST_POLL_S)  # the worker takes the lock and the changes


def _arm_whole_pass(daemon: Daemon, lw: model.WorkspaceLint) -> None:
    """Owe every enabled tool the whole workspace: all of it in a workspace up to
    `full_pass_max_files` files, else only the results that went stale (see `large`)."""
    lw.sync = False
    settings = model.settings_of(lw.ws)
    if not settings.auto:
        return
    tools = [name for name in model.get(daemon).tools if settings.enabled(name)]
    lw.backlog.arm("refresh" if large(lw.ws) is not None else "full", tools)


def large(ws: Workspace) -> str | None:
    """Why the automatic whole-workspace pass does not run in `ws` (more files than the
    core setting `full_pass_max_files`), or None when it does."""
    if not ws.large:
        return None
    return (
        f"{ws.file_count:,} files, more than full_pass_max_files "
        f"({ws.settings.full_pass_max_files:,}): the automatic whole-workspace pass does not "
        "run; changed files are linted, and lint.run lints the rest on request"
    )
