"""Lint runs: one request (a change batch, the workspace opening, `lint.run`) becomes one run.

Results of files that are gone are dropped first. Then each tool gets a *pass*: its scope (the
files the request is about), the cache key of each (see `plan`), and one run of the tool on just
the files whose stored result has another key. The pass's results are merged, published as
`lint.updated` and stored. On a change, per-file tools go first so their feedback is not held up
by heavy whole-program tools, which start once they are done.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from loguru import logger

from aegisd.store.core_models import now_iso
from aegisd_lint import inputs, model, plan, store
from aegisd_lint.deps import Dependencies
from aegisd_lint.issues import Issue, Status, ToolResult, Totals
from aegisd_lint.report import RunInfo, Summary, ToolRun, summarize, tool_status
from aegisd_lint.state import Change, FileResult
from aegisd_lint.tool import CommandTool, InProcessTool, LintTool

if TYPE_CHECKING:
    from aegisd.daemon import Daemon

Progress = Callable[[int, int], None]
T = TypeVar("T")
#: what the history table holds in columns; the rest of a `RunInfo` is its detail
RUN_COLUMNS = ("id", "trigger", "clock", "started_at", "finished_at")


@dataclass(frozen=True)
class RunRequest:
    """`trigger` is "run", "change" or "open"; `tools` None means every enabled tool, `paths`
    None the whole workspace; `changes` (path -> kind) makes it incremental."""

    trigger: str
    tools: tuple[str, ...] | None = None
    paths: tuple[str, ...] | None = None
    changes: Mapping[str, str] | None = None
    force: bool = False


async def execute(
    daemon: Daemon, lw: model.WorkspaceLint, request: RunRequest, progress: Progress | None = None
) -> RunInfo | None:
    """Run `request` (the caller holds `lw.lock`); None when a change run had nothing to do."""
    return await _Run(daemon, lw, request, progress).execute()


@dataclass(frozen=True)
class _Pass:
    """What one tool's pass is about: its scope, their keys, which to run and to remove."""

    scope: list[str]
    keys: dict[str, str]
    run: list[str]
    removed: list[str]


