"""`graph.calls`: callees or callers of a definition, workspace-wide (`callgraph`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from aegisd.rpc.context import RpcContext
from aegisd.rpc.errors import InvalidParams, NotFound
from aegisd.rpc.registry import FreshResult, PathText, Result, RpcMethod, WorkspaceParams
from aegisd.threads import interactive
from aegisd_codemap import service
from aegisd_codemap.callgraph import CallGraph, explore
from aegisd_codemap.index import WorkspaceIndex
from aegisd_codemap.model import FileExtract
from aegisd_codemap.navigate import Navigator, innermost
from aegisd_codemap.navrpc import ResolutionName, _bound, indexed, symbols_named

_CALLABLE = frozenset({"function", "method", "class"})


class CallsParams(WorkspaceParams):
    path: PathText | None = Field(None, description="With line: the definition there")
    line: int | None = Field(None, ge=1)
    name: str | None = Field(
        None, min_length=1, max_length=200, description="A definition's (qualified) name"
    )
    direction: Literal["callees", "callers"] = "callees"
    depth: int = Field(3, ge=1, le=20, description="Levels of calls followed")
    include_external: bool = Field(False, description="Calls leaving the workspace as leaf nodes")

    @model_validator(mode="after")
    def _one_way(self) -> CallsParams:
        # A path without line is refused by the handler, once the path itself is checked.
        if self.name is None and self.path is None:
            raise ValueError("give name, or path and line")
        if self.name is not None and (self.path is not None or self.line is not None):
            raise ValueError("give name, or path and line, not both")
        return self


class CallNode(Result):
    id: str = Field(description="path:qualname (path:<module> for module-level code)")
    path: str
    qualname: str
    name: str
    kind: str = Field(
        description="function, method, class, module; or for a leaf: external, builtin, unresolved"
    )
    line: int


class CallEdge(Result):
    source: str = Field(description="The caller's node id")
    target: str = Field(description="The callee's node id")
    line: int = Field(description="The call site's line (in the caller)")
    column: int
    call_type: Literal["function", "method", "constructor"]
    resolution: ResolutionName


class UnresolvedCall(Result):
    source: str = Field(description="The calling node's id")
    name: str
    path: str
    line: int
    column: int
    resolution: Literal["external", "builtin", "unresolved"]
    target: str = Field(description="The external or builtin name, or the name as written")


class CallsResult(FreshResult):
    roots: list[str]
    nodes: list[CallNode]
    edges: list[CallEdge]
    cycles: list[list[str]] = Field(
        description="Per branch: node ids from the repeated node back to it"
    )
    max_depth_reached: bool
    unresolved: list[UnresolvedCall] = Field(
        description="Calls to nothing in the workspace (first 50)"
    )
    unresolved_total: int


def _calls(
    index: WorkspaceIndex, rel: str | None, extract: FileExtract | None, params: CallsParams
) -> CallGraph:
    nav = Navigator(index)
    if params.name is not None:
        found = [d for d in symbols_named(nav, index, params.name) if d.kind in _CALLABLE]
        if not found:
            raise NotFound(f"no function, method or class named {params.name}")
        roots = [(d.path, d.qualname) for d in found]
    else:
        assert rel is not None and extract is not None and params.line is not None
        symbols = [s for s in extract.symbols if s.kind in _CALLABLE]
        spanning = innermost(symbols, params.line)
        roots = [(rel, spanning.qualname if spanning is not None else "")]
    return explore(
        nav, roots, callers=params.direction == "callers", depth=params.depth,
        include_external=params.include_external,
    )  # fmt: skip


async def calls(params: CallsParams, ctx: RpcContext) -> CallsResult:
    ws = ctx.workspace
    rel = extract = None
    if params.path is not None:
        rel, extract = await indexed(ctx, params.path, params.line)
        if params.line is None:
            raise InvalidParams("give line with path")
        _bound(rel, extract)
    index = await service.answerable(ctx.daemon, ws)
    graph = await interactive(_calls, index, rel, extract, params)
    return CallsResult(
        roots=graph.roots,
        nodes=[CallNode(**n._asdict()) for n in graph.nodes.values()],
        edges=[CallEdge(**e._asdict()) for e in graph.edges],
        cycles=graph.cycles,
        max_depth_reached=graph.max_depth_reached,
        unresolved=[UnresolvedCall(**u._asdict()) for u in graph.unresolved],
        unresolved_total=graph.unresolved_total,
        pending=not service.is_ready(ctx.daemon, ws.id),
    )


def methods() -> list[RpcMethod]:
    errors = (
        "NOT_FOUND",
        "INVALID_PATH",
        "UNAVAILABLE",
        "INVALID_PARAMS",
        "TOO_LARGE",
        "UNSUPPORTED",
    )
    return [
        RpcMethod("graph.calls", CallsParams, calls, summary="Callees or callers of a definition, to a depth", errors=errors),
    ]  # fmt: skip
