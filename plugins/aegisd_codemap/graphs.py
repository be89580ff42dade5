"""`graph.*` methods: import graph with cycles, dependents, class graph.

Graphs are built from the in-memory index off the event loop and cached until any file of the
workspace changes (the cache entries depend on every path).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import Field

from aegisd.cache import ANY_PATH
from aegisd.rpc.context import RpcContext
from aegisd.rpc.errors import NotFound
from aegisd.rpc.registry import FreshResult, PathText, Result, RpcMethod, WorkspaceParams
from aegisd.threads import interactive
from aegisd_codemap import service
from aegisd_codemap.classgraph import ClassGraph, build_class_graph
from aegisd_codemap.graph import ImportGraph, build_import_graph, dependents, import_cycles
from aegisd_codemap.model import FileExtract

T = TypeVar("T")


async def _cached(
    ctx: RpcContext, name: str, build: Callable[[dict[str, FileExtract], str | None], T]
) -> T:
    """The graph `name` for the index as it is now; built in a thread from a snapshot."""
    ws = ctx.workspace
    index = service.get(ctx.daemon).index(ws.id)
    key = (name, index.version, index.package)
    value = ctx.daemon.cache.get(service.CACHE_NAMESPACE, ws.id, key)
    if value is None:
        snapshot = dict(index.files)
        value = await interactive(build, snapshot, index.package)
        ctx.daemon.cache.put(service.CACHE_NAMESPACE, ws.id, key, value, paths=(ANY_PATH,))
    return value  # type: ignore[no-any-return]


def _build_imports(files: dict[str, FileExtract], package: str | None) -> ImportGraph:
    imports = {path: f.imports for path, f in files.items()}
    return build_import_graph(imports, files.keys(), package)


def _build_classes(files: dict[str, FileExtract], package: str | None) -> ClassGraph:
    return build_class_graph(files, files.keys(), package)


async def import_graph(ctx: RpcContext) -> ImportGraph:
    return await _cached(ctx, "imports", _build_imports)


class ImportsParams(WorkspaceParams):
    path: PathText | None = Field(None, description="Only edges from or to this file")
    include_external: bool = Field(False, description="Add external modules as leaf nodes")


class ImportEdge(Result):
    source: str
    target: str
    line: int
    external: bool = False


class ImportsResult(FreshResult):
    nodes: list[str]
    edges: list[ImportEdge]
    cycles: list[list[str]] = Field(description="Every import cycle (strongly connected files)")


async def imports(params: ImportsParams, ctx: RpcContext) -> ImportsResult:
    graph = await import_graph(ctx)
    focus = ctx.workspace.relative(params.path) if params.path else None
    if focus is not None and focus not in graph.edges:
        raise NotFound(f"not an indexed file: {params.path}", path=focus)
    edges = [
        ImportEdge(source=s, target=t, line=line)
        for s, targets in graph.edges.items()
        for t, line in targets.items()
        if focus is None or focus in (s, t)
    ]
    if params.include_external:
        edges += [
            ImportEdge(source=s, target=x, line=line, external=True)
            for s, leaves in graph.external.items()
            for x, line in leaves.items()
            if focus is None or s == focus
        ]
    cycles = import_cycles(graph)
    if focus is not None:
        cycles = [c for c in cycles if focus in c]
    nodes = (
        sorted({e.source for e in edges} | {e.target for e in edges})
        if focus
        else sorted(graph.edges)
    )
    if params.include_external and focus is None:
        nodes = sorted(set(nodes) | {e.target for e in edges if e.external})
    edges.sort(key=lambda e: (e.source, e.target))
    pending = not service.is_ready(ctx.daemon, ctx.workspace.id)
    return ImportsResult(nodes=nodes, edges=edges, cycles=cycles, pending=pending)


class DependentsParams(WorkspaceParams):
    path: PathText
    transitive: bool = Field(False, description="Also files importing it through other files")


class DependentsResult(FreshResult):
    path: str
    dependents: list[str]


async def graph_dependents(params: DependentsParams, ctx: RpcContext) -> DependentsResult:
    graph = await import_graph(ctx)
    rel = ctx.workspace.relative(params.path)
    if rel not in graph.edges:
        raise NotFound(f"not an indexed file: {params.path}", path=rel)
    return DependentsResult(
        path=rel,
        dependents=dependents(graph, rel, params.transitive),
        pending=not service.is_ready(ctx.daemon, ctx.workspace.id),
    )


class ClassesParams(WorkspaceParams):
    path: PathText | None = Field(None, description="Only classes in, or edges touching, this file")


class ClassNodeOut(Result):
    id: str
    path: str
    qualname: str
    line: int


class ClassEdgeOut(Result):
    source: str
    target: str
    kind: str = Field(description='"inherits" or "instantiates"')
    external: bool


class ClassesResult(FreshResult):
    nodes: list[ClassNodeOut]
    edges: list[ClassEdgeOut]


async def classes(params: ClassesParams, ctx: RpcContext) -> ClassesResult:
    graph: ClassGraph = await _cached(ctx, "classes", _build_classes)
    focus = ctx.workspace.relative(params.path) if params.path else None

    def touches(node_id: str) -> bool:
        return focus is None or node_id.split(":", 1)[0] == focus

    edges = [e for e in graph.edges if touches(e.source) or touches(e.target)]
    wanted = {e.source for e in edges} | {e.target for e in edges if not e.external}
    nodes = [n for n in graph.nodes.values() if touches(n.id) or n.id in wanted]
    return ClassesResult(
        pending=not service.is_ready(ctx.daemon, ctx.workspace.id),
        nodes=[ClassNodeOut(id=n.id, path=n.path, qualname=n.qualname, line=n.line) for n in nodes],
        edges=[
            ClassEdgeOut(source=e.source, target=e.target, kind=e.kind, external=e.external)
            for e in edges
        ],
    )


def methods() -> list[RpcMethod]:
    found = ("NOT_FOUND", "INVALID_PATH")
    return [
        RpcMethod("graph.imports", ImportsParams, imports, summary="Module import graph and every cycle", errors=found),
        RpcMethod("graph.dependents", DependentsParams, graph_dependents, summary="Files that import this file", errors=found),
        RpcMethod("graph.classes", ClassesParams, classes, summary="Inheritance and instantiation edges", errors=found),
    ]  # fmt: skip
