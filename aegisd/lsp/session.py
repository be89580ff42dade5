"""One editor's session with the daemon: its folders, its open documents, and the daemon's
answers about them.

Folders are opened as workspaces without trusting them (`workspace.open` never trusts). Closing
a folder or the session closes no workspace: other editors and agents share it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from loguru import logger

from aegisd.daemon_start import DaemonGone, RpcFailure
from aegisd.lsp.folders import Folders, Place, uri_to_path
from aegisd.lsp.link import DaemonSocket

#: navigation (index.definition, index.references, graph.calls) may not be served by this daemon
OPTIONAL = frozenset({"METHOD_NOT_FOUND", "UNSUPPORTED"})
#: a rate-limited call waits (at most this long each time) and tries again, this many times
RATE_LIMIT_RETRIES = 3
#: similarity.check's languages by file extension, for a buffer checked as code
LANGUAGES = {"py": "python", "pyi": "python", "js": "javascript", "mjs": "javascript",
             "jsx": "javascript", "ts": "typescript", "tsx": "tsx", "c": "c", "h": "c",
             "cc": "cpp", "cpp": "cpp", "cxx": "cpp", "hpp": "cpp", "hh": "cpp"}  # fmt: skip
MAX_RETRY_WAIT_MS = 1000


class Session:
    def __init__(
        self,
        socket: Path,
        on_event: Callable[[str, dict[str, Any]], None],
        on_connect: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.folders = Folders()
        self.link = DaemonSocket(socket, on_event, on_connect=self._connected)
        self.missing: set[str] = set()  # methods the daemon answered METHOD_NOT_FOUND
        self._on_connect = on_connect
        self._overlaid: dict[Place, int] = {}  # overlays laid on this connection: text hash

    async def _connected(self) -> None:
        """After each (re)connection: open every folder of the session as a workspace (the
        daemon may be a new one), then let the server refresh what it shows."""
        self.missing.clear()
        self._overlaid.clear()  # they belonged to the old connection
        for folder in self.folders.requested():
            await self.open_folder(folder)
        if self._on_connect is not None:
            await self._on_connect()

    async def open_folder(self, folder: str) -> None:
        self.folders.add(folder)
        if not self.link.connected:
            return  # opened on connection
        try:
            answer = await self.link.call("workspace.open", {"root": folder})
        except RpcFailure as exc:
            logger.warning("cannot open {} as a workspace: {}", folder, exc)
            return
        info = answer["workspace"]
        self.folders.opened(folder, info["root"], info["id"])

    def place(self, uri: str) -> Place | None:
        return self.folders.locate(uri)

    async def call(
        self, place: Place | str, method: str, params: dict[str, Any], reconnect: bool = True
    ) -> Any:
        """`method` in the workspace of `place` (a Place or a root), opening it again when the
        daemon forgot it (restarted, or someone closed it), and waiting out a rate limit."""
        root = place if isinstance(place, str) else place.root
        params = {"workspace": root, **params}
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            try:
                return await self.link.call(method, params, reconnect=reconnect)
            except RpcFailure as exc:
                if exc.code_name == "RATE_LIMITED" and attempt < RATE_LIMIT_RETRIES:
                    wait_ms = min(int(exc.data.get("retry_after_ms") or 50), MAX_RETRY_WAIT_MS)
                    await asyncio.sleep(wait_ms / 1000)
                    continue
                if not (exc.code_name == "NOT_FOUND" and "workspace" in exc.message):
                    raise
            await self.link.call("workspace.open", {"root": root}, reconnect=reconnect)
        return await self.link.call(method, params, reconnect=reconnect)

    async def optional(
        self, place: Place, method: str, params: dict[str, Any], reconnect: bool = True
    ) -> Any | None:
        """`call`, or None when the daemon does not serve `method` (or not for this file)."""
        if method in self.missing:
            return None
        try:
            return await self.call(place, method, params, reconnect)
        except RpcFailure as exc:
            if exc.code_name == "METHOD_NOT_FOUND":
                self.missing.add(method)
            if exc.code_name in OPTIONAL:
                return None
            raise

    async def sync_buffer(self, place: Place, text: str | None, reconnect: bool = True) -> None:
        """Make the daemon see `text` at `place` on this connection (`workspace.overlay`), or
        the disk when `text` is None (the buffer is saved, closed or unchanged)."""
        if text is None:
            if self._overlaid.pop(place, None) is not None:
                await self.call(place, "workspace.overlay", {"path": place.path}, reconnect)
            return
        digest = hash(text)
        if self._overlaid.get(place) == digest and self.link.connected:
            return
        self._overlaid.pop(place, None)  # a refused buffer leaves no overlay behind
        await self.call(place, "workspace.overlay", {"path": place.path, "text": text}, reconnect)
        self._overlaid[place] = digest

    async def issues(self, place: Place, reconnect: bool = True) -> list[dict[str, Any]]:
        report = await self.call(place, "lint.report", {"path": place.path}, reconnect)
        return [issue for entry in report.get("files", []) for issue in entry.get("issues", [])]

    async def clones(
        self, place: Place, reconnect: bool = True, text: str | None = None
    ) -> list[dict[str, Any]]:
        """The file's clones (similarity.check), or those of its unsaved `text` (the file's
        own indexed version left out: it is the buffer's past); none when it cannot be
        checked."""
        source: dict[str, Any] = {"path": place.path} if text is None else {"code": text}
        if text is not None and "." in place.path:
            source["language"] = LANGUAGES.get(place.path.rsplit(".", 1)[1], "python")
        try:
            answer = await self.optional(place, "similarity.check", source, reconnect)
        except RpcFailure as exc:  # too large, binary, unknown language: no clones to show
            logger.debug("no clones for {}: {}", place.path, exc)
            return []
        clones = list(answer.get("clones", [])) if answer else []
        if text is not None:
            clones = [c for c in clones if (c.get("a") or {}).get("path") != place.path]
        return clones

    async def outline(self, place: Place) -> dict[str, Any]:
        return await self.call(place, "index.file", {"path": place.path})  # type: ignore[no-any-return]

    async def close(self) -> None:
        await self.link.close()


def describe(exc: DaemonGone | RpcFailure) -> str:
    if isinstance(exc, RpcFailure):
        return f"aegisd: {exc.code_name}: {exc.message}"
    return f"aegisd: {exc}. The next request reconnects, starting aegisd if needed."


__all__ = ["DaemonGone", "RpcFailure", "Session", "describe", "uri_to_path"]
