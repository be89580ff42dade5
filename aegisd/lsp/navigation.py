"""Definition and references, from the daemon's navigation methods when it has them.

`index.definition` and `index.references` (DESIGN.md, "navigation") answer with root-relative
paths and 1-based lines and columns. A daemon without them (METHOD_NOT_FOUND) gives an empty
answer, not an error: the editor just finds nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException

from aegisd.lsp.folders import Place, path_to_uri
from aegisd.lsp.session import DaemonGone, RpcFailure

if TYPE_CHECKING:
    from aegisd.lsp.server import AegisServer

Failed = Callable[[DaemonGone | RpcFailure], JsonRpcException]
#: a position the daemon cannot navigate from (no symbol there, a file it does not index)
NOTHING_THERE = frozenset(
    {"NOT_FOUND", "INVALID_PATH", "UNSUPPORTED", "TOO_LARGE", "INVALID_PARAMS"}
)


def locations(
    server: AegisServer, root: str, entries: Iterable[Mapping[str, Any]]
) -> list[lsp.Location]:
    found = []
    for entry in entries:
        if not entry.get("path") or not entry.get("line"):
            continue  # an external or builtin definition has no place in the workspace
        uri = path_to_uri(Place(root, str(entry["path"])).absolute)
        lines = server.lines(uri) if uri in server.workspace.text_documents else None
        line, column = int(entry["line"]), int(entry.get("column") or 1)
        start = (
            lines.position(line, column)
            if lines is not None
            else lsp.Position(line=line - 1, character=column - 1)
        )
        found.append(lsp.Location(uri=uri, range=lsp.Range(start=start, end=start)))
    return found


async def _ask(
    server: AegisServer, failed: Failed, uri: str, position: lsp.Position, method: str
) -> tuple[Place, dict[str, Any]] | None:
    place = server.session.place(uri)
    if place is None:
        return None
    column = server.lines(uri).characters(position)
    params = {"path": place.path, "line": position.line + 1, "column": column}
    try:
        answer = await server.session.optional(place, method, params)
    except RpcFailure as exc:
        if exc.code_name in NOTHING_THERE:
            return None
        raise failed(exc) from None
    except DaemonGone as exc:
        raise failed(exc) from None
    return (place, answer) if isinstance(answer, dict) else None


def register_navigation(server: AegisServer, failed: Failed) -> None:
    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    async def definition(ls: AegisServer, params: lsp.DefinitionParams) -> list[lsp.Location]:
        got = await _ask(ls, failed, params.text_document.uri, params.position, "index.definition")
        if got is None:
            return []
        place, answer = got
        return locations(ls, place.root, answer.get("definitions", []))

    @server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
    async def references(ls: AegisServer, params: lsp.ReferenceParams) -> list[lsp.Location]:
        got = await _ask(ls, failed, params.text_document.uri, params.position, "index.references")
        if got is None:
            return []
        place, answer = got
        return locations(ls, place.root, answer.get("references", []))
