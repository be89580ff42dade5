"""`graph.*` methods: import graph with cycles, dependents, class graph.

Graphs are built from the stored imports and classes off the event loop and cached until any file of the
workspace changes (the cache entries depend on every path).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeVar

from pydantic import Field

from aegisd.cache import ANY_PATH
from aegisd.rpc.context import RpcContext
from aegisd.rpc.errors import NotFound
from aegisd.rpc.registry import FreshResult, PathText, Result, RpcMethod, WorkspaceParams
from aegisd.threads import interactive
from aegisd_codemap import service
from aegisd_codemap.classgraph import ClassGraph, build_class_graph
from aegisd_codemap.graph import (
    ImportGraph,
    ImportHop,
    ImportSite,
    build_import_graph,
    cycle_path,
    dependents,
    import_cycles,
)
from aegisd_codemap.index import WorkspaceIndex
from aegisd_codemap.model import FileExtract
from aegisd_codemap.navigate import Navigator

T = TypeVar("T")


async def _cached(
    ctx: RpcContext, name: str, build: Callable[[dict[str, FileExtract], str | None], T]
) -> T:
    """The graph `name` for the index as it is now (once it can answer: a first index is
    waited for); built in a thread from the files' imports and classes, read from the store."""
    ws = ctx.workspace
    index = await service.answerable(ctx.daemon, ws)
    key = (name, index.version, index.package)
    value = ctx.daemon.cache.get(service.CACHE_NAMESPACE, ws.id, key)
    if value is None:
        value = await interactive(_built, index, build)
        ctx.daemon.cache.put(service.CACHE_NAMESPACE, ws.id, key, value, paths=(ANY_PATH,))
    return value  # type: ignore[no-any-return]


def _built(index: WorkspaceIndex, build: Callable[[dict[str, FileExtract], str | None], T]) -> T:
    return build(index.outlines(), index.package)


def _build_imports(files: dict[str, FileExtract], package: str | None) -> ImportGraph:
    imports = {path: f.imports for path, f in files.items()}
    return build_import_graph(imports, files.keys(), package)


def _build_classes(files: dict[str, FileExtract], package: str | None) -> ClassGraph:
    return build_class_graph(files, files.keys(), package)


async def import_graph(ctx: RpcContext) -> ImportGraph:
    return await _cached(ctx, "imports", _build_imports)


ImportKind = Literal["top_level", "conditional", "deferred"]
_TOP_LEVEL_ONLY: tuple[ImportKind] = ("top_level",)


class ImportsParams(WorkspaceParams):
    path: PathText | None = Field(None, description="Only edges from or to this file")
    include_external: bool = Field(False, description="Add external modules as leaf nodes")
    cycle_kinds: list[ImportKind] = Field(
        default_factory=lambda: list(_TOP_LEVEL_ONLY),
        min_length=1,
        description="Imports that make cycles: top_level (run as the module loads; the "
        "default), conditional (under if/try, e.g. if TYPE_CHECKING), deferred (in a function)",
    )


class ImportEdge(Result):
    source: str
    target: str
    line: int = Field(description="First line of the strongest kind of import of the target")
    external: bool = False
    kind: ImportKind = Field(
        "top_level",
        description="top_level, conditional (under if/try, incl. if TYPE_CHECKING; a TypeScript "
        "import type) or deferred (inside a function; a dynamic import()): the strongest there is",
    )


class ImportsResult(FreshResult):
    nodes: list[str]
    edges: list[ImportEdge]
    cycles: list[list[str]] = Field(
        description="Every import cycle over cycle_kinds: the files of each (strongly "
        "connected), sorted; largest first"
    )
    cycle_paths: list[list[ImportEdge]] = Field(
        description="For each cycle, in the same order, a closed path of its imports from its "
        "first file: through every file when one is found, else the shortest"
    )


def _edge(source: str, target: str, site: ImportSite, external: bool = False) -> ImportEdge:
    return ImportEdge(
        source=source, target=target, line=site.line, kind=site.kind, external=external
    )


Cycle = tuple[list[str], list[ImportHop]]


def _cycles(graph: ImportGraph, kinds: tuple[str, ...]) -> list[Cycle]:
    """Each cycle's files and a path of imports through it."""
    edges = graph.of_kinds(kinds)
    return [(members, cycle_path(members, edges)) for members in import_cycles(graph, kinds)]


async def _focus(ctx: RpcContext, graph: ImportGraph, path: str) -> str:
    """A client's path as a node of the graph: NOT_FOUND when the index will not hold it, yet
    a node (of a `pending` answer) while the first index runs and will."""
    ws, rel = ctx.workspace, ctx.workspace.relative(path)
    if rel in graph.edges:
        return rel
    if not service.is_ready(ctx.daemon, ws.id) and await service.known_file(ctx.daemon, ws, rel):
        return rel
    raise service.settled_absence(ctx.daemon, ws, rel, "not an indexed file")