class _Run:
    def __init__(
        self,
        daemon: Daemon,
        lw: model.WorkspaceLint,
        request: RunRequest,
        progress: Progress | None,
    ) -> None:
        self.daemon = daemon
        self.lw = lw
        self.ws = lw.ws
        self.request = request
        self.progress = progress
        self.linters = model.get(daemon)
        self.settings = model.settings_of(lw.ws)
        self.enabled = [name for name in self.linters.tools if self.settings.enabled(name)]
        wanted = self.enabled if request.tools is None else request.tools
        self.names = [name for name in wanted if name in self.enabled]
        self.scheduler = model.scheduler_for(self.linters, lw, self.settings.max_heavy)
        self.began = time.monotonic()
        self.run_id = 0
        self.started_at = ""
        self.clock = 0
        self.hashes: dict[str, str] = {}
        self.paths: list[str] = []
        self._deps: asyncio.Task[Dependencies] | None = None
        self._done = 0

    async def execute(self) -> RunInfo | None:
        if self.ws.live is not None:
            await self.ws.live.ready.wait()
        self.clock = self.ws.clock
        self.hashes = await inputs.content_hashes(self.ws)
        self.paths = sorted(self.hashes)
        before = self._statuses()
        self.run_id, self.started_at = await self.linters.next_run_id(self.daemon), now_iso()
        dropped, change = await self._drop_gone()
        try:
            runs = await self._all_passes([self.linters.tools[name] for name in self.names])
        finally:
            if self._deps is not None:
                self._deps.cancel()
        runs.sort(key=lambda run: run.tool)
        for run in runs:
            change += Change(run.new, run.fixed)
        quiet = not dropped and not any(run.started or run.dropped_files for run in runs)
        if self.request.trigger != "run" and quiet and before == self._statuses():
            return None
        return await self._record(runs, change, dropped)

    # -- before the passes ----------------------------------------------------------------------

    def _statuses(self) -> dict[str, Status | None]:
        thresholds = self.settings.thresholds
        return {name: tool_status(self.lw.results, name, thresholds) for name in self.enabled}

    async def _drop_gone(self) -> tuple[int, Change]:
        """Forget every result of a file that no longer exists."""
        gone = {
            path
            for files in self.lw.results.files.values()
            for path in files
            if path not in self.hashes
        }
        if not gone:
            return 0, Change()
        dropped, change = self.lw.results.drop_paths(gone)
        await self.daemon.store.run(store.drop_paths, self.daemon.store.db, self.ws.id, dropped)
        self._publish(None, change)
        return len(gone), change

    async def _dependencies(self) -> Dependencies:
        graph, previous = await inputs.import_graphs(self.daemon, self.lw, self.hashes)
        deps = Dependencies(self.hashes, graph, previous)
        await asyncio.to_thread(deps.prepare)
        return deps

    # -- one pass per tool ----------------------------------------------------------------------

    async def _all_passes(self, tools: list[LintTool]) -> list[ToolRun]:
        """Every tool at once; after a change, the per-file programs one at a time, quickest
        first (they share few CPUs), then the heavy ones."""
        if self.request.trigger != "change":
            return await _together(self._guarded_pass(tool) for tool in tools)
        light = sorted(
            (tool for tool in tools if not tool.heavy and not isinstance(tool, InProcessTool)),
            key=lambda tool: self.lw.cost_ms.get(tool.name, 0.0),
        )
        in_process = [tool for tool in tools if not tool.heavy and tool not in light]

        async def one_by_one() -> list[ToolRun]:
            return [await self._guarded_pass(tool) for tool in light]

        async def alongside() -> list[ToolRun]:
            # in-process checks run in a thread, they hardly compete with a subprocess
            return await _together(self._guarded_pass(tool) for tool in in_process)

        programs, checks = await _together([one_by_one(), alongside()])
        heavy = [tool for tool in tools if tool.heavy]
        return [*programs, *checks, *await _together(self._guarded_pass(t) for t in heavy)]

    async def _guarded_pass(self, tool: LintTool) -> ToolRun:
        try:
            return await self._pass(tool)
        except Exception as exc:
            # a third-party tool's bug is its own error, never the run's
            logger.opt(exception=exc).error("lint pass of {} raised", tool.name)
            state = self.lw.results.state(tool.name)
            state.outcome, state.error_code = "error", "TOOL_FAILED"
            state.message = f"{type(exc).__name__}: {exc}"
            return self._tool_run(tool.name, 0, started=False)
        finally:
            self._done += 1
            if self.progress is not None:
                self.progress(self._done, len(self.names))

    async def _pass(self, tool: LintTool) -> ToolRun:
        state = self.lw.results.state(tool.name)
        version = await self._version(tool)
        if version is None:
            return await self._skip(tool, "not installed")
        state.version = version
        if state.outcome == "skipped":
            state.outcome = "ok"
        deps = await self._deps_for(tool)
        args = self.settings.tool(tool.name).args
        stored = {path: result.key for path, result in self.lw.results.of(tool.name).items()}
        todo = await asyncio.to_thread(self._plan, tool, deps, stored, version, args)
        state.unverified -= set(todo.scope) - set(todo.run)
        if not todo.run:
            change = self.lw.results.replace(tool.name, {}, todo.removed)
            await self._save(tool.name, {}, todo.removed, change)
            return self._tool_run(
                tool.name, 0, False, cached=len(todo.scope), dropped=todo.removed, change=change
            )
        result = await self.scheduler.run(
            tool,
            self.ws.root,
            todo.run,
            self.settings.timeout_s(tool.name),
            args,
            cache_dir=model.tool_cache_dir(self.daemon, self.ws, tool.name),
            exclude_dirs=self.ws.settings.exclude_dirs,
        )
        if result.status is Status.SKIPPED:
            return await self._skip(tool, result.message or "not installed")
        self.lw.cost_ms[tool.name] = result.duration_ms / len(todo.run)
        updates: dict[str, FileResult] = {}
        if result.status is Status.ERROR:
            state.outcome, state.error_code, state.message = (
                "error",
                result.error_code,
                result.message,
            )
            state.unverified |= set(todo.run)
        else:
            updates = self._file_results(todo, result)
            state.outcome = "ok"
            state.unverified -= set(todo.run)
            if not state.unverified:
                state.error_code = state.message = None
        change = self.lw.results.replace(tool.name, updates, todo.removed)
        await self._save(tool.name, updates, todo.removed, change, notify=True)
        return self._tool_run(
            tool.name,
            result.duration_ms,
            True,
            files_run=len(todo.run),
            cached=len(todo.scope) - len(todo.run),
            dropped=todo.removed,
            change=change,
        )

    async def _version(self, tool: LintTool) -> str | None:
        if isinstance(tool, InProcessTool):
            return tool.version
        if isinstance(tool, CommandTool):
            resolved = await self.scheduler.versions.resolve(tool, self.ws.root)
            return resolved.version if resolved is not None else None
        raise TypeError(f"{tool.name}: a lint tool is a CommandTool or an InProcessTool")

    async def _deps_for(self, tool: LintTool) -> Dependencies:
        if tool.per_file:
            return Dependencies(self.hashes, None)  # a per-file key needs only content hashes
        if self._deps is None:
            # built when a whole-program tool first needs it: after the per-file tools on a
            # change, so their feedback does not wait for (or share a CPU with) the graph
            self._deps = asyncio.create_task(self._dependencies())
        return await asyncio.shield(self._deps)

    def _plan(
        self,
        tool: LintTool,
        deps: Dependencies,
        stored: Mapping[str, str],
        version: str,
        args: Sequence[str],
    ) -> _Pass:
        """Scope, keys, what to run and what to remove, given the stored keys (in a thread)."""
        request = self.request
        config = plan.config_digest(tool, self.ws.root, args)
        defaults = tool.default_files(self.paths, self.ws.root)
        whole = False
        if request.paths is not None:
            scope = plan.selected_scope(tool, request.paths, defaults, deps)
        elif request.changes is not None:
            scope = plan.changed_scope(tool, request.changes, defaults, deps)
            whole = len(scope) == len(defaults)
        else:
            scope, whole = list(defaults), True
        keys = plan.keys(tool, scope, deps, version, config)
        run = [path for path in scope if request.force or stored.get(path) != keys[path]]
        # a whole-workspace pass also forgets files the tool no longer covers (config changes)
        covered = set(defaults)
        removed = [path for path in stored if path not in covered] if whole else []
        return _Pass(scope, keys, run, removed)

    def _file_results(self, todo: _Pass, result: ToolResult) -> dict[str, FileResult]:
        found: dict[str, list[Issue]] = {path: [] for path in todo.run}
        for issue in result.issues:
            # a whole-program tool also reports on files it followed; those did not change
            if issue.path in found:
                found[issue.path].append(issue)
        totals = result.file_totals
        return {
            path: FileResult(
                todo.keys[path],
                self.run_id,
                issues,
                totals.get(path, Totals()) if totals is not None else None,
            )
            for path, issues in found.items()
        }

    async def _skip(self, tool: LintTool, reason: str) -> ToolRun:
        state = self.lw.results.state(tool.name)
        news = state.outcome != "skipped" or state.message != reason
        state.outcome, state.message, state.error_code = "skipped", reason, None
        await self._save(tool.name, {}, [], Change(), notify=news)
        return self._tool_run(tool.name, 0, False)

    async def _save(
        self,
        tool: str,
        updates: dict[str, FileResult],
        removed: list[str],
        change: Change,
        notify: bool = False,
    ) -> None:
        """Publish the pass (when it ran or changed anything) and store it."""
        if notify or removed or change != Change():
            self._publish(tool, change)
        state = dataclasses.replace(self.lw.results.state(tool))
        state.unverified = set(state.unverified)  # the DB thread reads a copy
        await self.daemon.store.run(
            store.save_tool, self.daemon.store.db, self.ws.id, tool, updates, removed, state
        )

    def _tool_run(
        self,
        tool: str,
        duration_ms: int,
        started: bool,
        *,
        files_run: int = 0,
        cached: int = 0,
        dropped: Sequence[str] = (),
        change: Change | None = None,
    ) -> ToolRun:
        state = self.lw.results.state(tool)
        change = change or Change()
        status = tool_status(self.lw.results, tool, self.settings.thresholds) or Status.SKIPPED
        return ToolRun(
            tool=tool,
            status=status,
            started=started,
            files_run=files_run,
            cached_files=cached,
            dropped_files=len(dropped),
            duration_ms=duration_ms,
            version=state.version,
            error_code=state.error_code if status is Status.ERROR else None,
            message=state.message if status in (Status.ERROR, Status.SKIPPED) else None,
            new=change.new,
            fixed=change.fixed,
        )

    # -- after the passes -----------------------------------------------------------------------

    def summary(self) -> Summary:
        return summarize(self.lw.results, self.enabled, self.settings.thresholds)

    def _publish(self, tool: str | None, change: Change, done: bool = False) -> None:
        params: dict[str, Any] = {
            "workspace": self.ws.id,
            "clock": self.clock,
            "run": self.run_id,
            "tool": tool,
            "done": done,
            "summary": self.summary().model_dump(mode="json"),
            "new": change.new,
            "fixed": change.fixed,
        }
        self.daemon.events.publish("lint.updated", params, workspace=self.ws.id, clock=self.clock)

    async def _record(self, runs: list[ToolRun], change: Change, dropped: int) -> RunInfo:
        summary = self.summary()
        info = RunInfo(
            id=self.run_id,
            trigger=self.request.trigger,
            clock=self.clock,
            started_at=self.started_at,
            finished_at=now_iso(),
            status=summary.status,
            issues=summary.issues,
            by_severity=summary.by_severity,
            new=change.new,
            fixed=change.fixed,
            tools_started=sum(run.started for run in runs),
            files_run=sum(run.files_run for run in runs),
            cached_files=sum(run.cached_files for run in runs),
            dropped_files=dropped + sum(run.dropped_files for run in runs),
            duration_ms=int((time.monotonic() - self.began) * 1000),
            tools=runs,
        )
        detail = info.model_dump(mode="json", exclude=set(RUN_COLUMNS))
        row = store.RunRow(**{name: getattr(info, name) for name in RUN_COLUMNS}, detail=detail)
        await self.daemon.store.run(store.record_run, self.daemon.store.db, self.ws.id, row)
        self.lw.last_run = self.run_id
        self.lw.linted_clock = self.clock
        self._publish(None, change, done=True)
        return info


async def _together(coros: Iterable[Coroutine[Any, Any, T]]) -> list[T]:
    """Run `coros` concurrently; cancelled, this returns only once every one has finished
    (unlike `gather`), so no tool is left running unobserved."""
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(coro) for coro in coros]
    return [task.result() for task in tasks]
