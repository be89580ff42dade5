"""The daemon's `progress` notifications as LSP work-done progress (`$/progress`).

The code map reports indexing as `progress {token, title, done, total}` for its workspace; each
token becomes one work-done progress in the editor: created and begun on its first report,
reported as a percentage, ended when done reaches total or the index says it took the batch in.
Clients that do not support work-done progress get nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loguru import logger
from lsprotocol import types as lsp

if TYPE_CHECKING:
    from aegisd.lsp.server import AegisServer


class ProgressBridge:
    def __init__(self, server: AegisServer) -> None:
        self.server = server
        self._open: dict[str, str] = {}  # our token -> workspace id

    def _supported(self) -> bool:
        window = self.server.client_capabilities.window
        return bool(window and window.work_done_progress)

    def update(self, params: dict[str, Any]) -> None:
        if not self._supported() or not isinstance(params.get("token"), str):
            return
        token = f"aegisd-{params['token']}"
        done, total = int(params.get("done") or 0), params.get("total")
        percent = min(100, int(100 * done / total)) if total else None
        message = f"{done}/{total} files" if total else f"{done} files"
        progress = self.server.work_done_progress
        if token not in self._open:
            self._open[token] = str(params.get("workspace") or params["token"].split("-")[1])
            try:
                progress.create(token)
            except Exception as exc:  # a client refusing the token: no bar, nothing else
                logger.debug("progress {} refused: {}", token, exc)
            progress.begin(
                token,
                lsp.WorkDoneProgressBegin(
                    title=f"aegisd: {params.get('title', 'indexing')}",
                    percentage=percent,
                    message=message,
                    cancellable=False,
                ),
            )
        else:
            progress.report(token, lsp.WorkDoneProgressReport(percentage=percent, message=message))
        if total and done >= total:
            self._end(token)

    def finish_workspace(self, workspace_id: str) -> None:
        """The index took a batch in: end the progress still open for that workspace."""
        for token, owner in list(self._open.items()):
            if owner == workspace_id:
                self._end(token)

    def _end(self, token: str) -> None:
        if self._open.pop(token, None) is not None:
            self.server.work_done_progress.end(token, lsp.WorkDoneProgressEnd(message="done"))
