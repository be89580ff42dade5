"""`aegisd lsp`: a Language Server on stdio (pygls) backed by the shared daemon.

Editors start it; it finds the daemon (starting one in the background, as `aegisd mcp` does),
opens the editor's folders as workspaces, and answers from the daemon's live model: diagnostics
(pushed, again on every `lint.updated`, and pulled), outlines, symbol search, hover, quick fixes,
indexing progress. It holds no analysis of its own, so it stays small and every editor and agent
shares the daemon's work. `shutdown`/`exit` end this process only; the daemon keeps running.
"""

from __future__ import annotations

from typing import Any

from loguru import logger
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer

from aegisd import __version__
from aegisd.lsp import convert
from aegisd.lsp.buffers import prepared
from aegisd.lsp.diagnostics import SHOW_DUPLICATE, Diagnostics
from aegisd.lsp.folders import path_to_uri, uri_to_path
from aegisd.lsp.navigation import register_call_hierarchy, register_navigation
from aegisd.lsp.progress import ProgressBridge
from aegisd.lsp.session import DaemonGone, RpcFailure, Session, describe

REQUEST_FAILED = -32803  # LSP's RequestFailed: the request was valid, the daemon could not answer


class AegisServer(LanguageServer):
    """pygls' server plus this session's link to the daemon."""

    session: Session
    diagnostics: Diagnostics
    bridge: ProgressBridge

    def lines(self, uri: str) -> convert.Lines:
        """The document's text as the editor has it (from disk when it is not open)."""
        document = self.workspace.text_documents.get(uri)
        if document is not None:
            text = document.source
        else:
            path = uri_to_path(uri)
            try:
                with open(path or "", encoding="utf-8", errors="replace") as file:
                    text = file.read()
            except OSError:
                text = ""
        encoding = self.server_capabilities.position_encoding or "utf-16"
        return convert.Lines(text, getattr(encoding, "value", str(encoding)))


def failed(exc: DaemonGone | RpcFailure) -> JsonRpcException:
    return JsonRpcException(describe(exc), REQUEST_FAILED)


def _folder_paths(params: lsp.InitializeParams) -> list[str]:
    uris = [folder.uri for folder in params.workspace_folders or []]
    if not uris and params.root_uri:
        uris = [params.root_uri]
    paths = [uri_to_path(uri) for uri in uris]
    if not uris and params.root_path:
        paths = [params.root_path]
    return [path for path in paths if path]


def build_server(socket: Any) -> AegisServer:
    server = AegisServer("aegisd", __version__)

    def on_event(topic: str, params: dict[str, Any]) -> None:
        if topic == "lint.updated":
            root = server.session.folders.root_of(str(params.get("workspace")))
            if root is not None:
                server.diagnostics.refresh_root(root)
        elif topic == "progress":
            server.bridge.update(params)
        elif topic == "index.updated":
            server.bridge.finish_workspace(str(params.get("workspace")))

    async def on_connect() -> None:
        if server.protocol._workspace is not None:  # a reconnection: show fresh results
            server.diagnostics.refresh_all()

    server.session = Session(socket, on_event, on_connect)
    server.diagnostics = Diagnostics(server)
    server.bridge = ProgressBridge(server)
    _register(server)
    return server


