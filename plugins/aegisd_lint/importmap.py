"""The import graph as lint needs it: who imports whom, nothing more (where and how is the code
map's business). Lint keeps two (now and at the previous pass) for as long as a workspace is
open, so they are compact: a file's targets are one tuple of the path strings the workspace's
file state already holds, and the reverse is built once, when first asked."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping

from aegisd_codemap.graph import ImportGraph


class ImportMap:
    """``edges[a]`` = the workspace files ``a`` imports."""

    __slots__ = ("_importers", "edges")

    def __init__(self, edges: Mapping[str, Iterable[str]]) -> None:
        self.edges: dict[str, tuple[str, ...]] = {
            source: tuple(targets) for source, targets in edges.items()
        }
        self._importers: dict[str, tuple[str, ...]] | None = None

    @classmethod
    def of(cls, graph: ImportGraph, paths: Iterable[str] = ()) -> ImportMap:
        """`graph`'s edges, with path strings taken from `paths` (the workspace's known files)
        where they are the same, so that both share one copy of each."""
        shared = {path: path for path in paths}
        return cls(
            {
                shared.get(source, source): [shared.get(t, t) for t in targets]
                for source, targets in graph.edges.items()
            }
        )

    def importers(self) -> dict[str, tuple[str, ...]]:
        """``importers[b]`` = files that import ``b`` (built on first use; run off the loop)."""
        if self._importers is None:
            found: dict[str, list[str]] = {}
            for source, targets in self.edges.items():
                for target in targets:
                    found.setdefault(target, []).append(source)
            self._importers = {target: tuple(sources) for target, sources in found.items()}
        return self._importers

    def dependents(self, paths: Iterable[str]) -> set[str]:
        """Files importing any of `paths`, directly or through others: one walk for them all.
        One of `paths` is listed only when a file it leads to imports it."""
        importers = self.importers()
        found: set[str] = set()
        queue = deque(paths)
        while queue:
            for importer in importers.get(queue.popleft(), ()):
                if importer not in found:
                    found.add(importer)
                    queue.append(importer)
        return found
