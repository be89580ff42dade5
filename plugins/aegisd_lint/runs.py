"""Lint runs: one request (a change batch, the workspace opening, `lint.run`) becomes one run.

Results of files that are gone are dropped first. Then each tool gets a *pass*: its scope (the
files the request is about), the cache key of each (see `plan`), and one run of the tool on just
the files whose stored result has another key. A tool that would run the code of a workspace
that is not trusted is skipped instead. The pass's results are merged, published as
`lint.updated` and stored; files the tool gave no verdict on (a batch timed out or ran out of
memory, the tool stopped early) keep their old results but stay *unverified*: the tool reports
`error` until a later pass checks them, which is the background lane's work (`backlog`), as
are files a change run leaves (`RunRequest.limit`) and the first whole-workspace pass. On a
change, per-file tools go first so their feedback is not held up by heavy whole-program tools,
which start once they are done; the quickest is planned and started without yielding to the
event loop, and runs alone.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from loguru import logger

from aegisd import threads
from aegisd.store.core_models import now_iso
from aegisd_lint import inputs, model, persist, plan, queries, store
from aegisd_lint.deps import Dependencies
from aegisd_lint.discovery import WorkspaceEnv, missing_reason, workspace_env
from aegisd_lint.issues import Issue, Status, ToolResult, Totals
from aegisd_lint.plan import RunRequest
from aegisd_lint.report import RunInfo, Summary, ToolRun, summarize, tool_status
from aegisd_lint.runner import trust_reason
from aegisd_lint.state import Change, FileResult
from aegisd_lint.tool import CommandTool, InProcessTool, LintTool

FOREGROUND_FILES = 8  # a daemon-started pass over more files runs at a lower CPU priority
STEP_ASIDE_ISSUES = 256  # a pass over the stdlib has ~50k issues: not a pause per issue
BACKLOG_TRIGGERS = ("open", "backlog")

if TYPE_CHECKING:
    from aegisd.daemon import Daemon

Progress = Callable[[int, int], None]
T = TypeVar("T")
#: what the history table holds in columns; the rest of a `RunInfo` is its detail
RUN_COLUMNS = ("id", "trigger", "clock", "started_at", "finished_at")


async def execute(
    daemon: Daemon, lw: model.WorkspaceLint, request: RunRequest, progress: Progress | None = None
) -> RunInfo | None:
    """Run `request` (the caller holds `lw.lock`); None when a change run had nothing to do."""
    return await _Run(daemon, lw, request, progress).execute()


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
        # thread work of a pass nobody asked for steps aside for requests; `lint.run`'s does not
        self._off_loop = asyncio.to_thread if request.trigger == "run" else threads.background
        self.linters = model.get(daemon)
        self.settings = model.settings_of(lw.ws)
        self.enabled = [name for name in self.linters.tools if self.settings.enabled(name)]
        wanted = self.enabled if request.tools is None else request.tools
        self.names = [name for name in wanted if name in self.enabled]
        self.scheduler = model.scheduler_for(self.linters, lw, self.settings.max_heavy)
        #: a backlog run's verdicts on files changed meanwhile are dropped (see `backlog`)
        self.in_backlog = request.trigger in BACKLOG_TRIGGERS
        self.touched: set[str] = (lw.backlog.touched or set()) if self.in_backlog else set()
        self.env: WorkspaceEnv = workspace_env(lw.ws.root, lw.ws.trusted, self.settings.python)
        self.began = time.monotonic()
        self.run_id = 0
        self.started_at = ""
        self.clock = 0
        #: every file's content hash and the sorted paths, read when a pass first needs them
        self.hashes: dict[str, str] = {}
        self.paths: list[str] = []
        self._hashed: asyncio.Task[None] | None = None
        self._deps: asyncio.Task[Dependencies] | None = None
        self._done = 0

    async def execute(self) -> RunInfo | None:
        if self.ws.live is not None:
            await self.ws.live.ready.wait()
        self.clock = self.ws.clock
        before = self._statuses()
        self.run_id, self.started_at = await self.linters.next_run_id(self.daemon), now_iso()
        dropped, change = await self._drop_gone()
        try:
            runs = await self._all_passes([self.linters.tools[name] for name in self.names])
        finally:
            for task in (self._hashed, self._deps):
                if task is not None:
                    task.cancel()
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
        """Forget every result of a file that no longer exists: after a change, of the files
        it deleted; otherwise of any stored file the workspace no longer knows."""
        known = self.ws.live.known if self.ws.live is not None else {}
        changes = self.request.changes
        if changes is not None:
            gone = sorted(p for p, kind in changes.items() if kind == "deleted" and p not in known)
        else:
            gone = await self._off_loop(_unknown, self.daemon.store.path, self.ws.id, known)
        if not gone:
            return 0, Change()
        change = await persist.drop(self.daemon, self.lw, gone)
        self._publish(None, change)
        return len(gone), change

    async def _hash_all(self) -> None:
        """Fill `hashes` and `paths` (once)."""
        if self._hashed is None:
            self._hashed = asyncio.create_task(self._read_hashes())
        await asyncio.shield(self._hashed)

    async def _read_hashes(self) -> None:
        self.hashes = await inputs.content_hashes(self.ws)
        self.paths = sorted(self.hashes)

    async def _dependencies(self) -> Dependencies:
        await self._hash_all()
        graph, previous = await inputs.import_graphs(
            self.daemon, self.lw, self.hashes, self._off_loop
        )
        deps = Dependencies(self.hashes, graph, previous)
        await self._off_loop(deps.prepare)
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

        # the quickest alone, so nothing of ours competes with it; then the other programs
        # alongside the in-process checks (in a thread, they hardly compete with a subprocess)
        ran = [await self._guarded_pass(tool) for tool in light[:1]]
        async with asyncio.TaskGroup() as group:
            checks = [group.create_task(self._guarded_pass(tool)) for tool in in_process]
            ran += [await self._guarded_pass(tool) for tool in light[1:]]
        ran += [task.result() for task in checks]
        heavy = [tool for tool in tools if tool.heavy]
        return [*ran, *await _together(self._guarded_pass(t) for t in heavy)]

    async def _guarded_pass(self, tool: LintTool) -> ToolRun:
        try:
            return await self._pass(tool)
        except Exception as exc:
            # a third-party tool's bug is its own error, never the run's
            logger.opt(exception=exc).error("lint pass of {} raised", tool.name)
            state = self.lw.results.state(tool.name)
            state.outcome, state.error_code = "error", "TOOL_FAILED"
            state.message = f"{type(exc).__name__}: {exc}"
            self._settled(tool.name, [], failed=True)
            return self._tool_run(tool.name, 0, started=False)
        finally:
            self._done += 1
            if self.progress is not None:
                self.progress(self._done, len(self.names))

    async def _pass(self, tool: LintTool) -> ToolRun:
        state = self.lw.results.state(tool.name)
        refused = trust_reason(tool, self.ws.root, self.env.trusted)
        if refused is not None:
            return await self._skip(tool, refused)
        version = await self._version(tool)
        if version is None:
            missing = missing_reason(tool, self.env) if isinstance(tool, CommandTool) else None
            return await self._skip(tool, missing or "not installed")
        state.version = version
        if state.outcome == "skipped":
            state.outcome = "ok"
        args = self.settings.tool(tool.name).args
        edited = self._edited(tool)
        if edited is not None:
            # a few files' hashes and config reads: quicker here than through a thread, and
            # the tool starts without yielding to the loop (their keys are in the hot set)
            deps = Dependencies(edited, None)
            left = frozenset(state.unverified.intersection(edited))
            stored = await persist.edited_keys(self.daemon, self.ws.id, tool.name, list(edited))
            inputs = self._inputs(tool, version, args, stored, left)
            todo = plan.plan_pass(tool, self.request, self.paths, deps, inputs, list(edited))
        else:
            deps = await self._deps_for(tool)
            inputs = self._inputs(tool, version, args, {}, frozenset(state.unverified))
            todo = await self._off_loop(self._plan_whole, tool, deps, inputs)
        state.unverified -= set(todo.scope) - set(todo.run) - set(todo.deferred)
        if self.request.paths is None and self.request.changes is None:
            state.unverified &= set(todo.scope)  # (a file the tool no longer covers owes none)
        removed = [path for path in todo.removed if path not in self.touched]
        if not todo.run:
            change = await self._save(tool.name, {}, removed)
            self._settled(tool.name, todo.deferred, failed=False)
            return self._tool_run(
                tool.name, 0, False, cached=todo.cached, dropped=removed, change=change
            )
        result = await self.scheduler.run(
            tool,
            self.ws.root,
            todo.run,
            self.settings.timeout_s(tool.name),
            args,
            cache_dir=model.tool_cache_dir(self.daemon, self.ws, tool.name),
            scratch_root=model.scratch_root(self.daemon),
            exclude_dirs=self.ws.settings.exclude_dirs,
            max_file_bytes=self.ws.settings.max_file_bytes,
            # a pass nobody asked for, over more than an edit's files, yields the CPUs to
            # edits' passes and to requests; `lint.run` runs at full speed
            background=self.request.trigger != "run" and len(todo.run) > FOREGROUND_FILES,
            trusted=self.env.trusted,
            python=self.settings.python,
            max_memory_mb=self.settings.memory_mb(tool.name),
        )
        if result.status is Status.SKIPPED:
            return await self._skip(tool, result.message or "not installed")
        self.lw.cost_ms[tool.name] = result.duration_ms / len(todo.run)
        # the files without a verdict (a batch timed out, the tool stopped early) keep their
        # old results and stay unverified: the tool reports an error until a run checks them
        unchecked: set[str] = set()
        if result.status is Status.ERROR:
            unchecked = set(todo.run if result.unchecked is None else result.unchecked)
        # (an edit's run has the newer verdict on a file changed while a backlog run ran)
        # (a failure on files changed meanwhile may be theirs: not one to back off from)
        failed = bool(unchecked) and not (self.touched and self.touched.intersection(todo.run))
        unchecked -= self.touched
        checked = [p for p in todo.run if p not in unchecked and p not in self.touched]
        if len(checked) > persist.SAVE_CHUNK_ROWS:  # a whole-workspace pass: off the loop
            updates = await self._off_loop(self._file_results, todo, checked, result)
        else:
            updates = self._file_results(todo, checked, result)
        state.unverified = (state.unverified - set(checked)) | unchecked
        if unchecked:
            state.outcome, state.error_code, state.message = (
                "error",
                result.error_code,
                result.message,
            )
        else:
            state.outcome = "ok"
            if not state.unverified:
                state.error_code = state.message = None
        change = await self._save(tool.name, updates, removed, notify=True)
        self._settled(tool.name, todo.deferred, failed)
        return self._tool_run(
            tool.name,
            result.duration_ms,
            True,
            files_run=len(todo.run),
            cached=todo.cached,
            deferred=len(todo.deferred),
            dropped=removed,
            change=change,
        )

    def _settled(self, tool: str, deferred: Sequence[str], failed: bool) -> None:
        """Tell the background lane what the pass left: a backlog run's chunk is done or
        backs off; another run that left files unchecked or deferred hands them to it."""
        backlog = self.lw.backlog
        unverified = bool(self.lw.results.state(tool).unverified)
        if self.in_backlog:
            backlog.finished(tool, len(deferred), failed, unverified)
        elif self.settings.auto:
            backlog.edited(tool, deferred, unverified)

    async def _version(self, tool: LintTool) -> str | None:
        if isinstance(tool, InProcessTool):
            return tool.version
        if isinstance(tool, CommandTool):
            resolved = await self.scheduler.versions.resolve(tool, self.env)
            return resolved.version if resolved is not None else None
        raise TypeError(f"{tool.name}: a lint tool is a CommandTool or an InProcessTool")

    async def _deps_for(self, tool: LintTool) -> Dependencies:
        if tool.per_file:
            await self._hash_all()
            return Dependencies(self.hashes, None)  # a per-file key needs only content hashes
        if self._deps is None:
            # built when a whole-program tool first needs it: after the per-file tools on a
            # change, so their feedback does not wait for (or share a CPU with) the graph
            self._deps = asyncio.create_task(self._dependencies())
        return await asyncio.shield(self._deps)

    def _edited(self, tool: LintTool) -> dict[str, str] | None:
        """On a change run that a per-file tool's scope is within (see `plan.changed_scope`),
        the content hash of each changed file that exists, in path order; else None (also
        when one has no known hash yet)."""
        changes = self.request.changes
        if changes is None or self.request.paths is not None or not tool.per_file:
            return None
        if plan.widened(tool, changes):
            return None
        present = sorted(path for path, kind in changes.items() if kind != "deleted")
        return inputs.known_hashes(self.ws, present)

    def _plan_whole(self, tool: LintTool, deps: Dependencies, inputs: plan.ToolInputs) -> plan.Pass:
        """`plan.plan_pass` over the stored keys of every file (in a thread)."""
        stored = queries.stored_keys(self.daemon.store.path, self.ws.id, tool.name)
        inputs = dataclasses.replace(inputs, stored=stored)
        return plan.plan_pass(tool, self.request, self.paths, deps, inputs)

    def _inputs(
        self,
        tool: LintTool,
        version: str,
        args: Sequence[str],
        stored: Mapping[str, str],
        unverified: frozenset[str],
    ) -> plan.ToolInputs:
        python = self.env.python if tool.interpreter != "unused" else None
        return plan.ToolInputs(self.ws.root, version, tuple(args), python, stored, unverified)

    def _file_results(
        self, todo: plan.Pass, checked: list[str], result: ToolResult
    ) -> dict[str, FileResult]:
        found: dict[str, list[Issue]] = {path: [] for path in checked}
        for at, issue in enumerate(result.issues):
            if not at % STEP_ASIDE_ISSUES:
                threads.step_aside()
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
        self.lw.backlog.drop(tool.name)
        await self._save(tool.name, {}, [], notify=news)
        return self._tool_run(tool.name, 0, False)

    async def _save(
        self,
        tool: str,
        updates: dict[str, FileResult],
        removed: list[str],
        notify: bool = False,
    ) -> Change:
        """Store the pass and publish it (when it ran or changed anything)."""
        change = await persist.save(self.daemon, self.lw, tool, updates, removed, self._off_loop)
        if notify or removed or change != Change():
            self._publish(tool, change)
        return change

    def _tool_run(
        self,
        tool: str,
        duration_ms: int,
        started: bool,
        *,
        files_run: int = 0,
        cached: int = 0,
        deferred: int = 0,
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
            deferred_files=deferred,
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
        self.lw.last_run = max(self.run_id, self.lw.last_run or 0)
        self.lw.linted_clock = max(self.clock, self.lw.linted_clock)
        self._publish(None, change, done=True)
        return info


def _unknown(db_path: Path, ws_id: str, known: Mapping[str, object]) -> list[str]:
    """Stored paths the workspace no longer knows (in a thread)."""
    return sorted(path for path in queries.stored_paths(db_path, ws_id) if path not in known)


async def _together(coros: Iterable[Coroutine[Any, Any, T]]) -> list[T]:
    """Run `coros` concurrently; cancelled, this returns only once every one has finished
    (unlike `gather`), so no tool is left running unobserved."""
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(coro) for coro in coros]
    return [task.result() for task in tasks]
