"""Workspaces: one per open root, each with its settings, change clock and freshness state.

A workspace's clock advances once per settled batch of changes; `pending` is true from the
moment a change is seen until every plugin has processed the batch (or while the watcher is
degraded), so no answer computed from stale data ever claims to be fresh.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections import deque
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger

from aegisd.filestate import SkippedChange
from aegisd.ownpaths import OwnInRoot
from aegisd.plugins import LAST_MOMENT_S
from aegisd.rpc.errors import InvalidParams, InvalidPath, NotFound
from aegisd.runaway import cancel_within
from aegisd.settings import CoreSettings
from aegisd.store.core_models import WorkspaceRow, now_iso
from aegisd.trust import Trust, ancestry, decide, store_decision, stored_decisions

if TYPE_CHECKING:
    from aegisd.daemon import Daemon
    from aegisd.watcher import LiveWorkspace

CHANGE_KINDS = ("created", "modified", "deleted")
NAME_MAX = 255  # bytes in one path component (Linux, most file systems)
PATH_MAX = 4096  # bytes in a whole path, its terminating NUL included


class UnusablePath(InvalidPath):
    """A path no file can have (a part over NAME_MAX bytes, a NUL): INVALID_PATH, and only a
    problem of that path where a method takes several (`workspace.notify_changes`)."""


@dataclass(frozen=True)
class ChangeBatch:
    """One settled batch: the clock it advanced to and each changed path's coalesced kind.

    `changes` name eligible files only (a file that became skipped is "deleted" there, one no
    longer skipped "created"); `skipped` says what happened on disk to skipped files, for a
    plugin that records every change (the audit trail), with why each is skipped."""

    clock: int
    changes: dict[str, str]
    source: str  # "watcher", "reconcile" or "notify"
    skipped: dict[str, SkippedChange] = field(default_factory=dict)


def coalesce(first: str | None, then: str) -> str | None:
    """One kind for two successive changes of a path (None: nothing happened overall)."""
    if first is None:
        return then
    if first == "created":
        return None if then == "deleted" else "created"
    if first == "deleted":
        return "modified" if then == "created" else then
    return "deleted" if then == "deleted" else "modified"


def coalesce_batches(batches: Iterable[dict[str, str]]) -> dict[str, str]:
    """Successive batches as one: each path's kinds coalesced, in order."""
    coalesced: dict[str, str] = {}
    for changes in batches:
        for path, kind in changes.items():
            merged = coalesce(coalesced.get(path), kind)
            if merged is None:
                coalesced.pop(path, None)
            else:
                coalesced[path] = merged
    return coalesced


def workspace_id_for(root: Path) -> str:
    """A short id stable across restarts (derived from the real root path)."""
    return hashlib.sha1(os.fsencode(root), usedforsecurity=False).hexdigest()[:12]


