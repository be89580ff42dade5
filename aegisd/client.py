"""A small synchronous JSON-RPC client over the Unix socket, standard library only.

Used by the CLI commands and the agent hook bridge, which must start fast: no aiohttp here.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import socket
from pathlib import Path
from typing import Any

_ids = itertools.count(1)


class DaemonUnavailable(Exception):
    """No daemon answers on the socket."""


class NoDaemon(DaemonUnavailable):
    """Nothing listens on the socket: no daemon runs there."""


class RpcCallError(Exception):
    """The daemon answered with a JSON-RPC error."""

    def __init__(self, error: dict[str, Any]) -> None:
        self.error = error
        self.code_name = str(error.get("data", {}).get("code", "UNKNOWN"))
        super().__init__(f"{self.code_name}: {error.get('message')}")


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = str(path)

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class Client:
    """Calls methods on the daemon behind `socket_path`."""

    def __init__(self, socket_path: Path, timeout: float = 30.0, client_name: str = "cli") -> None:
        self.socket_path = socket_path
        self.timeout = timeout
        self.client_name = client_name

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        conn = _UnixConnection(self.socket_path, self.timeout)
        headers = {"Content-Type": "application/json", "X-Aegisd-Client": self.client_name}
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise NoDaemon(f"no aegisd answers on {self.socket_path}") from exc
        except (ConnectionError, http.client.RemoteDisconnected, TimeoutError, OSError) as exc:
            raise DaemonUnavailable(f"aegisd on {self.socket_path} did not answer: {exc}") from exc
        finally:
            conn.close()

    def call(self, method: str, params: Any = None) -> Any:
        """Call `method`; returns its result or raises RpcCallError / DaemonUnavailable."""
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": next(_ids)}
        if params is not None:
            message["params"] = params
        status, body = self.request("POST", "/rpc", json.dumps(message).encode())
        try:
            answer = json.loads(body)
        except ValueError as exc:
            raise DaemonUnavailable(f"unexpected answer (HTTP {status}): {body[:200]!r}") from exc
        if "error" in answer:
            raise RpcCallError(answer["error"])
        return answer.get("result")


def default_client(
    socket_flag: str | os.PathLike[str] | None = None, timeout: float = 30.0
) -> Client:
    from aegisd.paths import resolve_socket

    return Client(resolve_socket(socket_flag), timeout=timeout)
