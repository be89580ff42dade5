"""`workspace.overlay`: lay an unsaved buffer's text over a file, for this connection only."""

from __future__ import annotations

from pydantic import Field

from aegisd import hookimpl
from aegisd.builtin.examples import EXAMPLES
from aegisd.rpc.context import RpcContext
from aegisd.rpc.errors import InvalidPath, Unsupported
from aegisd.rpc.registry import FreshResult, PathText, RpcMethod, WorkspaceParams, with_examples


class OverlayParams(WorkspaceParams):
    path: PathText = Field(description="The file (root-relative or absolute); it may not exist yet")
    text: str | None = Field(
        None,
        description="The buffer's text; omitted or null drops the overlay (the editor saved or "
        "closed the buffer)",
    )


class OverlayResult(FreshResult):
    path: str = Field(description="Root-relative path")
    overlaid: bool = Field(description="Whether the path has an overlay on this connection now")
    overlays: int = Field(description="Overlays this connection holds")


async def overlay(params: OverlayParams, ctx: RpcContext) -> OverlayResult:
    ws = ctx.workspace
    rel = ws.relative(params.path)  # a path is refused the same way on every transport
    if not rel:
        raise InvalidPath("an overlay is for a file, not the workspace root", path=params.path)
    subscriber = ctx.caller.subscriber
    if subscriber is None:
        raise Unsupported("overlays belong to a connection: use the WebSocket (GET /rpc/ws)")
    if params.text is None:
        subscriber.overlays.drop(ws.id, rel)
    else:
        subscriber.overlays.put(ws.id, rel, params.text, ws.settings.max_file_bytes)
    return OverlayResult(
        path=rel, overlaid=params.text is not None, overlays=len(subscriber.overlays)
    )


@hookimpl
def aegisd_rpc_methods() -> list[RpcMethod]:
    """Unsaved buffers laid over files, per WebSocket connection."""
    return with_examples([
        RpcMethod("workspace.overlay", OverlayParams, overlay,
                  summary="Lay an unsaved buffer over a file for this connection (index.file "
                  "and ruff's lint.report answer from it), or drop it",
                  errors=("UNSUPPORTED", "INVALID_PATH", "TOO_LARGE", "NOT_FOUND"),
                  instant=True),
    ], EXAMPLES)  # fmt: skip
