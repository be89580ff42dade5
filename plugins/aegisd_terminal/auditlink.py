"""A session's audit trail, through the audit plugin's methods (never its modules): the run a
session belongs to, and each shell command as a `command` event, its end as `command_result`
(exit code, duration, output tail; the audit plugin redacts and caps them). Without the audit
plugin sessions simply have no run.

Events are written in order by one task, so a burst of commands never blocks the output path.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from loguru import logger

from aegisd.rpc.errors import Conflict, MethodNotFound, NotFound, RpcError
from aegisd_terminal.marks import Finished

if TYPE_CHECKING:
    from aegisd.daemon import Daemon
    from aegisd_terminal.session import Session

TITLE_MAX = 200
TAIL_CHARS = 4096
ACTOR = "human"  # whoever types in a terminal; an agent CLI started in it logs its own runs


def _title(text: str) -> str:
    text = " ".join(text.split()) or "(command)"
    return text if len(text) <= TITLE_MAX else text[: TITLE_MAX - 1] + "…"


class AuditLink:
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self._queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._work(), name="terminal-audit")

    async def stop(self) -> None:
        """Write what is queued (bounded by the caller's deadline), then stop."""
        if self._task is None:
            return
        await self._queue.put(("", {}))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._task), 5)
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def run_for(self, workspace: str, run: int | None, name: str) -> tuple[int | None, bool]:
        """The run a new session logs to: `run` (must exist and be open), else a new one
        named after the command; (None, False) without the audit plugin. The bool says
        whether the run was started here (and so ends with the session)."""
        try:
            if run is not None:
                found = await self.daemon.dispatcher.call("audit.get_run", {"run": run})
                if found["status"] != "open":
                    raise Conflict(f"run {run} is {found['status']}, not open", run=run)
                return run, False
            params = {"name": _title(f"terminal: {name}"), "workspace": workspace, "actor": ACTOR}
            started = await self.daemon.dispatcher.call("audit.start_run", params)
        except MethodNotFound:
            if run is not None:
                raise NotFound(f"run {run}: the audit plugin is not loaded", run=run) from None
            return None, False
        return int(started["id"]), True

    def commands(self, session: Session, started: list[str], finished: list[Finished]) -> None:
        """Queue the events of commands that started and ended in one output frame."""
        run = session.info.run
        if run is None:
            return
        base = {"run": run, "actor": ACTOR, "ref": session.id}
        for command in started:
            event: dict[str, Any] = {
                "type": "command",
                "title": _title(command),
                "status": "running",
            }
            self._queue.put_nowait(("audit.log_event", {**base, **event,
                                    "payload": {"terminal": session.id, "command": command}}))  # fmt: skip
        for done in finished:
            status = "ok" if done.exit_code == 0 else "error"
            payload = {
                "terminal": session.id,
                "command": done.command,
                "exit_code": done.exit_code,
                "duration_ms": done.duration_ms,
            }
            event = {"type": "command_result", "title": _title(done.command), "status": status,
                     "detail": done.output_tail[-TAIL_CHARS:] or None, "payload": payload}  # fmt: skip
            self._queue.put_nowait(("audit.log_event", {**base, **event}))

    def end_run(self, run: int, session: Session) -> None:
        notes = f"terminal {session.id} ended: " + (
            f"exit code {session.exit_code}"
            if session.exit_signal is None
            else f"signal {session.exit_signal}"
        )
        self.end_run_notes(run, notes)

    def end_run_notes(self, run: int, notes: str) -> None:
        self._queue.put_nowait(("audit.end_run", {"run": run, "notes": notes}))

    async def _work(self) -> None:
        while True:
            method, params = await self._queue.get()
            if not method:
                return
            try:
                await self.daemon.dispatcher.call(method, params)
            except RpcError as exc:  # a run closed or pruned meanwhile: nothing to log into
                logger.debug("terminal: {} not recorded: {}", method, exc.message)
            except Exception:
                logger.opt(exception=True).error("terminal: {} failed", method)
