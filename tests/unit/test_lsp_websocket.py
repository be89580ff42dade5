"""The language server's stdlib WebSocket client against aiohttp's server on a Unix socket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import WSMsgType, web

from aegisd.lsp.websocket import WebSocket, WebSocketError


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Path]:
    async def echo(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        await ws.ping(b"are you there")
        async for message in ws:
            if message.type is WSMsgType.TEXT:
                if message.data == "bye":
                    await ws.close()
                    break
                await ws.send_str(request.headers["X-Who"] + ":" + message.data)
        return ws

    app = web.Application()
    app.router.add_get("/ws", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    path = tmp_path / "ws.sock"
    await web.UnixSite(runner, str(path)).start()
    yield path
    await runner.cleanup()


async def test_messages_of_every_length_class_go_both_ways(server: Path) -> None:
    ws = await WebSocket.connect(server, "/ws", {"X-Who": "lsp"}, 5)
    for size in (0, 125, 126, 65_535, 65_536, 3_000_000):  # 7-bit, 16-bit and 64-bit lengths
        text = "é" * (size // 2) + "x" * (size % 2)
        await ws.send_text(text)
        assert await ws.receive() == "lsp:" + text  # the server's ping was answered meanwhile
    await ws.close()
    assert ws.closed


async def test_the_servers_close_ends_receiving(server: Path) -> None:
    ws = await WebSocket.connect(server, "/ws", {"X-Who": "lsp"}, 5)
    await ws.send_text("bye")
    assert await ws.receive() is None
    assert ws.closed
    with pytest.raises(ConnectionError):
        await ws.send_text("late")


async def test_a_refused_upgrade_is_an_error(server: Path) -> None:
    with pytest.raises(WebSocketError):
        await WebSocket.connect(server, "/nope", {"X-Who": "lsp"}, 5)