def _register(server: AegisServer) -> None:
    @server.feature(lsp.INITIALIZE)
    async def initialize(ls: AegisServer, params: lsp.InitializeParams) -> None:
        for folder in _folder_paths(params):
            ls.session.folders.add(folder)
        try:
            await ls.session.link.connect()
        except (DaemonGone, RpcFailure) as exc:  # the first request tries again
            ls.window_log_message(
                lsp.LogMessageParams(type=lsp.MessageType.Warning, message=describe(exc))
            )

    @server.feature(lsp.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    async def folders_changed(ls: AegisServer, params: lsp.DidChangeWorkspaceFoldersParams) -> None:
        for folder in params.event.removed:
            path = uri_to_path(folder.uri)
            if path:
                ls.session.folders.remove(path)
        for folder in params.event.added:
            path = uri_to_path(folder.uri)
            if path:
                try:
                    await ls.session.open_folder(path)
                except DaemonGone as exc:
                    ls.window_log_message(
                        lsp.LogMessageParams(type=lsp.MessageType.Warning, message=describe(exc))
                    )

    @server.feature(lsp.SHUTDOWN)
    async def shutdown(ls: AegisServer, params: None) -> None:
        ls.diagnostics.stop()
        await ls.session.close()  # this connection only: the daemon keeps running

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls: AegisServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.diagnostics.opened(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls: AegisServer, params: lsp.DidChangeTextDocumentParams) -> None:
        ls.diagnostics.changed(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls: AegisServer, params: lsp.DidSaveTextDocumentParams) -> None:
        ls.diagnostics.saved(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    async def did_close(ls: AegisServer, params: lsp.DidCloseTextDocumentParams) -> None:
        ls.diagnostics.closed(params.text_document.uri)
        place = ls.session.place(params.text_document.uri)
        if place is not None:
            try:
                await ls.session.sync_buffer(place, None, reconnect=False)
            except (DaemonGone, RpcFailure) as exc:
                logger.debug("overlay of {} not dropped: {}", place.path, exc)

    @server.feature(
        lsp.TEXT_DOCUMENT_DIAGNOSTIC,
        lsp.DiagnosticOptions(
            identifier="aegisd", inter_file_dependencies=True, workspace_diagnostics=False
        ),
    )
    async def pull_diagnostics(
        ls: AegisServer, params: lsp.DocumentDiagnosticParams
    ) -> lsp.FullDocumentDiagnosticReport:
        try:
            items = await ls.diagnostics.compute(params.text_document.uri)
        except (DaemonGone, RpcFailure) as exc:
            raise failed(exc) from None
        return lsp.FullDocumentDiagnosticReport(items=items)

    @server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    async def document_symbols(
        ls: AegisServer, params: lsp.DocumentSymbolParams
    ) -> list[lsp.DocumentSymbol] | None:
        try:
            place = await prepared(ls, params.text_document.uri)
            if place is None:
                return None
            answer = await ls.session.outline(place)
        except RpcFailure as exc:
            if exc.code_name in ("NOT_FOUND", "UNSUPPORTED", "TOO_LARGE", "INVALID_PATH"):
                return []
            raise failed(exc) from None
        except DaemonGone as exc:
            raise failed(exc) from None
        return convert.document_symbols(
            answer.get("outline", []), ls.lines(params.text_document.uri)
        )

    @server.feature(lsp.WORKSPACE_SYMBOL)
    async def workspace_symbols(
        ls: AegisServer, params: lsp.WorkspaceSymbolParams
    ) -> list[lsp.SymbolInformation]:
        if not params.query.strip():
            return []
        found: list[lsp.SymbolInformation] = []
        for root in list(ls.session.folders.ids):
            try:
                answer = await ls.session.call(root, "index.search", {"query": params.query})
            except RpcFailure:
                continue  # this workspace cannot answer (closed, invalid query): the others may
            except DaemonGone as exc:
                raise failed(exc) from None
            found.extend(convert.symbol_information(answer.get("hits", []), root, path_to_uri))
        return found

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    async def hover(ls: AegisServer, params: lsp.HoverParams) -> lsp.Hover | None:
        line = params.position.line + 1
        try:
            place = await prepared(ls, params.text_document.uri)
            if place is None:
                return None
            answer = await ls.session.outline(place)
            symbol = convert.innermost(answer.get("outline", []), line)
            if symbol is None:
                return None
            column = ls.lines(params.text_document.uri).characters(params.position)
            refs = await ls.session.optional(
                place, "index.references", {"path": place.path, "line": line, "column": column}
            )
        except RpcFailure as exc:
            if exc.code_name in ("NOT_FOUND", "UNSUPPORTED", "TOO_LARGE", "INVALID_PATH"):
                return None
            raise failed(exc) from None
        except DaemonGone as exc:
            raise failed(exc) from None
        count = len(refs.get("references", [])) if isinstance(refs, dict) else None
        return lsp.Hover(
            contents=lsp.MarkupContent(
                kind=lsp.MarkupKind.Markdown, value=convert.hover_text(symbol, count)
            )
        )

    @server.feature(
        lsp.TEXT_DOCUMENT_CODE_ACTION,
        lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]),
    )
    async def code_actions(
        ls: AegisServer, params: lsp.CodeActionParams
    ) -> list[lsp.CodeAction | lsp.Command] | None:
        return ls.diagnostics.actions(params)

    @server.command(SHOW_DUPLICATE)
    async def show_duplicate(ls: AegisServer, target: str, first: int, last: int) -> None:
        start = lsp.Position(line=max(first - 1, 0), character=0)
        end = lsp.Position(line=max(last, 0), character=0)
        await ls.window_show_document_async(
            lsp.ShowDocumentParams(
                uri=target, take_focus=True, selection=lsp.Range(start=start, end=end)
            )
        )

    register_navigation(server, failed)
    register_call_hierarchy(server, failed)


def run_lsp(socket_flag: str | None) -> int:
    """`aegisd lsp`: serve LSP on stdin/stdout until the client exits."""
    from aegisd.log import configure_logging
    from aegisd.paths import resolve_socket

    configure_logging("text", "WARNING")  # stderr only: stdout carries the protocol
    server = build_server(resolve_socket(socket_flag))
    server.start_io()
    return 0
