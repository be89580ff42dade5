"""The linters' state in the daemon: the tools, and per open workspace its merged results, its
scheduler, its pending changes and its worker task."""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from aegisd.daemon import StateKey
from aegisd.rpc.errors import Unavailable
from aegisd_lint import store
from aegisd_lint.backlog import Backlog
from aegisd_lint.discovery import VersionCache
from aegisd_lint.importmap import ImportMap
from aegisd_lint.scheduler import ToolScheduler
from aegisd_lint.settings import LintSettings
from aegisd_lint.state import Results
from aegisd_lint.tool import LintTool

if TYPE_CHECKING:
    from aegisd.daemon import Daemon
    from aegisd.workspace import Workspace


@dataclass
class WorkspaceLint:
    """One workspace's lint state. `lock` makes runs (the worker's and `lint.run`'s) one at a
    time; `changes` collects batches until the worker takes them, so they coalesce. The
    background lane's runs (`backlog`) do not take the lock."""

    ws: Workspace
    scheduler: ToolScheduler
    results: Results = field(default_factory=Results)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    loaded: asyncio.Event = field(default_factory=asyncio.Event)
    changes: dict[str, str] = field(default_factory=dict)
    sync: bool = False  # a whole-workspace pass is due (on open, trust changes)
    graph: ImportMap | None = None
    graph_version: int | None = None
    previous_graph: ImportMap | None = None
    last_run: int | None = None
    linted_clock: int = 0
    #: bumped by every write of results: a cached report of an older generation is stale
    generation: int = 0
    task: asyncio.Task[None] | None = None
    backlog_task: asyncio.Task[None] | None = None
    backlog: Backlog = field(default_factory=Backlog)
    #: each tool's last run time per file, to run the quickest first after a change
    cost_ms: dict[str, float] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        """A run is going or due: the results may not reflect the workspace yet (a tool
        backing off from a failing backlog is not: its unchecked files say `error`)."""
        return self.lock.locked() or bool(self.changes) or self.sync or self.backlog.busy

    @property
    def first_pass(self) -> bool:
        """The first whole-workspace pass is going or due."""
        return self.sync or (self.backlog.mode == "full" and self.backlog.busy)


@dataclass
class Linters:
    """The tools every workspace may run, problems found collecting them, open workspaces."""

    tools: dict[str, LintTool]
    problems: list[str]
    versions: VersionCache = field(default_factory=VersionCache)
    workspaces: dict[str, WorkspaceLint] = field(default_factory=dict)
    last_run_id: int | None = None  # read from the store by the first run

    async def next_run_id(self, daemon: Daemon) -> int:
        """A new run id, continuing from the stored ones (see `store`)."""
        if self.last_run_id is None:
            last = await daemon.store.run(store.last_run_id, daemon.store.db)
            if self.last_run_id is None:  # another workspace's run may have been first
                self.last_run_id = last
        self.last_run_id += 1
        return self.last_run_id


LINT = StateKey("lint", Linters)


def get(daemon: Daemon) -> Linters:
    return daemon.state[LINT]


def workspace_lint(daemon: Daemon, ws: Workspace) -> WorkspaceLint:
    lw = get(daemon).workspaces.get(ws.id)
    if lw is None:
        raise Unavailable("the linters are not set up for this workspace yet", retry_after_ms=200)
    return lw


def settings_of(ws: Workspace) -> LintSettings:
    settings = getattr(ws.settings, "lint", None)
    return settings if isinstance(settings, LintSettings) else LintSettings()


def scheduler_for(linters: Linters, lw: WorkspaceLint, max_heavy: int) -> ToolScheduler:
    """The workspace's scheduler, replaced (between runs) when `max_heavy` changed."""
    if lw.scheduler.max_heavy != max_heavy:
        lw.scheduler = new_scheduler(linters, max_heavy)
    return lw.scheduler


def new_scheduler(linters: Linters, max_heavy: int) -> ToolScheduler:
    scheduler = ToolScheduler(max_heavy=max_heavy)
    scheduler.versions = linters.versions  # one version probe per executable, daemon-wide
    return scheduler


def scratch_root(daemon: Daemon) -> Path:
    """Where tool runs make their scratch dirs: under the data dir, emptied at each start, so
    a daemon killed mid-run leaves nothing behind in the system's temp dir."""
    return daemon.config.data_path / "lint" / "scratch"


def clear_scratch(daemon: Daemon) -> None:
    """Remove what runs of an earlier daemon left (one daemon per data dir runs at a time)."""
    root = scratch_root(daemon)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)


def tool_cache_dir(daemon: Daemon, ws: Workspace, tool: str) -> Path:
    """A tool's own cache (mypy's), under the daemon's data dir, never in the workspace."""
    return daemon.config.data_path / "lint" / ws.id / tool