async def imports(params: ImportsParams, ctx: RpcContext) -> ImportsResult:
    graph = await import_graph(ctx)
    focus = await _focus(ctx, graph, params.path) if params.path else None
    kinds = tuple(sorted(set(params.cycle_kinds)))
    # A cycle's path may take a bounded search: kept with the graph it was found in.
    key, ws_id = ("cycles", kinds), ctx.workspace.id
    kept = ctx.daemon.cache.get(service.CACHE_NAMESPACE, ws_id, key)
    if kept is not None and kept[0] is graph:
        cycles: list[Cycle] = kept[1]
    else:
        cycles = await interactive(_cycles, graph, kinds)
        kept = (graph, cycles)
        ctx.daemon.cache.put(service.CACHE_NAMESPACE, ws_id, key, kept, paths=(ANY_PATH,))
    pending = not service.is_ready(ctx.daemon, ctx.workspace.id)
    # Off the loop: a whole graph of a 50k-file workspace is ~10^5 edges, a second of models.
    return await interactive(
        _imports_answer, graph, focus, params.include_external, cycles, pending
    )


def _imports_answer(
    graph: ImportGraph, focus: str | None, external: bool, cycles: list[Cycle], pending: bool
) -> ImportsResult:
    edges = [
        _edge(s, t, site)
        for s, targets in graph.edges.items()
        for t, site in targets.items()
        if focus is None or focus in (s, t)
    ]
    if external:
        edges += [
            _edge(s, x, site, external=True)
            for s, leaves in graph.external.items()
            for x, site in leaves.items()
            if focus is None or s == focus
        ]
    if focus is not None:
        cycles = [c for c in cycles if focus in c[0]]
    nodes = (
        sorted({e.source for e in edges} | {e.target for e in edges})
        if focus
        else sorted(graph.edges)
    )
    if external and focus is None:
        nodes = sorted(set(nodes) | {e.target for e in edges if e.external})
    edges.sort(key=lambda e: (e.source, e.target))
    return ImportsResult(
        nodes=nodes,
        edges=edges,
        cycles=[members for members, _ in cycles],
        cycle_paths=[
            [_edge(h.source, h.target, ImportSite(h.line, h.kind)) for h in path]
            for _, path in cycles
        ],
        pending=pending,
    )


class DependentsParams(WorkspaceParams):
    path: PathText
    symbol: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="A definition in the file (e.g. Class.meth): files referencing it",
    )
    transitive: bool = Field(False, description="Also files importing those through other files")


class DependentsResult(FreshResult):
    path: str
    symbol: str | None = None
    dependents: list[str]


def _referencing(index: WorkspaceIndex, path: str, qualname: str) -> list[str]:
    """Files other than ``path`` holding a reference to its definition ``qualname``."""
    nav = Navigator(index)
    if nav.resolver.symbol(path, qualname) is None:
        raise NotFound(f"no definition {qualname} in {path}", path=path)
    return sorted({site.path for site, _ in nav.references({(path, qualname)})} - {path})


async def graph_dependents(params: DependentsParams, ctx: RpcContext) -> DependentsResult:
    graph = await import_graph(ctx)
    rel = await _focus(ctx, graph, params.path)
    if params.symbol is None:
        found = dependents(graph, rel, params.transitive)
    else:
        index = await service.answerable(ctx.daemon, ctx.workspace)
        found = await interactive(_referencing, index, rel, params.symbol)
        if params.transitive:
            found = sorted(
                {*found, *(d for f in found for d in dependents(graph, f, True))} - {rel}
            )
    return DependentsResult(
        path=rel,
        symbol=params.symbol,
        dependents=found,
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
    pending = not service.is_ready(ctx.daemon, ctx.workspace.id)
    # Off the loop, as `imports`: a whole class graph of a large workspace is ~10^5 models.
    return await interactive(_classes_answer, graph, focus, pending)


def _classes_answer(graph: ClassGraph, focus: str | None, pending: bool) -> ClassesResult:
    def touches(node_id: str) -> bool:
        return focus is None or node_id.split(":", 1)[0] == focus

    edges = [e for e in graph.edges if touches(e.source) or touches(e.target)]
    wanted = {e.source for e in edges} | {e.target for e in edges if not e.external}
    nodes = [n for n in graph.nodes.values() if touches(n.id) or n.id in wanted]
    return ClassesResult(
        pending=pending,
        nodes=[ClassNodeOut(id=n.id, path=n.path, qualname=n.qualname, line=n.line) for n in nodes],
        edges=[
            ClassEdgeOut(source=e.source, target=e.target, kind=e.kind, external=e.external)
            for e in edges
        ],
    )


def methods() -> list[RpcMethod]:
    found = ("NOT_FOUND", "INVALID_PATH")
    named = (*found, "UNAVAILABLE")  # a file named while the first index runs may yet turn up
    return [
        RpcMethod("graph.imports", ImportsParams, imports, summary="Module import graph and every cycle", errors=named),
        RpcMethod("graph.dependents", DependentsParams, graph_dependents, summary="Files that import this file, or reference one of its symbols", errors=named),
        RpcMethod("graph.classes", ClassesParams, classes, summary="Inheritance and instantiation edges", errors=found),
    ]  # fmt: skip
