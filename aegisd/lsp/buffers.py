"""Unsaved buffers: an open document whose text differs from its file is laid over the file
on the daemon (`workspace.overlay`, on this session's connection) before the daemon is asked
about it, and the overlay is dropped once the buffer matches the disk again (saved, reverted,
closed). The daemon then answers outlines and ruff's diagnostics from the buffer, and leaves
out what only the disk can tell (mypy, bandit, pytest, max_file_length).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aegisd.lsp.folders import Place

if TYPE_CHECKING:
    from aegisd.lsp.server import AegisServer


async def buffer_text(ls: AegisServer, place: Place, uri: str) -> str | None:
    """The open buffer's text when it differs from the file on disk (unsaved), else None."""
    document = ls.workspace.text_documents.get(uri)
    if document is None:
        return None
    text: str = document.source

    def differs() -> bool:
        try:
            with open(place.absolute, "rb") as file:
                data = file.read(len(text.encode("utf-8", "surrogateescape")) + 1)
        except OSError:
            return True  # a new file, not saved yet
        return data.decode("utf-8", "surrogateescape") != text

    return text if await asyncio.to_thread(differs) else None


async def prepared(ls: AegisServer, uri: str, reconnect: bool = True) -> Place | None:
    """The document's place, with the daemon seeing its buffer (an overlay when unsaved)."""
    place = ls.session.place(uri)
    if place is not None:
        await ls.session.sync_buffer(place, await buffer_text(ls, place, uri), reconnect)
    return place
