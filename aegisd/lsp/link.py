"""The language server's line to the daemon: one WebSocket for requests and pushed events.

One connection carries everything, so what the daemon keeps per connection (event
subscriptions, a buffer's overlay) lives exactly as long as this server's session. The daemon is
found, or started in the background, as `aegisd mcp` does (`aegisd.daemon_start`); it outlives
this process. The WebSocket is the stdlib one of `aegisd.lsp.websocket` (no aiohttp here). When
the connection drops, pending requests fail with `DaemonGone` and the next request connects
again (`on_connect` then restores what the session had set up).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from loguru import logger

from aegisd.daemon_start import DaemonGone, DaemonStarter, RpcFailure
from aegisd.lsp.websocket import WebSocket, WebSocketError

CLIENT_NAME = "lsp"
#: what the server follows: diagnostics, outlines and indexing progress
TOPICS = ["lint.updated", "index.updated", "progress"]
EventHandler = Callable[[str, dict[str, Any]], None]
CALL_TIMEOUT_S = 900.0  # lint.run may run pytest for minutes
CONNECT_TIMEOUT_S = 5.0


class DaemonSocket:
    """Requests to the daemon over its WebSocket, and the notifications it pushes."""

    def __init__(
        self,
        socket: Path,
        on_event: EventHandler,
        on_connect: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.socket = socket
        self._starter = DaemonStarter(socket)
        self._on_event = on_event
        self._on_connect = on_connect
        self._ws: WebSocket | None = None
        self._reader: asyncio.Task[None] | None = None
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()
        self.connections = 0  # how many times a connection was made (a reconnect adds one)
        self._lost = False  # the daemon dropped the connection: the next call says so once

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed

    async def connect(self) -> None:
        """Make sure a daemon answers on our WebSocket, subscribed to `TOPICS`."""
        async with self._lock:
            if self.connected:
                return
            await self._drop()
            await self._starter.ensure(self._open)
            assert self._ws is not None
            self._reader = asyncio.create_task(self._read(self._ws))
            self.connections += 1
            await self._send("events.subscribe", {"topics": TOPICS})
        if self._on_connect is not None:
            await self._on_connect()

    async def _open(self) -> bool:
        """Open the WebSocket: the daemon answers when the upgrade succeeds."""
        try:
            self._ws = await WebSocket.connect(
                self.socket, "/rpc/ws", {"X-Aegisd-Client": CLIENT_NAME}, CONNECT_TIMEOUT_S
            )
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return False
        return True

    async def call(
        self,
        method: str,
        params: Any = None,
        wait_s: float = CALL_TIMEOUT_S,
        reconnect: bool = True,
    ) -> Any:
        """The result of `method`; RpcFailure for a JSON-RPC error, DaemonGone when the daemon
        is not there: a lost connection fails the first call that may `reconnect` (a request of
        the editor's), and the next one connects again. Background work (`reconnect=False`)
        only fails."""
        if not reconnect and not self.connected:
            raise DaemonGone(f"aegisd on {self.socket} is not connected")
        if self._lost or (self._ws is not None and self._ws.closed):
            await self._drop()
            raise DaemonGone(f"aegisd on {self.socket} closed the connection")
        if not self.connected:
            await self.connect()
        return await self._send(method, params, wait_s)

    async def _send(self, method: str, params: Any, wait_s: float = CALL_TIMEOUT_S) -> Any:
        ws = self._ws
        if ws is None or ws.closed:
            raise DaemonGone(f"aegisd on {self.socket} closed the connection")
        request_id = next(self._ids)
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": request_id}
        if params is not None:
            message["params"] = params
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = answer
        try:
            await ws.send_text(json.dumps(message))
            async with asyncio.timeout(wait_s):
                response = await answer
        except TimeoutError as exc:
            raise DaemonGone(f"aegisd did not answer {method} within {wait_s:g} s") from exc
        except ConnectionError as exc:
            raise DaemonGone(f"aegisd on {self.socket} went away ({exc})") from exc
        finally:
            self._waiting.pop(request_id, None)
        if "error" in response:
            raise RpcFailure(response["error"])
        return response.get("result")

    async def _read(self, ws: WebSocket) -> None:
        try:
            while (text := await ws.receive()) is not None:
                self._dispatch(json.loads(text))
        except (WebSocketError, ConnectionError, ValueError) as exc:
            logger.warning("connection to aegisd lost: {}", exc)
        finally:
            self._lost = True
            gone = DaemonGone(f"aegisd on {self.socket} closed the connection")
            for waiter in self._waiting.values():
                if not waiter.done():
                    waiter.set_exception(gone)
            self._waiting.clear()

    def _dispatch(self, message: Any) -> None:
        if not isinstance(message, dict):
            return
        if "method" in message and isinstance(message.get("params"), dict):
            try:
                self._on_event(message["method"], message["params"])
            except Exception:  # one bad event must not stop the reader
                logger.exception("handling {} failed", message["method"])
            return
        waiter = self._waiting.get(message.get("id"))  # type: ignore[arg-type]
        if waiter is not None and not waiter.done():
            waiter.set_result(message)

    async def _drop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None
            self._lost = False  # we ended it
        if self._ws is not None:
            await self._ws.close()
            self._ws = None

    async def close(self) -> None:
        """Leave the daemon running; only this session's connection ends."""
        await self._drop()
