"""Definition, references and call hierarchy, from the daemon's navigation methods when it
has them.

`index.definition`, `index.references` and `graph.calls` (DESIGN.md, "navigation") answer with
root-relative paths and 1-based lines and columns. A daemon without them (METHOD_NOT_FOUND)
gives an empty answer, not an error: the editor just finds nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException

from aegisd.lsp import convert
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
        if lines is None:  # not open: the daemon's character column, as most files are ASCII
            start = end = lsp.Position(line=line - 1, character=column - 1)
        else:
            name = str(entry.get("name") or "")
            column = lines.find(line, name, column)  # a definition's column is its keyword's
            start, end = lines.position(line, column), lines.position(line, column + len(name))
        found.append(lsp.Location(uri=uri, range=lsp.Range(start=start, end=end)))
    return found


async def _answer(failed: Failed, call: Awaitable[Any]) -> Any:
    """`call`'s answer; None when the daemon says nothing is there; an LSP error when it fails
    or is gone."""
    try:
        return await call
    except RpcFailure as exc:
        if exc.code_name in NOTHING_THERE:
            return None
        raise failed(exc) from None
    except DaemonGone as exc:
        raise failed(exc) from None


async def _ask(
    server: AegisServer, failed: Failed, uri: str, position: lsp.Position, method: str
) -> tuple[Place, dict[str, Any]] | None:
    place = server.session.place(uri)
    if place is None:
        return None
    column = server.lines(uri).characters(position)
    params = {"path": place.path, "line": position.line + 1, "column": column}
    answer = await _answer(failed, server.session.optional(place, method, params))
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


CALLABLE = frozenset({"function", "method", "class"})


def _item(root: str, node: Mapping[str, Any]) -> lsp.CallHierarchyItem:
    """A call graph node (path, qualname, name, kind, line) as an LSP item."""
    start = lsp.Position(line=max(int(node["line"]) - 1, 0), character=0)
    return lsp.CallHierarchyItem(
        name=str(node.get("name") or node.get("qualname")),
        kind=convert.SYMBOL_KIND.get(str(node.get("kind")), lsp.SymbolKind.Function),
        uri=path_to_uri(Place(root, str(node["path"])).absolute),
        range=lsp.Range(start=start, end=start),
        selection_range=lsp.Range(start=start, end=start),
        detail=str(node.get("qualname") or ""),
        data={"root": root, "path": node["path"], "line": int(node["line"])},
    )


def _sites_by(
    answer: dict[str, Any], rooted: str, other: str
) -> tuple[dict[str, dict[str, Any]], dict[str, list[lsp.Range]]]:
    """`graph.calls`' nodes by id, and the call sites of the edges whose `rooted` end is a
    root, grouped by their `other` end."""
    nodes = {node["id"]: node for node in answer.get("nodes", [])}
    roots = set(answer.get("roots", []))
    calls: dict[str, list[lsp.Range]] = {}
    for edge in answer.get("edges", []):
        if edge[rooted] in roots and edge[other] in nodes:
            calls.setdefault(edge[other], []).append(_site(edge))
    return nodes, calls


def _site(edge: Mapping[str, Any]) -> lsp.Range:
    at = lsp.Position(
        line=max(int(edge["line"]) - 1, 0), character=max(int(edge.get("column", 1)) - 1, 0)
    )
    return lsp.Range(start=at, end=at)


async def _calls(
    server: AegisServer, failed: Failed, item: lsp.CallHierarchyItem, direction: str
) -> tuple[str, dict[str, Any]] | None:
    data = item.data if isinstance(item.data, dict) else {}
    if not data.get("root") or not data.get("path"):
        return None
    place = Place(str(data["root"]), str(data["path"]))
    params = {"path": place.path, "line": int(data["line"]), "direction": direction, "depth": 1}
    answer = await _answer(failed, server.session.optional(place, "graph.calls", params))
    return (place.root, answer) if isinstance(answer, dict) else None


def register_call_hierarchy(server: AegisServer, failed: Failed) -> None:
    """Call hierarchy from `graph.calls` (depth 1 each way); items start at the innermost
    function, method or class around the position (`index.file`)."""

    @server.feature(lsp.TEXT_DOCUMENT_PREPARE_CALL_HIERARCHY)
    async def prepare(
        ls: AegisServer, params: lsp.CallHierarchyPrepareParams
    ) -> list[lsp.CallHierarchyItem] | None:
        place = ls.session.place(params.text_document.uri)
        if place is None or "graph.calls" in ls.session.missing:
            return None
        outline = await _answer(failed, ls.session.outline(place))
        if outline is None:
            return None
        symbol = convert.innermost(outline.get("outline", []), params.position.line + 1)
        if symbol is None or symbol.get("kind") not in CALLABLE:
            return None  # module level, or a variable: no definition with calls of its own
        node = {**symbol, "path": place.path}
        return [_item(place.root, node)]

    @server.feature(lsp.CALL_HIERARCHY_INCOMING_CALLS)
    async def incoming(
        ls: AegisServer, params: lsp.CallHierarchyIncomingCallsParams
    ) -> list[lsp.CallHierarchyIncomingCall]:
        got = await _calls(ls, failed, params.item, "callers")
        if got is None:
            return []
        root, answer = got
        nodes, calls = _sites_by(answer, rooted="target", other="source")
        return [
            lsp.CallHierarchyIncomingCall(from_=_item(root, nodes[source]), from_ranges=sites)
            for source, sites in calls.items()
        ]

    @server.feature(lsp.CALL_HIERARCHY_OUTGOING_CALLS)
    async def outgoing(
        ls: AegisServer, params: lsp.CallHierarchyOutgoingCallsParams
    ) -> list[lsp.CallHierarchyOutgoingCall]:
        got = await _calls(ls, failed, params.item, "callees")
        if got is None:
            return []
        root, answer = got
        nodes, calls = _sites_by(answer, rooted="source", other="target")
        return [
            lsp.CallHierarchyOutgoingCall(to=_item(root, nodes[target]), from_ranges=sites)
            for target, sites in calls.items()
            if nodes[target].get("path")  # external leaves have no place to go to
        ]
