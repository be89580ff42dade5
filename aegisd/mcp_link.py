"""The MCP server's line to the daemon: JSON-RPC over the Unix socket, and starting a daemon.

A daemon started here is detached (its own session, stdio away from the MCP pipes) so it outlives
the MCP process and serves every other client too. Its output goes to `daemon.log` in the state
dir, whose tail explains a failed start.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from aegisd.paths import resolve_data_dir
from aegisd.rpc.errors import ERRORS_BY_NAME, error_object

CLIENT_NAME = "mcp"
HEALTH_TIMEOUT_S = 5.0
START_TIMEOUT_S = 30.0
CALL_TIMEOUT_S = 900.0  # lint.run may run pytest for minutes
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


class DaemonLink:
    """Calls methods on the daemon behind `socket`; starts one when asked and none answers."""

    def __init__(self, socket: Path) -> None:
        self.socket = socket
        self._session: aiohttp.ClientSession | None = None
        self._ids = itertools.count(1)
        self._spawned: int | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.UnixConnector(path=str(self.socket)),
                headers={"X-Aegisd-Client": CLIENT_NAME},
            )
        return self._session

    async def call(self, method: str, params: Any = None, wait_s: float = CALL_TIMEOUT_S) -> Any:
        """The result of `method`; raises RpcFailure for a JSON-RPC error, DaemonGone otherwise."""
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": next(self._ids)}
        if params is not None:
            message["params"] = params
        try:
            async with self._http().post(
                "http://localhost/rpc",
                json=message,
                timeout=aiohttp.ClientTimeout(total=wait_s),
            ) as response:
                answer = await response.json(content_type=None)
        except TimeoutError as exc:
            raise DaemonGone(f"aegisd on {self.socket} did not answer within {wait_s:g} s") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise DaemonGone(f"aegisd on {self.socket} is not answering ({exc})") from exc
        except ValueError as exc:
            raise DaemonGone(f"aegisd on {self.socket} sent a malformed answer ({exc})") from exc
        if not isinstance(answer, dict):
            raise DaemonGone(f"aegisd on {self.socket} sent an unexpected answer")
        if "error" in answer:
            raise RpcFailure(answer["error"])
        return answer.get("result")

    async def answers(self) -> bool:
        try:
            await self.call("daemon.health", wait_s=HEALTH_TIMEOUT_S)
        except (DaemonGone, RpcFailure):
            return False
        return True

    async def ensure_daemon(self) -> None:
        """Return once a daemon answers, starting one in the background if none does."""
        self._reap()
        if await self.answers():
            return
        log_path = self._spawn()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            await asyncio.sleep(_POLL_S)
            if await self.answers():
                return
            status = self._reap()
            # A daemon that lost a start race exits 1 while the winner answers: ask once more.
            if status is not None and not await self.answers():
                raise DaemonGone(
                    f"aegisd serve exited with status {status}; {_tail(log_path)}".rstrip("; ")
                )
        raise DaemonGone(f"aegisd did not answer on {self.socket} within {START_TIMEOUT_S:g} s")

    def _spawn(self) -> Path:
        data_dir = resolve_data_dir()
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        log_path = data_dir / "daemon.log"
        # -P: the cwd (a project) must not shadow aegisd's own imports. setsid: a session of its
        # own, so the daemon outlives the MCP process and its client's signals.
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

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def local_failure(code_name: str, message: str, **details: Any) -> RpcFailure:
    """A failure found by the MCP server itself, in the daemon's error shape."""
    exc = ERRORS_BY_NAME[code_name](message, **details)
    return RpcFailure(error_object(exc, method=None, request_id="mcp"))


def _tail(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return f"its log {path} ends with:\n" + "\n".join(lines[-_LOG_TAIL_LINES:])
