"""The daemon's terminal sessions (in `daemon.state[TERMINALS]`): opening within the caps,
closing, ending with a workspace, its trust or the daemon, and recordings' retention."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from loguru import logger

from aegisd.daemon import StateKey
from aegisd.rpc.errors import Conflict, InvalidParams, InvalidPath, NotFound, Unavailable
from aegisd_terminal import recording, shellrc, spawn
from aegisd_terminal.auditlink import AuditLink
from aegisd_terminal.marks import MarkScanner
from aegisd_terminal.ring import Scrollback
from aegisd_terminal.session import Session, SessionInfo
from aegisd_terminal.settings import TerminalSettings

if TYPE_CHECKING:
    from aegisd.daemon import Daemon
    from aegisd.events import Subscriber
    from aegisd.workspace import Workspace

SECTION = "terminal"
#: exited sessions kept for late viewers (their scrollback and exit) until closed
KEEP_EXITED = 16
RECORDING_MAX_BYTES = 256 * 1024 * 1024
RETENTION_INTERVAL_S = 3600.0
#: environment of the daemon a session does not inherit (the daemon's own settings)
_DAEMON_ONLY = ("AEGISD_",)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Terminals:
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.config = daemon.config.terminal
        self.sessions: dict[str, Session] = {}
        self.audit = AuditLink(daemon)
        self.recordings_dir = daemon.config.data_path / recording.RECORDINGS_DIR
        self.writer: recording.RecordingWriter | None = None
        self.rc: Path | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._starting = 0
        self._retention: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.rc = await asyncio.to_thread(shellrc.write_rc, self.daemon.config.data_path)
        self.writer = recording.RecordingWriter()
        self.audit.start()
        self.daemon.memory.register(ScrollbackShare(self.sessions))
        self._retention = asyncio.create_task(self._retention_loop(), name="terminal-retention")

    async def stop(self) -> None:
        """End every session (their processes hung up, then killed), then the writers."""
        if self._retention is not None:
            self._retention.cancel()
        self.daemon.memory.forget(ScrollbackShare.name)
        await asyncio.gather(
            *(s.close(self.config.close_grace_s) for s in self.sessions.values()),
            return_exceptions=True,
        )
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.audit.stop()
        if self.writer is not None:
            await asyncio.to_thread(self.writer.stop)

    # -- sessions -------------------------------------------------------------------------------

    def get(self, session_id: str) -> Session:
        session = self.sessions.get(session_id)
        if session is None:
            raise NotFound(f"no terminal session {session_id}", id=session_id)
        return session

    def running(self) -> list[Session]:
        return [s for s in self.sessions.values() if s.running]

    async def open(
        self,
        ws: Workspace,
        *,
        cwd: str | None,
        argv: list[str] | None,
        cols: int,
        rows: int,
        env: dict[str, str],
        run: int | None,
        viewer: Subscriber | None,
    ) -> Session:
        if not ws.trusted:
            raise Conflict(
                f"workspace {ws.root} is not trusted: a terminal runs code "
                "(trust it with `aegisd trust` or workspace.trust)",
                workspace=ws.id,
                reason="untrusted",
            )
        if len(self.running()) + self._starting >= self.config.max_sessions:
            raise Unavailable(
                f"{self.config.max_sessions} terminal sessions are open (the daemon's "
                "terminal.max_sessions): close one first"
            )
        self._starting += 1  # counted from here: opens running side by side stay within the cap
        try:
            return await self._start(ws, cwd, argv, cols, rows, env, run, viewer)
        finally:
            self._starting -= 1

    async def _start(
        self,
        ws: Workspace,
        cwd: str | None,
        argv: list[str] | None,
        cols: int,
        rows: int,
        env: dict[str, str],
        run: int | None,
        viewer: Subscriber | None,
    ) -> Session:
        settings = cast(TerminalSettings, getattr(ws.settings, SECTION))
        directory = await self._directory(ws, cwd)
        session_id = f"term-{secrets.token_hex(6)}"
        session_env = {**self._environment(env), "AEGISD_TERMINAL": session_id}
        wanted = argv or [spawn.login_shell()]
        program = await asyncio.to_thread(spawn.find_program, wanted[0], session_env)
        if program is None:
            raise NotFound(f"program not found: {wanted[0]}", argv=wanted)
        command = [program, *wanted[1:]]
        integration = shellrc.integrated(command, session_env, self.rc)
        if not settings.shell_integration:
            integration = None
        run_id, own_run = await self.audit.run_for(ws.id, run, " ".join(wanted))
        try:
            argv, spawn_env = integration or (command, session_env)
            process, master = await spawn.spawn(argv, directory, spawn_env, cols, rows)
        except OSError as exc:
            if own_run and run_id is not None:
                self.audit.end_run_notes(run_id, f"terminal did not start: {exc.strerror}")
            raise Unavailable(f"cannot start {wanted[0]}: {exc.strerror}") from None
        info = SessionInfo(
            session_id, process.pid, wanted, directory, ws.id, run_id, cols, rows, _now(),
            integration is not None,
        )  # fmt: skip
        session = Session(
            info, process, master, Scrollback(settings.scrollback_bytes), self.daemon.events,
            self.config.output_bytes_per_s,
        )  # fmt: skip
        if settings.record and self.writer is not None:
            header = _header(info, session_env)
            path = self.recordings_dir / ws.id / f"{session_id}.cast"
            session.recording = self.writer.start(
                path, header, RECORDING_MAX_BYTES, settings.record_input
            )
        if integration is not None:
            session.marks = MarkScanner()
            session.on_commands = self.audit.commands
        if viewer is not None:
            session.attach(viewer, None)
        self.sessions[session_id] = session
        self._track(self._after_exit(session, own_run))
        logger.info("terminal {} started {} in {} (pid {})", session_id, wanted[0], directory,
                    process.pid)  # fmt: skip
        return session

    async def _directory(self, ws: Workspace, cwd: str | None) -> str:
        if cwd is None:
            return str(ws.root)
        rel = ws.relative(cwd)
        path = ws.root / rel
        if not await asyncio.to_thread(os.path.isdir, path):
            raise InvalidPath(f"not a directory: {cwd}", path=cwd)
        return str(path)

    def _environment(self, extra: dict[str, str]) -> dict[str, str]:
        for key, value in extra.items():
            if not key or "=" in key or "\0" in key or "\0" in value:
                raise InvalidParams(f"not a usable environment variable: {key!r}")
        env = {k: v for k, v in os.environ.items() if not k.startswith(_DAEMON_ONLY)}
        env.update(TERM="xterm-256color", COLORTERM="truecolor")
        env["AEGISD_SOCKET"] = str(self.daemon.config.socket_path)
        env.update(extra)
        return env

    async def _after_exit(self, session: Session, own_run: bool) -> None:
        """Once the program exits: its leftover jobs hung up, its own run ended, and only
        the latest exited sessions kept."""
        await session.finish(self.config.close_grace_s)
        if own_run and session.info.run is not None:
            self.audit.end_run(session.info.run, session)
        exited = [s for s in self.sessions.values() if not s.running]
        for old in exited[:-KEEP_EXITED]:
            self.sessions.pop(old.id, None)

    async def close(self, session_id: str) -> Session:
        session = self.get(session_id)
        await session.close(self.config.close_grace_s)
        self.sessions.pop(session_id, None)
        return session

    async def close_where(self, ws_id: str, why: str) -> None:
        """End the sessions of a workspace (closed, or no longer trusted)."""
        doomed = [s for s in self.sessions.values() if s.info.workspace == ws_id]
        if doomed:
            logger.info("terminal: ending {} sessions of {}: {}", len(doomed), ws_id, why)
        await asyncio.gather(*(self.close(s.id) for s in doomed), return_exceptions=True)

    def _track(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- recordings -----------------------------------------------------------------------------

    async def recording_text(self, session_id: str, max_bytes: int) -> tuple[Path, str]:
        """The session's recording so far (or whole, once it ended)."""
        session = self.get(session_id)
        if session.recording is None or self.writer is None:
            raise NotFound(f"terminal {session_id} is not recorded", id=session_id)
        await self.writer.sync()
        path = session.recording.path
        size = await asyncio.to_thread(lambda: path.stat().st_size)
        if size > max_bytes:
            raise TooLargeRecording(path, size, max_bytes)
        return path, await asyncio.to_thread(path.read_text, "utf-8", "surrogateescape")

    async def _retention_loop(self) -> None:
        while True:
            try:
                await self.prune()
            except Exception:
                logger.opt(exception=True).error("terminal: pruning recordings failed")
            await asyncio.sleep(RETENTION_INTERVAL_S)

    async def prune(self) -> list[Path]:
        """Delete recordings older than their workspace's `audit.retention_days`."""
        try:
            folders = await asyncio.to_thread(os.listdir, self.recordings_dir)
        except FileNotFoundError:
            return []
        cutoffs: dict[str, float] = {}
        for ws_id in folders:
            try:
                settings = await self.daemon.settings.get(ws_id)
            except Exception:
                settings = self.daemon.settings.defaults()
            days = getattr(getattr(settings, "audit", None), "retention_days", None)
            if days is not None:
                cutoffs[ws_id] = time.time() - days * 86400
        live = {s.recording.path for s in self.sessions.values() if s.recording and s.running}
        removed = await asyncio.to_thread(recording.prune, self.recordings_dir, cutoffs, live)
        if removed:
            logger.info("terminal: deleted {} recordings past their retention", len(removed))
        return removed


