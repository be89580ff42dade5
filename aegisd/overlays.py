"""Unsaved editor buffers (`workspace.overlay`): the text of a file as one connection sees it.

An editor's buffer differs from the file on disk until it is saved. A client on the WebSocket
may lay the buffer's text over the file's path; the methods that can answer from text alone
(`index.file`, `lint.report` for ruff) then answer that connection from the overlay, and every
other connection still sees the disk. Overlays belong to the connection: they go when it
closes, never touch the disk, the index or the stored lint results, and are bounded (a file's
`max_file_bytes` each, `MAX_OVERLAYS` and `MAX_TOTAL_BYTES` per connection).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aegisd.rpc.errors import TooLarge

if TYPE_CHECKING:
    from aegisd.rpc.context import RpcContext

MAX_OVERLAYS = 64
MAX_TOTAL_BYTES = 32 * 1024 * 1024


class Overlays:
    """One connection's overlays: (workspace id, root-relative path) -> text."""

    def __init__(self) -> None:
        self._texts: dict[tuple[str, str], str] = {}
        self._sizes: dict[tuple[str, str], int] = {}

    def __len__(self) -> int:
        return len(self._texts)

    @property
    def bytes(self) -> int:
        return sum(self._sizes.values())

    def put(self, workspace: str, path: str, text: str, max_bytes: int) -> None:
        """Lay `text` over `path`; TOO_LARGE past a limit (the old overlay, if any, stays)."""
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > max_bytes:
            raise TooLarge(
                f"buffer of {size} bytes is over the workspace's max_file_bytes ({max_bytes})",
                path=path,
                limit=max_bytes,
            )
        key = (workspace, path)
        if key not in self._texts and len(self._texts) >= MAX_OVERLAYS:
            raise TooLarge(f"this connection already has {MAX_OVERLAYS} overlays", path=path)
        if self.bytes - self._sizes.get(key, 0) + size > MAX_TOTAL_BYTES:
            raise TooLarge(
                f"this connection's overlays would pass {MAX_TOTAL_BYTES} bytes", path=path
            )
        self._texts[key] = text
        self._sizes[key] = size

    def drop(self, workspace: str, path: str) -> bool:
        self._sizes.pop((workspace, path), None)
        return self._texts.pop((workspace, path), None) is not None

    def get(self, workspace: str, path: str) -> str | None:
        return self._texts.get((workspace, path))

    def clear(self) -> None:
        self._texts.clear()
        self._sizes.clear()


def overlay_text(ctx: RpcContext, path: str) -> str | None:
    """The text the caller laid over `path` (root-relative) in the request's workspace, if any."""
    subscriber = ctx.caller.subscriber
    ws = ctx.resolved_workspace
    if subscriber is None or ws is None:
        return None
    return subscriber.overlays.get(ws.id, path)
