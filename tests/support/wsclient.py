"""A WebSocket JSON-RPC client for tests: requests, and the notifications pushed to it."""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path
from typing import Any

import aiohttp


class WsClient:
    def __init__(self, socket: Path, client: str = "test") -> None:
        self.socket = socket
        self.client = client
        self._ids = itertools.count(1)
        self.notifications: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._waiters: dict[int, asyncio.Future[dict[str, Any]]] = {}

    async def __aenter__(self) -> WsClient:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.UnixConnector(path=str(self.socket))
        )
        self.ws = await self._session.ws_connect(
            "http://localhost/rpc/ws", headers={"X-Aegisd-Client": self.client}
        )
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)
        await self.ws.close()
        await self._session.close()

    async def _read(self) -> None:
        async for message in self.ws:
            data = json.loads(message.data)
            if isinstance(data, dict) and "method" in data:
                await self.notifications.put(data)
            elif isinstance(data, dict) and data.get("id") in self._waiters:
                self._waiters.pop(data["id"]).set_result(data)

    async def call(self, method: str, params: Any = None) -> Any:
        req_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters[req_id] = future
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": req_id}
        if params is not None:
            message["params"] = params
        await self.ws.send_str(json.dumps(message))
        answer = await asyncio.wait_for(future, 30)
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer["result"]

    async def next(self, method: str, timeout: float = 15) -> dict[str, Any]:
        """The next pushed notification of `method` (others are skipped)."""
        async with asyncio.timeout(timeout):
            while True:
                note = await self.notifications.get()
                if note["method"] == method:
                    return note["params"]  # type: ignore[no-any-return]

    async def changes_until(self, predicate: Any, timeout: float = 20) -> dict[str, str]:
        """Collect files.changed notifications until `predicate(collected)` holds."""
        collected: dict[str, str] = {}
        async with asyncio.timeout(timeout):
            while not predicate(collected):
                params = await self.next("files.changed", timeout)
                for change in params["changes"]:
                    collected[change["path"]] = change["kind"]
        return collected
