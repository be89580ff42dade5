"""The import graph: file → file edges (each with where and when the import runs), external
leaves, cycles as real paths of imports, and dependents."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import NamedTuple

from aegisd.threads import step_aside
from aegisd_codemap.cinclude import C_LANGUAGES, IncludeIndex
from aegisd_codemap.languages import detect_language
from aegisd_codemap.model import IMPORT_CONTEXTS, TOP_LEVEL, ImportRef
from aegisd_codemap.resolve import ModuleIndex, package_name

_JS = frozenset({"javascript", "typescript", "tsx"})
_STRENGTH = {context: rank for rank, context in enumerate(IMPORT_CONTEXTS)}
#: steps of the search for a cycle through every file of a component (it is exponential in
#: the worst case); past them the shortest cycle through its first file is shown instead
TOUR_SEARCH_STEPS = 20_000


class ImportSite(NamedTuple):
    """Where one file imports another: the first line of the strongest ``kind`` of import
    between them (``model.IMPORT_CONTEXTS``: a top-level import outranks a conditional one,
    which outranks a deferred one)."""

    line: int
    kind: str


class ImportHop(NamedTuple):
    """One import on a cycle: ``source`` imports ``target`` at ``line``, as ``kind``."""

    source: str
    target: str
    line: int
    kind: str


@dataclass(slots=True)
class ImportGraph:
    """``edges[a][b]`` says where file ``a`` imports file ``b``; ``external[a][x]`` the same for
    an external leaf ``x`` (a top-level Python package, an npm package, an unresolved relative
    import as written, a C/C++ system header as ``<stdio.h>``, a quoted include that matches no
    workspace header or several equally near ones as ``"config.h"``). Every file given is a
    node, with or without edges.
    """

    edges: dict[str, dict[str, ImportSite]] = field(default_factory=dict)
    external: dict[str, dict[str, ImportSite]] = field(default_factory=dict)

    def reverse(self) -> dict[str, set[str]]:
        """``importers[b]`` = files that import ``b``."""
        importers: dict[str, set[str]] = {path: set() for path in self.edges}
        for source, targets in self.edges.items():
            for target in targets:
                importers.setdefault(target, set()).add(source)
        return importers

    def of_kinds(self, kinds: Collection[str]) -> dict[str, dict[str, ImportSite]]:
        """The edges whose kind is one of ``kinds`` (every node kept)."""
        if set(IMPORT_CONTEXTS) <= set(kinds):
            return self.edges
        return {
            source: {t: site for t, site in targets.items() if site.kind in kinds}
            for source, targets in self.edges.items()
        }


def _add(sites: dict[str, ImportSite], target: str, line: int, kind: str) -> None:
    """Keep the strongest kind of import of ``target`` (and its first line)."""
    known = sites.get(target)
    if known is None or _STRENGTH.get(kind, 0) < _STRENGTH.get(known.kind, 0):
        sites[target] = ImportSite(line, kind)


def build_import_graph(
    imports: Mapping[str, Sequence[ImportRef]],
    paths: Iterable[str] | None = None,
    package: str | None = None,
) -> ImportGraph:
    """The graph of ``imports`` (per file), resolved against ``paths`` (default: the same files)
    and the root's package name (``resolve.root_package``, used when the root is a package).

    Pass every workspace path as ``paths`` when some files have no extract (``.d.ts`` only
    resolved, say); files of other languages keep no edges.
    """
    builder = ImportGraphBuilder(imports.keys() if paths is None else paths, package)
    for path, refs in imports.items():
        step_aside()  # in a bulk thread: a whole workspace's graph takes a while
        builder.add(path, refs)
    return builder.graph


class ImportGraphBuilder:
    """An `ImportGraph` built a file at a time, its imports resolved against every path given
    at the start: a caller streaming outlines from the store never holds them all at once
    (a 50k-file workspace's outlines are ~200 MiB of objects; its graph a tenth of that)."""

    def __init__(self, paths: Iterable[str], package: str | None = None) -> None:
        self._every = list(paths)
        self._index = ModuleIndex(self._every, package)
        self._headers: IncludeIndex | None = None
        self.graph = ImportGraph()

    def add(self, path: str, refs: Iterable[ImportRef]) -> None:
        """`path`'s imports as its edges and external leaves (a node even without any)."""
        edges = self.graph.edges.setdefault(path, {})
        external = self.graph.external.setdefault(path, {})
        language = detect_language(path)
        for ref in refs:
            if language == "python":
                files, leaves = self._index.python_targets(ref, path)
            elif language in _JS:
                found = self._index.js_target(ref.module, path)
                files = [found] if found else []
                relative = ref.module.startswith(".")
                leaves = [] if found else [ref.module if relative else package_name(ref.module)]
            elif language in C_LANGUAGES:
                self._headers = self._headers or IncludeIndex(self._every)
                files, leaves = _include_targets(self._headers, ref, path)
            else:
                continue
            for target in files:
                _add(edges, target, ref.line, ref.context)
            for leaf in leaves:
                _add(external, leaf, ref.line, ref.context)


def _include_targets(
    headers: IncludeIndex, ref: ImportRef, path: str
) -> tuple[list[str], list[str]]:
    """``(files, externals)`` of one ``#include``: a system header is external; a quoted one
    is the nearest matching header (`cinclude`), external as written when none or several
    tie."""
    if ref.kind == "system":
        return [], [f"<{ref.module}>"]
    found = headers.resolve(path, ref.module)
    if len(found.files) == 1:
        return list(found.files), []
    return [], [f'"{ref.module}"']


def strongly_connected(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (deep graphs would overflow the
    recursion limit); each component sorted, in no particular order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    for start in edges:
        if start in index:
            continue
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        work = [(start, iter(edges.get(start, ())))]
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges.get(child, ()))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component: list[str] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return components


def import_cycles(graph: ImportGraph, kinds: Collection[str] = (TOP_LEVEL,)) -> list[list[str]]:
    """Every import cycle through imports of ``kinds`` (default: those that run as the module
    loads): components of two or more files, and files importing themselves; each sorted, and
    sorted by size (largest first), then by first path."""
    edges = graph.of_kinds(kinds)
    cycles = [
        component
        for component in strongly_connected(edges)
        if len(component) > 1 or component[0] in edges.get(component[0], {})
    ]
    return sorted(cycles, key=lambda c: (-len(c), c))


def cycle_path(
    members: Sequence[str], edges: Mapping[str, Mapping[str, ImportSite]]
) -> list[ImportHop]:
    """A closed path of real imports through a cycle (one of ``import_cycles``, with the edges
    it was found over), from its first file: through every file once when the bounded search
    finds such a path, else the shortest cycle through the first file ([] when ``members`` are
    no cycle)."""
    nodes = set(members)
    start = min(nodes)

    alone = len(nodes) == 1  # a file importing itself; in a larger cycle that shows nothing

    def successors(node: str) -> list[str]:
        return sorted(t for t in edges.get(node, {}) if t in nodes and (alone or t != node))

    order = _tour(start, nodes, successors) or _shortest_cycle(start, successors)
    return [ImportHop(a, b, *edges[a][b]) for a, b in pairwise([*order, start])] if order else []


def _tour(start: str, nodes: set[str], successors: Callable[[str], list[str]]) -> list[str]:
    """Files in an order where each imports the next and the last the first (every file once),
    or [] when none is found within TOUR_SEARCH_STEPS."""
    if len(nodes) == 1:
        return [start] if start in successors(start) else []
    path = [start]
    on_path = {start}
    stack = [iter(successors(start))]
    for _ in range(TOUR_SEARCH_STEPS):
        if not stack:
            break
        nxt = next(stack[-1], None)
        if nxt is None:
            stack.pop()
            on_path.discard(path.pop())
        elif nxt == start and len(path) == len(nodes):
            return path
        elif nxt not in on_path:
            path.append(nxt)
            on_path.add(nxt)
            stack.append(iter(successors(nxt)))
    return []


def _shortest_cycle(start: str, successors: Callable[[str], list[str]]) -> list[str]:
    """The files of a shortest cycle through ``start`` (breadth first, each file once)."""
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in successors(node):
            if nxt == start:
                order = [node]
                while order[-1] != start:
                    order.append(came_from[order[-1]])
                return order[::-1]
            if nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    return []  # not a cycle after all


def dependents(graph: ImportGraph, path: str, transitive: bool = False) -> list[str]:
    """Files importing ``path`` (with ``transitive``, importing it through other files too),
    sorted; ``path`` itself is left out even when it sits on a cycle."""
    importers = graph.reverse()
    found: set[str] = set()
    queue = deque([path])
    while queue:
        for importer in importers.get(queue.popleft(), ()):
            if importer not in found:
                found.add(importer)
                if transitive:
                    queue.append(importer)
    found.discard(path)
    return sorted(found)
