"""A minimal WebSocket client (RFC 6455) over the daemon's Unix socket, on asyncio streams.

The language server needs one connection to the daemon that carries requests, answers and
pushed events; aiohttp's client would add a tenth of a second to every editor's start and about
a fifth of the server's memory, so this speaks the small part of the protocol the daemon uses:
text frames (fragmented or not), ping/pong and close, without extensions.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import struct
from pathlib import Path

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CONTINUATION, CLOSE, PING, PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA
MAX_MESSAGE_BYTES = 256 * 1024 * 1024  # far above any answer; a broken length is refused
_STREAM_LIMIT = 1024 * 1024


class WebSocketError(ConnectionError):
    """The handshake failed or the peer broke the protocol."""


def _masked(data: bytes, key: bytes) -> bytes:
    if not data:
        return data
    size = len(data)
    mask = (key * (size // 4 + 1))[:size]
    return (int.from_bytes(data, "big") ^ int.from_bytes(mask, "big")).to_bytes(size, "big")


class WebSocket:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._send_lock = asyncio.Lock()
        self.closed = False

    @classmethod
    async def connect(
        cls, socket: Path, path: str, headers: dict[str, str], timeout_s: float
    ) -> WebSocket:
        """Open the connection and upgrade it; WebSocketError or OSError when that fails."""
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_unix_connection(str(socket), limit=_STREAM_LIMIT)
            try:
                key = base64.b64encode(os.urandom(16)).decode()
                lines = [
                    f"GET {path} HTTP/1.1",
                    "Host: localhost",
                    "Upgrade: websocket",
                    "Connection: Upgrade",
                    f"Sec-WebSocket-Key: {key}",
                    "Sec-WebSocket-Version: 13",
                    *(f"{name}: {value}" for name, value in headers.items()),
                ]
                writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
                await writer.drain()
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            except BaseException:
                writer.close()
                raise
        status, *fields = head.split("\r\n")
        accept = base64.b64encode(
            hashlib.sha1(key.encode() + _GUID, usedforsecurity=False).digest()
        ).decode()
        answered = {
            name.strip().lower(): value.strip()
            for name, _, value in (f.partition(":") for f in fields if f)
        }
        if status.split(" ")[1:2] != ["101"] or answered.get("sec-websocket-accept") != accept:
            writer.close()
            raise WebSocketError(f"the daemon refused the WebSocket: {status}")
        return cls(reader, writer)

    async def send_text(self, text: str) -> None:
        await self._send(TEXT, text.encode("utf-8", "surrogatepass"))

    async def _send(self, opcode: int, payload: bytes) -> None:
        if self.closed:
            raise ConnectionError("the WebSocket is closed")
        size = len(payload)
        if size < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
        elif size < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
        key = os.urandom(4)  # a client masks every frame
        async with self._send_lock:
            self._writer.write(header + key + _masked(payload, key))
            await self._writer.drain()

    async def receive(self) -> str | None:
        """The next text message; None once the connection is closed."""
        parts: list[bytes] = []
        while True:
            try:
                opcode, fin, payload = await self._frame()
            except (asyncio.IncompleteReadError, ConnectionError):
                await self.close()
                return None
            if opcode == CLOSE:
                await self.close()
                return None
            if opcode == PING:
                await self._send(PONG, payload)
            elif opcode in (TEXT, BINARY, CONTINUATION):
                parts.append(payload)
                if sum(map(len, parts)) > MAX_MESSAGE_BYTES:
                    raise WebSocketError("message over the size limit")
                if fin:
                    return b"".join(parts).decode("utf-8", "replace")

    async def _frame(self) -> tuple[int, bool, bytes]:
        first, second = await self._reader.readexactly(2)
        size = second & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", await self._reader.readexactly(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", await self._reader.readexactly(8))
        if size > MAX_MESSAGE_BYTES:
            raise WebSocketError("frame over the size limit")
        key = await self._reader.readexactly(4) if second & 0x80 else b""
        payload = await self._reader.readexactly(size)
        return first & 0x0F, bool(first & 0x80), _masked(payload, key) if key else payload

    async def close(self) -> None:
        if self.closed:
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            if not self._writer.is_closing():
                await self._send(CLOSE, struct.pack("!H", 1000))
        self.closed = True
        self._writer.close()
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self._writer.wait_closed()