@dataclass
class Workspace:
    id: str
    root: Path
    settings: CoreSettings
    clock: int = 0
    opened_at: str = field(default_factory=now_iso)
    degraded: str | None = None
    busy: int = 0  # batches queued or being processed
    #: (clock, {path: kind}) of recent batches, for `workspace.changes`; bounded in paths.
    changelog: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)
    changelog_limit: int = 200_000
    logged: int = 0  # paths in `changelog`
    retained_from: int = 0
    opened_clock: int = 0  # the clock when this daemon opened it
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    live: LiveWorkspace | None = None
    #: the daemon's own directories and files inside this root: never shown
    own: OwnInRoot = field(default_factory=OwnInRoot)
    #: why the workspace is degraded, by source (the watcher, the change processor)
    faults: dict[str, str] = field(default_factory=dict)
    #: may tools that execute the workspace's code run here (see `aegisd.trust`)
    trust: Trust = field(default_factory=lambda: Trust(False, "default"))

    @property
    def trusted(self) -> bool:
        return self.trust.trusted

    def fault(self, source: str, reason: str | None) -> None:
        """Record (or with None, clear) one source's reason to be degraded."""
        if reason is None:
            self.faults.pop(source, None)
        else:
            self.faults[source] = reason
        self.degraded = "; ".join(self.faults.values()) or None

    def track(self, task: asyncio.Task[Any]) -> None:
        """Keep `task` until it finishes (cancelled on close); finished ones are dropped."""
        self.tasks.append(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[Any]) -> None:
        if task in self.tasks:
            self.tasks.remove(task)

    def record_changes(self, clock: int, changes: dict[str, str]) -> None:
        """Remember a batch for `workspace.changes` (the batch's own dict, kept as it is: O(1)
        whatever its size), forgetting the oldest batches beyond the limit in paths."""
        self.changelog.append((clock, changes))
        self.logged += len(changes)
        while self.logged > self.changelog_limit and self.changelog:
            dropped_clock, dropped = self.changelog.popleft()
            self.logged -= len(dropped)
            self.retained_from = max(self.retained_from, dropped_clock)

    def batches_since(self, since: int) -> list[dict[str, str]] | None:
        """The batches recorded after clock `since`, oldest first; None if not retained."""
        if since < self.retained_from or since > self.clock:
            return None
        return [changes for clock, changes in self.changelog if clock > since]

    def changes_since(self, since: int) -> dict[str, str] | None:
        """Paths changed after clock `since`, coalesced per path; None if not retained."""
        batches = self.batches_since(since)
        return None if batches is None else coalesce_batches(batches)

    @property
    def file_count(self) -> int:
        """The files known to be in the tree (all of them once the first reconciliation is
        processed)."""
        return len(self.live.known) if self.live is not None else 0

    @property
    def large(self) -> bool:
        """Over `full_pass_max_files`: unasked whole-workspace passes are not run."""
        return self.file_count > self.settings.full_pass_max_files

    @property
    def pending(self) -> bool:
        return self.busy > 0 or self.degraded is not None

    @property
    def name(self) -> str:
        return self.root.name

    def info(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "root": str(self.root),
            "name": self.name,
            "clock": self.clock,
            "pending": self.pending,
            "degraded": self.degraded,
            "opened_at": self.opened_at,
            "trusted": self.trusted,
        }

    def relative(self, path: str | os.PathLike[str]) -> str:
        """A path given by a client (absolute or root-relative) as a root-relative `/` path.

        Refuses anything that resolves (symlinks included) outside the root, the daemon's own
        files inside it, and names no file can have (`UnusablePath`).
        """
        text = os.fspath(path)
        _check_usable(text)
        raw = Path(text)
        candidate = raw if raw.is_absolute() else self.root / raw
        try:
            real = Path(os.path.realpath(candidate))
            rel = real.relative_to(self.root).as_posix()
        except (ValueError, OSError):
            raise InvalidPath(f"path is outside the workspace root: {text}", path=text) from None
        rel = "" if rel == "." else rel
        if self.own.holds(rel):
            raise InvalidPath(f"path belongs to the daemon itself: {text}", path=text)
        return rel


def _check_usable(path: str) -> None:
    if "\0" in path:
        raise UnusablePath("path contains a NUL character", path=path)
    encoded = os.fsencode(path)
    if len(encoded) >= PATH_MAX:
        raise UnusablePath(f"path is over {PATH_MAX - 1} bytes", path=path)
    for part in encoded.split(b"/"):
        if len(part) > NAME_MAX:
            raise UnusablePath(f"a part of the path is over {NAME_MAX} bytes", path=path)


