"""The import graph: file → file edges, external leaves, cycles and dependents."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from aegisd.threads import step_aside
from aegisd_codemap.languages import detect_language
from aegisd_codemap.model import ImportRef
from aegisd_codemap.resolve import ModuleIndex, package_name

_JS = frozenset({"javascript", "typescript", "tsx"})


@dataclass(slots=True)
class ImportGraph:
    """``edges[a][b]`` is the first line where file ``a`` imports file ``b``; ``external[a][x]``
    the same for an external leaf ``x`` (a top-level Python package, an npm package, or an
    unresolved relative import as written). Every file given is a node, with or without edges.
    """

    edges: dict[str, dict[str, int]] = field(default_factory=dict)
    external: dict[str, dict[str, int]] = field(default_factory=dict)

    def reverse(self) -> dict[str, set[str]]:
        """``importers[b]`` = files that import ``b``."""
        importers: dict[str, set[str]] = {path: set() for path in self.edges}
        for source, targets in self.edges.items():
            for target in targets:
                importers.setdefault(target, set()).add(source)
        return importers


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
    index = ModuleIndex(imports.keys() if paths is None else paths, package)
    graph = ImportGraph()
    for path, refs in imports.items():
        step_aside()  # in a bulk thread: a whole workspace's graph takes a while
        edges = graph.edges.setdefault(path, {})
        external = graph.external.setdefault(path, {})
        language = detect_language(path)
        for ref in refs:
            if language == "python":
                files, leaves = index.python_targets(ref, path)
            elif language in _JS:
                found = index.js_target(ref.module, path)
                files = [found] if found else []
                relative = ref.module.startswith(".")
                leaves = [] if found else [ref.module if relative else package_name(ref.module)]
            else:
                continue
            for target in files:
                edges.setdefault(target, ref.line)
            for leaf in leaves:
                external.setdefault(leaf, ref.line)
    return graph


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


def import_cycles(graph: ImportGraph) -> list[list[str]]:
    """Every import cycle: components of two or more files, and files importing themselves;
    sorted by size (largest first), then by first path."""
    cycles = [
        component
        for component in strongly_connected(graph.edges)
        if len(component) > 1 or component[0] in graph.edges.get(component[0], {})
    ]
    return sorted(cycles, key=lambda c: (-len(c), c))


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
