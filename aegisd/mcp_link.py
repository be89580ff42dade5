"""The MCP server's line to the daemon: JSON-RPC over the Unix socket, starting a daemon when
none answers (`aegisd.daemon_start`: detached, it outlives the MCP process)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import aiohttp

from aegisd.daemon_start import DaemonGone, DaemonStarter, RpcFailure
from aegisd.rpc.errors import ERRORS_BY_NAME, error_object

CLIENT_NAME = "mcp"
HEALTH_TIMEOUT_S = 5.0
CALL_TIMEOUT_S = 900.0  # lint.run may run pytest for minutes


class DaemonLink:
    """Calls methods on the daemon behind `socket`; starts one when asked and none answers."""

    def __init__(self, socket: Path) -> None:
        self.socket = socket
        self._session: aiohttp.ClientSession | None = None
        self._ids = itertools.count(1)
        self._starter = DaemonStarter(socket)

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
        await self._starter.ensure(self.answers)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def local_failure(code_name: str, message: str, **details: Any) -> RpcFailure:
    """A failure found by the MCP server itself, in the daemon's error shape."""
    exc = ERRORS_BY_NAME[code_name](message, **details)
    return RpcFailure(error_object(exc, method=None, request_id="mcp"))


__all__ = ["DaemonGone", "DaemonLink", "RpcFailure", "local_failure"]