class WorkspaceManager:
    """Opens, finds and closes workspaces; the daemon holds exactly one."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self._open: dict[str, Workspace] = {}
        self._lock = asyncio.Lock()

    def __iter__(self) -> Any:
        return iter(list(self._open.values()))

    def __len__(self) -> int:
        return len(self._open)

    @property
    def degraded(self) -> bool:
        """Some open workspace's watcher is degraded."""
        return any(ws.degraded for ws in self._open.values())

    async def open(
        self, root: str | os.PathLike[str], trust: bool = False
    ) -> tuple[Workspace, bool]:
        """Open `root` (idempotent); returns the workspace and whether it was newly opened.

        Opening never trusts a root by itself; `trust` (serve's `--root`) also records the
        decision to trust it."""
        real = _checked_root(root)
        refusal = self.daemon.own_paths.refusal(real)
        if refusal is not None:
            raise InvalidPath(f"cannot open {root} as a workspace: {refusal}", path=str(root))
        if trust:
            await self.set_trust(str(real), True)
        ws_id = workspace_id_for(real)
        async with self._lock:
            existing = self._open.get(ws_id)
            if existing is not None:
                return existing, False
            clock, stored = await self.daemon.store.run(_load_or_create, ws_id, real)
            settings = await self.daemon.settings.get(ws_id)
            ws = Workspace(
                ws_id,
                real,
                settings,
                clock=clock,
                retained_from=clock,
                opened_clock=clock,
                own=self.daemon.own_paths.within(real),
            )
            ws.trust = decide(real, stored, self.daemon.config.trust.roots)
            self._open[ws_id] = ws
        logger.info(
            "workspace {} opened at {} (clock {}, {})",
            ws_id,
            real,
            clock,
            "trusted" if ws.trusted else "not trusted",
        )
        from aegisd.watcher import LiveWorkspace

        ws.live = LiveWorkspace(self.daemon, ws)
        await ws.live.load()
        await self.daemon.host.call_each_async(
            "aegisd_workspace_opened", block_on_error=False, daemon=self.daemon, workspace=ws
        )
        ws.live.start()
        return ws, True

    def hold_back(self, plugins: Collection[str]) -> None:
        """`plugins` just loaded: batches of the open workspaces pass them by until
        `introduce` has opened each workspace for them."""
        for ws in self._open.values():
            if ws.live is not None:
                ws.live.hold_back(plugins)

    async def introduce(self, plugins: Collection[str]) -> None:
        """Open every open workspace for `plugins`, loaded after it opened: their
        `aegisd_workspace_opened` now, then, queued behind the batch in progress (a first
        index may take minutes), one batch of what changed since the open, so none of them
        misses or doubles a change, and nothing waits for a batch in progress."""
        host = self.daemon.host
        for ws in list(self._open.values()):
            ws.settings = await self.daemon.settings.get(ws.id)  # now with their sections
            await host.call_each_async(
                "aegisd_workspace_opened",
                block_on_error=False,
                only=plugins,
                daemon=self.daemon,
                workspace=ws,
            )
            if ws.live is not None:
                await ws.live.catch_up(plugins)

    async def set_trust(self, target: str | None, trusted: bool) -> tuple[Path, Trust]:
        """Record the decision to trust (or not) a root and what is under it: an open
        workspace (id or root; None: the only one) or any absolute directory. Open workspaces
        it changes are told at once (`aegisd_workspace_trust_changed`). Returns the real root
        and its effective trust."""
        root = self._trust_target(target)
        stored = await self.daemon.store.run(_decide_trust, str(root), trusted)
        patterns = self.daemon.config.trust.roots
        for ws in list(self._open.values()):
            if ws.root != root and root not in ws.root.parents:
                continue
            now = decide(ws.root, await self.daemon.store.run(_stored_trust, ws.root), patterns)
            changed, ws.trust = now.trusted != ws.trusted, now
            if changed:
                logger.info(
                    "workspace {} is now {}", ws.id, "trusted" if now.trusted else "not trusted"
                )
                await self.daemon.host.call_each_async(
                    "aegisd_workspace_trust_changed",
                    block_on_error=False,
                    daemon=self.daemon,
                    workspace=ws,
                )
        return root, decide(root, stored, patterns)

    def _trust_target(self, target: str | None) -> Path:
        """An absolute directory as its real path; else the open workspace `target` names."""
        if target is not None and os.path.isabs(target):
            return _checked_root(target)
        return self.resolve(target).root

    def resolve(self, ref: str | None) -> Workspace:
        """The open workspace named by `ref` (id or root path), or the only one when omitted."""
        if ref is None:
            if len(self._open) == 1:
                return next(iter(self._open.values()))
            if not self._open:
                raise NotFound("no workspace is open; call workspace.open first")
            raise InvalidParams(
                "several workspaces are open; name one with 'workspace'",
                errors=[{"loc": ["params", "workspace"], "msg": "required", "type": "missing"}],
                workspaces=[ws.info()["root"] for ws in self._open.values()],
            )
        ws = self._open.get(ref)
        if ws is not None:
            return ws
        if os.path.isabs(ref):
            ws = self._open.get(workspace_id_for(Path(os.path.realpath(ref))))
            if ws is not None:
                return ws
        raise NotFound(f"workspace not open: {ref}", workspace=ref)

    async def close(self, ref: str | None) -> tuple[Workspace, list[str]]:
        """Close a workspace; returns it and what of its work did not stop (abandoned)."""
        ws = self.resolve(ref)
        async with self._lock:
            self._open.pop(ws.id, None)
        abandoned = await self._stop(ws)
        logger.info("workspace {} closed", ws.id)
        return ws, abandoned

    async def close_all(self, deadline: float | None = None) -> None:
        """Close every workspace (shutdown), all within `deadline` (`time.monotonic()`)."""
        closing = list(self._open.values())
        self._open.clear()
        for ws in closing:  # all at once: none goes on settling while another closes
            if ws.live is not None:
                ws.live.stop()
        for ws in closing:
            await self._stop(ws, deadline)

    async def _stop(self, ws: Workspace, deadline: float | None = None) -> list[str]:
        """Cancel the workspace's tasks and tell the plugins, each bounded by
        `close_timeout_s` (and all by `deadline`): a plugin whose work never gives control
        back (a loop that swallows cancellation) is abandoned, not waited for. Returns what
        was abandoned."""
        limit = self.daemon.config.close_timeout_s
        host = self.daemon.host
        if ws.live is not None:
            ws.live.stop()
        if deadline is not None:
            limit = max(LAST_MOMENT_S, min(limit, deadline - time.monotonic()))
        stuck = await cancel_within(list(ws.tasks), limit)
        ws.tasks.clear()
        abandoned = [
            host.runaways.add(task, f"workspace {ws.id}: {task.get_name()}") for task in stuck
        ]
        await host.call_each_async(
            "aegisd_workspace_closed",
            block_on_error=False,
            within_s=self.daemon.config.close_timeout_s,
            deadline=deadline,
            abandoned=abandoned,
            daemon=self.daemon,
            workspace=ws,
        )
        return abandoned

    async def reload_settings(self, ws: Workspace) -> None:
        """Settings changed: apply them (new exclusions are reconciled in the background)."""
        ws.settings = await self.daemon.settings.get(ws.id)
        if ws.live is not None:
            ws.track(asyncio.create_task(ws.live.settings_changed()))


