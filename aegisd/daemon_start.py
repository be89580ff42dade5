"""Finding or starting the daemon for a stdio client (`aegisd mcp`, `aegisd lsp`): stdlib only.

A daemon started here is detached (its own session, stdio away from the client's pipes) so it
outlives the client and serves every other client too. Its output goes to `daemon.log` in the
state dir, whose tail explains a failed start. Each client brings its own way of asking
whether a daemon answers (`answers`): the MCP server's HTTP call, the LSP server's WebSocket.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aegisd.paths import resolve_data_dir

START_TIMEOUT_S = 30.0
_POLL_S = 0.05
_LOG_TAIL_LINES = 15


class DaemonGone(Exception):
    """The daemon did not answer (not running, killed mid-call, or could not be started)."""


class RpcFailure(Exception):
    """The daemon answered with a JSON-RPC error."""

    def __init__(self, error: dict[str, Any]) -> None:
        self.error = error
        data = error.get("data")
        self.data: dict[str, Any] = data if isinstance(data, dict) else {}
        self.code_name = str(self.data.get("code", "INTERNAL_ERROR"))
        self.message = str(error.get("message", ""))
        super().__init__(f"{self.code_name}: {self.message}")


class DaemonStarter:
    """Starts `aegisd serve` on `socket` in the background and waits until it answers."""

    def __init__(self, socket: Path) -> None:
        self.socket = socket
        self._spawned: int | None = None

    async def ensure(self, answers: Callable[[], Awaitable[bool]]) -> None:
        """Return once `answers()` holds, starting a daemon if it does not yet."""
        self._reap()
        if await answers():
            return
        log_path = self._spawn()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            await asyncio.sleep(_POLL_S)
            if await answers():
                return
            status = self._reap()
            # A daemon that lost a start race exits 1 while the winner answers: ask once more.
            if status is not None and not await answers():
                raise DaemonGone(
                    f"aegisd serve exited with status {status}; {_tail(log_path)}".rstrip("; ")
                )
        raise DaemonGone(f"aegisd did not answer on {self.socket} within {START_TIMEOUT_S:g} s")

    def _spawn(self) -> Path:
        data_dir = resolve_data_dir()
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        log_path = data_dir / "daemon.log"
        # -P: the cwd (a project) must not shadow aegisd's own imports. setsid: a session of its
        # own, so the daemon outlives the client process and its client's signals.
        argv = [sys.executable, "-P", "-m", "aegisd", "serve", "--socket", str(self.socket)]
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, str(log_path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ]
        self._spawned = os.posix_spawn(
            sys.executable, argv, os.environ, file_actions=actions, setsid=True
        )
        return log_path

    def _reap(self) -> int | None:
        """The exit status of the daemon this process started, once it has exited (else None)."""
        if self._spawned is None:
            return None
        try:
            pid, status = os.waitpid(self._spawned, os.WNOHANG)
        except ChildProcessError:  # reaped elsewhere: its status is unknown
            self._spawned = None
            return None
        if pid == 0:
            return None
        self._spawned = None
        return os.waitstatus_to_exitcode(status)


def _tail(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return f"its log {path} ends with:\n" + "\n".join(lines[-_LOG_TAIL_LINES:])
