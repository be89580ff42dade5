"""Call flow over the workspace (AEGIS's, no longer confined to one entry file): callees or
callers of definitions to a depth, from the stored call sites and their bindings.

Depth first from each root, one branch at a time: an edge back to a node on the current branch
is a cycle (reported with that branch; the edge kept, not followed); a node already expanded on
another branch is not expanded again. Calls that do not resolve to a workspace definition are
listed (or become leaf nodes with ``include_external``). A JS/TS method's callers include the
calls through the methods it overrides (``ambiguous``: the call may run another override).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from aegisd_codemap.jsfamily import overridden
from aegisd_codemap.navigate import Navigator, Site
from aegisd_codemap.navresolve import AMBIGUOUS, SYM, Resolution

MODULE = "<module>"
MAX_UNRESOLVED = 50


class Node(NamedTuple):
    id: str
    path: str
    qualname: str
    name: str
    kind: str
    line: int


class Edge(NamedTuple):
    source: str
    target: str
    line: int
    column: int
    call_type: str  # function, method, constructor
    resolution: str


class Unresolved(NamedTuple):
    source: str
    name: str
    path: str
    line: int
    column: int
    resolution: str
    target: str  # the external or builtin name, or the name as written


@dataclass
class CallGraph:
    roots: list[str] = field(default_factory=list)
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    cycles: list[list[str]] = field(default_factory=list)
    max_depth_reached: bool = False
    unresolved: list[Unresolved] = field(default_factory=list)
    unresolved_total: int = 0


def node_id(path: str, qualname: str) -> str:
    return f"{path}:{qualname or MODULE}"


class _Explorer:
    def __init__(self, nav: Navigator, callers: bool, depth: int, include_external: bool) -> None:
        self.nav = nav
        self.callers = callers
        self.depth = depth
        self.include_external = include_external
        self.graph = CallGraph()
        self.expanded: set[tuple[str, str]] = set()
        self.edge_keys: set[tuple[str, str, int, int]] = set()

    def node(self, path: str, qualname: str) -> str:
        key = node_id(path, qualname)
        if key not in self.graph.nodes:
            symbol = self.nav.resolver.symbol(path, qualname) if qualname else None
            if symbol is not None:
                found = Node(key, path, qualname, symbol.name, symbol.kind, symbol.line)
            else:
                found = Node(key, path, qualname, qualname or path, "module", 1)
            self.graph.nodes[key] = found
        return key

    def links(
        self, path: str, qualname: str
    ) -> list[tuple[Site, Resolution, list[tuple[str, str]]]]:
        """Each call site of (or to) the node, and the nodes at its other end."""
        if self.callers:
            found = [
                (site, resolution, [(site.path, site.scope)])
                for site, resolution in self.nav.callers(path, qualname)
            ]
            seen = {(site.path, site.line, site.column) for site, _, _ in found}
            for method in overridden(self.nav, path, qualname):  # JS/TS: a call through a base
                for site, resolution in self.nav.callers(*method):
                    if (site.path, site.line, site.column) not in seen:
                        seen.add((site.path, site.line, site.column))
                        maybe = Resolution(AMBIGUOUS, resolution.values)
                        found.append((site, maybe, [(site.path, site.scope)]))
            return found
        return [
            (site, resolution, [(v.path, v.name) for v in resolution.values if v.kind == SYM])
            for site, resolution in self.nav.callees(path, qualname)
        ]

    def visit(self, path: str, qualname: str, level: int, branch: list[tuple[str, str]]) -> None:
        self.expanded.add((path, qualname))
        here = self.node(path, qualname)
        branch = [*branch, (path, qualname)]
        for site, resolution, others in self.links(path, qualname):
            if not others:
                self.outside(here, site, resolution)
                continue
            status = AMBIGUOUS if len(others) > 1 else resolution.status
            for other in others:
                there = self.node(*other)
                source, target = (there, here) if self.callers else (here, there)
                self.edge(source, target, site, status)
                if other in branch:
                    start = branch.index(other)
                    self.graph.cycles.append([node_id(*n) for n in branch[start:]] + [there])
                elif other not in self.expanded:
                    if level >= self.depth:
                        self.graph.max_depth_reached = True
                    else:
                        self.visit(*other, level + 1, branch)

    def edge(self, source: str, target: str, site: Site, status: str) -> None:
        key = (source, target, site.line, site.column)
        if key in self.edge_keys:
            return
        self.edge_keys.add(key)
        callee = self.graph.nodes[target]
        call_type = {"class": "constructor", "method": "method"}.get(callee.kind, "function")
        self.graph.edges.append(Edge(source, target, site.line, site.column, call_type, status))

    def outside(self, here: str, site: Site, resolution: Resolution) -> None:
        """A call to nothing in the workspace: listed, or a leaf node."""
        value = resolution.values[0] if resolution.values else None
        target = (
            value.name if value is not None and resolution.status != "unresolved" else site.name
        )
        self.graph.unresolved_total += 1
        if self.include_external:
            key = f"{resolution.status}:{target}"
            if key not in self.graph.nodes:
                self.graph.nodes[key] = Node(
                    key, "", target, target.rsplit(".", 1)[-1], resolution.status, 0
                )
            self.edge(here, key, site, resolution.status)
        elif len(self.graph.unresolved) < MAX_UNRESOLVED:
            self.graph.unresolved.append(
                Unresolved(
                    here, site.name, site.path, site.line, site.column, resolution.status, target
                )
            )


def explore(
    nav: Navigator,
    roots: list[tuple[str, str]],
    *,
    callers: bool,
    depth: int,
    include_external: bool = False,
) -> CallGraph:
    """The call graph from ``roots`` (path, qualname): callees, or with ``callers`` callers."""
    explorer = _Explorer(nav, callers, depth, include_external)
    for path, qualname in roots:
        explorer.graph.roots.append(explorer.node(path, qualname))
        if (path, qualname) not in explorer.expanded:
            explorer.visit(path, qualname, 1, [])
    return explorer.graph
