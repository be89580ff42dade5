"""The audit trail's per-daemon state: the group-commit writer, runs, capture, retention.

Every event, whichever way it comes (RPC, `audit exec`, the agent hook, file watching), is
prepared (redacted, capped) then stored through the writer, and published as `audit.event`
once committed. Automatic capture keeps, per open workspace, the open runs that capture and a
queue of jobs (snapshot at run start, change batches) worked off in order by one task.
"""

from __future__ import annotations

import asyncio
import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from loguru import logger

from aegisd.daemon import StateKey
from aegisd.filestate import SkippedChange
from aegisd.rpc.errors import Conflict, InvalidParams, InvalidPath, NotFound
from aegisd_audit import lintlink, store
from aegisd_audit.capture import capture_batch, event_fields, preimage_key, snapshot
from aegisd_audit.diffing import DIFF_MAX_BYTES, PreimageStore
from aegisd_audit.events import prepare_event
from aegisd_audit.limits import DETAIL_MAX_BYTES, PayloadTooDeepError, TitleTooLongError
from aegisd_audit.redact import redact_optional, redact_text
from aegisd_audit.settings import AuditSettings
from aegisd_audit.writer import GroupWriter

if TYPE_CHECKING:
    from aegisd.daemon import Daemon
    from aegisd.workspace import ChangeBatch, Workspace

SECTION = "audit"  # the settings section
PREIMAGE_DIR = "audit-preimages"
RETENTION_INTERVAL_S = 3600.0


def new_event(
    type: str,
    title: str,
    *,
    detail: str | None = None,
    payload: dict[str, Any] | None = None,
    actor: str = "agent",
    phase: str | None = None,
    status: str = "ok",
    ref: str | None = None,
    created_at: str | None = None,
    truncated: bool = False,
    detail_max_bytes: int = DETAIL_MAX_BYTES,
) -> store.NewEvent:
    """An event ready to store: title and payload depth checked (INVALID_PARAMS over 200
    chars or 64 levels), everything redacted, detail and payload capped (`truncated` says
    whether anything was cut)."""
    try:
        ready = prepare_event(
            title, detail, payload, type=type, ref=ref, detail_max_bytes=detail_max_bytes
        )
    except TitleTooLongError as exc:
        raise InvalidParams(
            str(exc), errors=[{"loc": ["params", "title"], "msg": str(exc), "type": "too_long"}]
        ) from None
    except PayloadTooDeepError as exc:
        raise InvalidParams(
            str(exc), errors=[{"loc": ["params", "payload"], "msg": str(exc), "type": "too_deep"}]
        ) from None
    return store.NewEvent(
        type=ready.type,
        title=ready.title,
        detail=ready.detail,
        actor=actor,
        phase=phase,
        status=status,
        ref=ready.ref,
        payload=ready.payload,
        truncated=ready.truncated or truncated,
        created_at=created_at,
    )


def new_run(
    name: str,
    actor: str,
    workspace_id: str | None,
    root: str | None,
    external_id: str | None,
    notes: str | None,
    capture: bool,
    created_at: str | None = None,
) -> store.NewRun:
    """A run ready to store (or to look up by `external_id`): every text field redacted."""
    return store.NewRun(
        name=redact_text(name),
        actor=actor,
        workspace_id=workspace_id,
        root=redact_optional(root),
        external_id=redact_optional(external_id),
        notes=redact_optional(notes),
        capture=capture,
        created_at=created_at,
    )


def iso(moment: datetime) -> str:
    """`moment` as the store writes times: UTC, milliseconds, "Z"."""
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


@dataclass
class _Snapshot:
    done: asyncio.Future[None]


@dataclass
class _Batch:
    changes: dict[str, str]
    #: None: arrived before the workspace's open runs were adopted; decided when worked off
    runs: list[int] | None
    skipped: dict[str, SkippedChange] = field(default_factory=dict)


@dataclass
class _Barrier:
    done: asyncio.Future[None]


_Job = _Snapshot | _Batch | _Barrier


@dataclass
class Capture:
    """One open workspace: its open runs (id → captures) and its queue of capture jobs."""

    runs: dict[int, bool] = field(default_factory=dict)
    jobs: asyncio.Queue[_Job] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None
    adopted: bool = False
    #: the workspace had no stored file state: its first reconciliation lists every file as
    #: created, which is a baseline, not something a run did
    baseline: bool = False

    def capturing(self) -> list[int]:
        return [run_id for run_id, on in self.runs.items() if on]

    async def wait_for(self, job: _Snapshot | _Barrier) -> None:
        """Queue `job` and wait until the jobs before it are done."""
        if self.task is None or self.task.done():
            return
        self.jobs.put_nowait(job)
        await job.done


