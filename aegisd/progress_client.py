"""`aegisd call --progress`: the call over the WebSocket, drawing `progress` notifications.

Progress reported by the called method reaches the calling connection without a
subscription, so the bar shows exactly this call's work.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any, TextIO

import aiohttp

BAR_WIDTH = 30


def render(params: dict[str, Any]) -> str:
    done, total = params.get("done", 0), params.get("total")
    title = str(params.get("title", ""))[:40]
    if not total:
        return f"\r{title} … {done}"
    filled = int(BAR_WIDTH * min(done, total) / total)
    bar = "#" * filled + "." * (BAR_WIDTH - filled)
    return f"\r{title} [{bar}] {done}/{total}"


async def call_with_progress(
    socket: Path, method: str, params: Any, wait_s: float, out: TextIO = sys.stderr
) -> dict[str, Any]:
    """Send one request over /rpc/ws; returns the response object (result or error)."""
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": 1}
    if params is not None:
        message["params"] = params
    connector = aiohttp.UnixConnector(path=str(socket))
    drew = False
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.ws_connect("http://localhost/rpc/ws", headers={"X-Aegisd-Client": "cli"}) as ws,
        asyncio.timeout(wait_s),
    ):
        await ws.send_str(json.dumps(message))
        async for frame in ws:
            data = json.loads(frame.data)
            if isinstance(data, dict) and data.get("method") == "progress":
                out.write(render(data["params"]))
                out.flush()
                drew = True
            elif isinstance(data, dict) and data.get("id") == 1:
                if drew:
                    out.write("\n")
                return data
    raise ConnectionError("the daemon closed the connection before answering")
