"""Diagnostics of open documents: computed from the daemon, pushed and re-pushed, and the quick
fixes they carry.

A document is published when it opens, when it is saved, and whenever the daemon says lint
results landed for its workspace (`lint.updated`). Publishing runs in one task that drains a set
of due documents, so a burst of updates costs one `lint.report` per document. A buffer whose
text differs from the file is never shown results computed for the file (`overlay` says what
it gets instead).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from loguru import logger
from lsprotocol import types as lsp

from aegisd.lsp import convert
from aegisd.lsp.buffers import buffer_text
from aegisd.lsp.folders import Place, path_to_uri
from aegisd.lsp.session import DaemonGone, RpcFailure

if TYPE_CHECKING:
    from aegisd.lsp.server import AegisServer

#: errors that mean "this file has no diagnostics to show", not "the daemon failed"
#: the server's command behind "show duplicate": opens the other location (window/showDocument)
SHOW_DUPLICATE = "aegisd.showDuplicate"
NOTHING_TO_SHOW = frozenset({"NOT_FOUND", "INVALID_PATH", "UNSUPPORTED", "TOO_LARGE"})


class Diagnostics:
    def __init__(self, server: AegisServer) -> None:
        self.server = server
        self._due: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self.published: dict[str, list[lsp.Diagnostic]] = {}

    # -- document events -------------------------------------------------------------------

    def opened(self, uri: str) -> None:
        self.schedule(uri)

    def changed(self, uri: str) -> None:
        self.schedule(uri)

    def saved(self, uri: str) -> None:
        self.schedule(uri)

    def closed(self, uri: str) -> None:
        self._due.discard(uri)
        self.published.pop(uri, None)
        self.server.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[])
        )

    def refresh_root(self, root: str) -> None:
        """Lint results landed in the workspace at `root`: re-push its open documents."""
        for uri in list(self.server.workspace.text_documents):
            place = self.server.session.place(uri)
            if place is not None and place.root == root:
                self.schedule(uri)

    # -- publishing ------------------------------------------------------------------------

    def schedule(self, uri: str) -> None:
        self._due.add(uri)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())

    def stop(self) -> None:
        self._due.clear()
        if self._task is not None:
            self._task.cancel()

    async def _drain(self) -> None:
        while self._due:
            uri = self._due.pop()
            if uri not in self.server.workspace.text_documents:
                continue
            try:
                items = await self.compute(uri, reconnect=False)
            except (DaemonGone, RpcFailure) as exc:
                logger.warning("no diagnostics for {}: {}", uri, exc)
                continue
            document = self.server.workspace.text_documents.get(uri)
            if document is None:
                continue  # closed meanwhile
            self.published[uri] = items
            self.server.text_document_publish_diagnostics(
                lsp.PublishDiagnosticsParams(uri=uri, diagnostics=items, version=document.version)
            )

    def refresh_all(self) -> None:
        for uri in list(self.server.workspace.text_documents):
            self.schedule(uri)

    async def compute(self, uri: str, reconnect: bool = True) -> list[lsp.Diagnostic]:
        """The document's diagnostics: its lint issues and its clones (`reconnect`: see
        `DaemonSocket.call`). An unsaved buffer is laid over its file first, so the issues are
        the buffer's (ruff's only: the report leaves out tools that read the disk)."""
        place = self.server.session.place(uri)
        if place is None:
            return []
        try:
            buffer = await buffer_text(self.server, place, uri)
            await self.server.session.sync_buffer(place, buffer, reconnect)
            issues = await self.server.session.issues(place, reconnect)
        except RpcFailure as exc:
            if exc.code_name in NOTHING_TO_SHOW:
                return []  # too large, skipped, outside the root: nothing true to show
            raise
        lines = self.server.lines(uri)
        items = [convert.diagnostic(issue, lines) for issue in issues]
        for clone in await self.server.session.clones(place, reconnect, buffer):
            hint = convert.clone_diagnostic(clone, place.path, lines)
            if hint is not None:
                items.append(hint)
        return items

    # -- code actions ----------------------------------------------------------------------

    def actions(self, params: lsp.CodeActionParams) -> list[lsp.CodeAction | lsp.Command]:
        uri = params.text_document.uri
        lines = self.server.lines(uri)
        actions: list[lsp.CodeAction | lsp.Command] = []
        for item in params.context.diagnostics:
            data = item.data if isinstance(item.data, dict) else {}
            if data.get("edits"):
                actions.append(_quick_fix(uri, item, data, lines))
            elif isinstance(data.get("clone"), dict):
                actions.append(self._show_duplicate(uri, data["clone"]))
        return actions

    def _show_duplicate(self, uri: str, other: dict[str, Any]) -> lsp.Command:
        """A bare command, not a CodeAction carrying one: clients built on lsprotocol read any
        code action with a `command` as a Command and lose it."""
        place = self.server.session.place(uri)
        target = path_to_uri(Place(place.root, str(other["path"])).absolute) if place else uri
        first, last = int(other.get("start_line", 1)), int(other.get("end_line", 1))
        return lsp.Command(
            title=f"Show duplicate: {other.get('path')}:{first}-{last}",
            command=SHOW_DUPLICATE,
            arguments=[target, first, last],
        )


def _quick_fix(
    uri: str, item: lsp.Diagnostic, data: dict[str, Any], lines: convert.Lines
) -> lsp.CodeAction:
    edits = [
        lsp.TextEdit(
            range=lsp.Range(
                start=lines.position(int(edit["line"]), int(edit["column"])),
                end=lines.position(int(edit["end_line"]), int(edit["end_column"])),
            ),
            new_text=str(edit.get("content", "")),
        )
        for edit in data["edits"]
    ]
    return lsp.CodeAction(
        title=f"{item.source}: {data.get('fix') or 'apply the fix'} ({item.code})",
        kind=lsp.CodeActionKind.QuickFix,
        diagnostics=[item],
        edit=lsp.WorkspaceEdit(changes={uri: edits}),
        is_preferred=True,
    )
