"""Helpers for the terminal tests: a viewer's output per session over a real WebSocket."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from aegisd_terminal.marks import plain_text
from wsclient import WsClient


class Viewer:
    """A WebSocket client that keeps every terminal notification it is pushed."""

    def __init__(self, ws: WsClient) -> None:
        self.ws = ws
        self.output: dict[str, str] = {}
        self.seqs: dict[str, list[int]] = {}
        self.exits: dict[str, dict[str, Any]] = {}
        self.other: list[dict[str, Any]] = []

    def _take(self, note: dict[str, Any]) -> None:
        params = note["params"]
        if note["method"] == "terminal.output":
            self.output[params["id"]] = self.output.get(params["id"], "") + params["data"]
            self.seqs.setdefault(params["id"], []).append(params["seq"])
        elif note["method"] == "terminal.exit":
            self.exits[params["id"]] = params
        else:
            self.other.append(note)

    async def until(self, session: str, pattern: str, timeout: float = 20) -> re.Match[str]:
        """Wait until the session's output so far, escape sequences removed, matches
        `pattern` (multiline)."""
        regex = re.compile(pattern, re.MULTILINE)
        async with asyncio.timeout(timeout):
            while True:
                found = regex.search(plain_text(self.output.get(session, "")))
                if found:
                    return found
                self._take(await self.ws.notifications.get())

    async def exit_of(self, session: str, timeout: float = 20) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while session not in self.exits:
                self._take(await self.ws.notifications.get())
        return self.exits[session]

    def drain(self) -> None:
        while not self.ws.notifications.empty():
            self._take(self.ws.notifications.get_nowait())