class ScrollbackShare:
    """The sessions' scrollback rings as one participant of the daemon's memory budget:
    under pressure exited sessions' rings go first, then running ones are cut evenly."""

    name, owner = "terminal.scrollback", "terminal"

    def __init__(self, sessions: dict[str, Session]) -> None:
        self.sessions = sessions

    @property
    def bytes(self) -> int:
        return sum(s.ring.bytes for s in list(self.sessions.values()))

    def shrink(self, target_bytes: int) -> int:
        sessions = list(self.sessions.values())
        freed = 0
        for session in sessions:
            if self.bytes - freed <= target_bytes:
                return freed
            if not session.running:
                freed += session.ring.trim(0)
        running = [s for s in sessions if s.running]
        if running and self.bytes > target_bytes:
            share = max(0, target_bytes) // len(running)
            freed += sum(s.ring.trim(share) for s in running)
        return freed


class TooLargeRecording(Exception):
    def __init__(self, path: Path, size: int, limit: int) -> None:
        self.path, self.size, self.limit = path, size, limit


def _header(info: SessionInfo, env: dict[str, str]) -> dict[str, object]:
    return {
        "version": 2,
        "width": info.cols,
        "height": info.rows,
        "timestamp": int(time.time()),
        "title": " ".join(info.argv),
        "env": {"SHELL": env.get("SHELL", info.argv[0]), "TERM": env["TERM"]},
    }


TERMINALS = StateKey("terminal", Terminals)


def get(daemon: Daemon) -> Terminals:
    terminals = daemon.state.get(TERMINALS)
    if terminals is None:
        raise Unavailable("the terminal plugin is not running")
    return terminals