class Audit:
    """The audit trail of one daemon (in `daemon.state[AUDIT]`)."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.writer = GroupWriter(daemon.store)
        self.captures: dict[str, Capture] = {}
        self._preimages: PreimageStore | None = None
        self._preimages_lock = threading.Lock()
        self._retention: asyncio.Task[None] | None = None

    # -- lifetime -------------------------------------------------------------------------------

    def start(self) -> None:
        """Start writing, and pruning now and then."""
        self.writer.start()
        self._retention = asyncio.create_task(self._retention_loop(), name="audit-retention")

    async def stop(self) -> None:
        """Stop pruning; commit the writes still queued."""
        if self._retention is not None:
            self._retention.cancel()
            await asyncio.gather(self._retention, return_exceptions=True)
        await self.writer.close()

    def preimages(self) -> PreimageStore:
        """The daemon's pre-image store, created on first use (call from a thread: it does I/O)."""
        with self._preimages_lock:
            if self._preimages is None:
                directory = self.daemon.config.data_path / PREIMAGE_DIR
                self._preimages = PreimageStore(directory)
            return self._preimages

    # -- runs and events ------------------------------------------------------------------------

    def resolve(self, ref: str | None) -> tuple[Workspace | None, str | None]:
        """The open workspace and directory a run is for. `ref` is an open workspace's id or
        an absolute path (the workspace is the open one containing it, if any); omitted, the
        only open workspace, or none."""
        open_ws = list(self.daemon.workspaces)
        if ref is None:
            return (open_ws[0], str(open_ws[0].root)) if len(open_ws) == 1 else (None, None)
        for ws in open_ws:
            if ws.id == ref:
                return ws, str(ws.root)
        if not os.path.isabs(ref):
            raise InvalidPath(f"not an open workspace id nor an absolute path: {ref}", path=ref)
        real = os.path.realpath(ref)
        inside = [ws for ws in open_ws if real == str(ws.root) or real.startswith(f"{ws.root}/")]
        best = max(inside, key=lambda ws: len(str(ws.root)), default=None)
        return best, real

    async def start_run(
        self,
        name: str,
        actor: str,
        workspace: str | None,
        external_id: str | None,
        notes: str | None,
        capture: bool | None,
    ) -> tuple[dict[str, Any], bool]:
        """Create a run, or find the open one with `external_id`; returns it and whether it
        was created. A new run that captures starts capturing before this returns."""
        ws, root = self.resolve(workspace)
        if capture is None:
            capture = ws is None or _settings(ws).capture
        wanted = new_run(name, actor, ws.id if ws else None, root, external_id, notes, capture)
        run, created = await self.writer.write(store.start_run, wanted)
        if created and ws is not None:
            await self._track(ws, run["id"], capture)
            issues = await lintlink.current_issues(self.daemon, ws)
            if issues is not None:
                await self.writer.write(store.set_lint, run["id"], False, issues)
        return run, created

    async def log(self, run_id: int, event: store.NewEvent) -> dict[str, Any]:
        """Store `event` in open run `run_id` and publish it once committed."""
        stored, ws_id = await self.writer.write(store.insert_event, run_id, event)
        ws = self._open_workspace(ws_id)
        self.daemon.events.publish(
            "audit.event",
            {"run": run_id, "workspace": ws_id, "event": stored},
            workspace=ws_id,
            clock=ws.clock if ws is not None else None,
        )
        return stored

    async def end_run(self, run_id: int, status: str, notes: str | None) -> dict[str, Any]:
        """Close a run, after capturing the changes the watcher has already seen."""
        run = await self.daemon.store.run(store.get_run, self.daemon.store.db, run_id)
        ws = self._open_workspace(run["workspace"])
        capture = self.captures.get(ws.id) if ws is not None else None
        if ws is not None and capture is not None and capture.runs.get(run_id):
            if ws.live is not None:
                await ws.live.flush()
            await capture.wait_for(_Barrier(asyncio.get_running_loop().create_future()))
        run = await self.writer.write(
            store.end_run, run_id, redact_text(status), redact_optional(notes)
        )
        if ws is not None and capture is not None:
            capture.runs.pop(run_id, None)
            if not capture.capturing() and self._preimages is not None:
                await asyncio.to_thread(self._preimages.forget_prefix, preimage_key(ws.id, ""))
            issues = await lintlink.current_issues(self.daemon, ws)
            if issues is not None:
                await self.writer.write(store.set_lint, run_id, True, issues)
        return run

    def _open_workspace(self, ws_id: str | None) -> Workspace | None:
        return next((ws for ws in self.daemon.workspaces if ws.id == ws_id), None)

    # -- capture --------------------------------------------------------------------------------

    async def workspace_opened(self, ws: Workspace) -> None:
        """Start the workspace's capture task, which first adopts the open runs started in
        this directory (not awaited here: opening waits for no database work of ours)."""
        capture = Capture(baseline=ws.live is not None and not ws.live.known)
        self.captures[ws.id] = capture
        capture.task = asyncio.create_task(self._work(ws, capture), name=f"audit-{ws.id}")
        ws.tasks.append(capture.task)

    async def workspace_closed(self, ws: Workspace) -> None:
        if self.captures.pop(ws.id, None) is not None and self._preimages is not None:
            await asyncio.to_thread(self._preimages.forget_prefix, preimage_key(ws.id, ""))

    def files_changed(self, ws: Workspace, batch: ChangeBatch) -> None:
        """Queue the batch for the runs capturing now (quick: the diffing happens later)."""
        capture = self.captures.get(ws.id)
        if capture is None or not _settings(ws).capture:
            return
        if capture.baseline and batch.source == "reconcile":
            return
        runs = capture.capturing() if capture.adopted else None
        if runs is None or runs:
            capture.jobs.put_nowait(_Batch(dict(batch.changes), runs, dict(batch.skipped)))

    async def _track(self, ws: Workspace, run_id: int, capture_on: bool) -> None:
        capture = self.captures.get(ws.id)
        if capture is None:
            return
        first = not capture.capturing()
        capture.runs[run_id] = capture_on
        if capture_on and first:
            await capture.wait_for(_Snapshot(asyncio.get_running_loop().create_future()))

    async def _work(self, ws: Workspace, capture: Capture) -> None:
        """Work off the workspace's capture jobs in order (the task lives in `ws.tasks`)."""
        try:
            capture.runs.update(await self.writer.write(store.adopt_runs, ws.id, str(ws.root)))
        except Exception:  # runs stay unadopted; new ones are still tracked
            logger.opt(exception=True).error("audit: adopting open runs of {} failed", ws.id)
        capture.adopted = True
        if ws.live is not None:
            await ws.live.ready.wait()
        capture.baseline = False  # the first reconciliation is done
        if capture.capturing():  # runs adopted on open: seed their pre-images now
            await self._snapshot(ws)
        try:
            while True:
                job = await capture.jobs.get()
                try:
                    if isinstance(job, _Batch):
                        await self._capture(ws, job)
                    elif isinstance(job, _Snapshot):
                        await self._snapshot(ws)
                except Exception:
                    logger.opt(exception=True).error("audit: capture failed in {}", ws.id)
                finally:
                    _release(job)
        finally:  # the workspace closed: nobody may wait for a job forever
            while not capture.jobs.empty():
                _release(capture.jobs.get_nowait())

    async def _snapshot(self, ws: Workspace) -> None:
        known = ws.live.known if ws.live is not None else {}
        files = [(path, st[0]) for path, st in sorted(known.items())]
        count = await asyncio.to_thread(self._snapshot_sync, ws.root, ws.id, files)
        logger.debug("audit: remembered {} files of {} for capture", count, ws.id)

    def _snapshot_sync(self, root: Path, ws_id: str, files: list[tuple[str, int]]) -> int:
        preimages = self.preimages()
        return snapshot(root, ws_id, files, preimages, preimages.memory_max_bytes)

    async def _capture(self, ws: Workspace, job: _Batch) -> None:
        capture = self.captures.get(ws.id)
        runs = job.runs if job.runs is not None else capture.capturing() if capture else []
        if not runs:
            return
        events = await asyncio.to_thread(
            self._capture_sync, ws.root, ws.id, job.changes, job.skipped
        )
        writes = [self.log(run_id, event) for event in events for run_id in runs]
        for outcome in await asyncio.gather(*writes, return_exceptions=True):
            if isinstance(outcome, Exception) and not isinstance(outcome, Conflict | NotFound):
                logger.opt(exception=outcome).error("audit: a file change was not stored")

    def _capture_sync(
        self, root: Path, ws_id: str, changes: dict[str, str], skipped: dict[str, SkippedChange]
    ) -> list[store.NewEvent]:
        captured = capture_batch(root, ws_id, changes, self.preimages(), skipped)
        return [
            new_event(**event_fields(c), detail_max_bytes=DIFF_MAX_BYTES)
            for c in sorted(captured, key=lambda c: c.change.path)
        ]

    # -- retention ------------------------------------------------------------------------------

    async def _retention_loop(self) -> None:
        while True:
            try:
                await self.prune()
            except Exception:
                logger.opt(exception=True).error("audit: pruning old runs failed")
            await asyncio.sleep(RETENTION_INTERVAL_S)

    async def prune(self) -> list[int]:
        """Delete the runs idle for longer than their workspace's `audit.retention_days`."""
        pruned: list[int] = []
        now = datetime.now(UTC)
        for ws_id in await self.daemon.store.run(store.run_workspaces, self.daemon.store.db):
            if ws_id is None:
                settings = self.daemon.settings.defaults()
            else:
                settings = await self.daemon.settings.get(ws_id)
            days = cast(AuditSettings, getattr(settings, SECTION)).retention_days
            if days is None:
                continue
            cutoff = iso(now - timedelta(days=days))
            pruned += await self.writer.write(store.prune, ws_id, cutoff)
        for capture in self.captures.values():
            for run_id in pruned:
                capture.runs.pop(run_id, None)
        if pruned:
            logger.info("audit: pruned {} runs past their retention", len(pruned))
        return pruned


def _release(job: _Job) -> None:
    if isinstance(job, _Snapshot | _Barrier) and not job.done.done():
        job.done.set_result(None)


def _settings(ws: Workspace) -> AuditSettings:
    return cast(AuditSettings, getattr(ws.settings, SECTION))


AUDIT = StateKey("audit", Audit)


def get(daemon: Daemon) -> Audit:
    return daemon.state[AUDIT]