def _checked_root(root: str | os.PathLike[str]) -> Path:
    raw = Path(root).expanduser()
    if not raw.is_absolute():
        # The daemon's working directory is not the caller's: resolving against it would open
        # the wrong directory. Say where it would have gone, and what to send instead.
        here = os.getcwd()
        raise InvalidPath(
            f"workspace root must be an absolute path: {root!r} would be resolved against the "
            f"daemon's working directory ({os.path.join(here, raw)}), not yours; send the "
            "absolute path (`aegisd call` resolves relative roots against your directory)",
            path=str(root),
            daemon_cwd=here,
        )
    real = Path(os.path.realpath(raw))
    if not real.exists():
        raise InvalidPath(f"workspace root does not exist: {root}", path=str(root))
    if not real.is_dir():
        raise InvalidPath(f"workspace root is not a directory: {root}", path=str(root))
    if not os.access(real, os.R_OK | os.X_OK):
        raise InvalidPath(f"workspace root is not readable: {root}", path=str(root))
    return real


def _load_or_create(ws_id: str, root: Path) -> tuple[int, dict[str, bool]]:
    """The workspace's clock (a new row: 0) and the trust decisions on its root and above."""
    now = now_iso()
    trust = stored_decisions(ancestry(root))
    row = WorkspaceRow.get_or_none(WorkspaceRow.id == ws_id)
    if row is None:
        WorkspaceRow.create(id=ws_id, root=str(root), created_at=now, clock=0, last_opened_at=now)
        return 0, trust
    WorkspaceRow.update(last_opened_at=now).where(WorkspaceRow.id == ws_id).execute()
    return int(row.clock), trust


def _stored_trust(root: Path) -> dict[str, bool]:
    return stored_decisions(ancestry(root))


def _decide_trust(root: str, trusted: bool) -> dict[str, bool]:
    """Store the decision on `root`; the decisions now on it and above."""
    store_decision(root, trusted)
    return stored_decisions(ancestry(Path(root)))
