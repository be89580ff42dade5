"""The import graph as lint needs it: who imports whom, nothing more (where and how is the code
map's business). Lint keeps two (now and at the previous pass) for as long as a workspace is
open, so they are compact: a file's targets are one tuple of the path strings the workspace's
file state already holds, and the reverse is built once, when first asked. Each file's edges
carry the content hash they were read for, so that an edit re-reads the files that changed
(`updated`), not the whole workspace's outlines."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence

from aegisd_codemap.graph import ImportGraph


class ImportMap:
    """``edges[a]`` = the workspace files ``a`` imports; ``digests[a]`` = the content hash of
    ``a`` they were read for ("": not read)."""

    __slots__ = ("_importers", "digests", "edges")

    def __init__(
        self, edges: Mapping[str, Iterable[str]], digests: Mapping[str, str] | None = None
    ) -> None:
        self.edges: dict[str, tuple[str, ...]] = {
            source: tuple(targets) for source, targets in edges.items()
        }
        self.digests: dict[str, str] = dict(digests) if digests is not None else {}
        self._importers: dict[str, tuple[str, ...]] | None = None

    @classmethod
    def of(
        cls, graph: ImportGraph, paths: Iterable[str] = (), digests: Mapping[str, str] | None = None
    ) -> ImportMap:
        """`graph`'s edges, with path strings taken from `paths` (the workspace's known files)
        where they are the same, so that both share one copy of each."""
        shared = {path: path for path in paths}
        return cls(
            {
                shared.get(source, source): [shared.get(t, t) for t in targets]
                for source, targets in graph.edges.items()
            },
            digests,
        )

    def changed(self, digests: Mapping[str, str]) -> Sequence[str] | None:
        """The files whose content is not what their edges were read for; None when files
        came or went (every file's imports may resolve differently: build the map anew)."""
        if self.digests.keys() != digests.keys():
            return None
        return [path for path, digest in digests.items() if self.digests[path] != digest]

    def updated(self, graph: ImportGraph, digests: Mapping[str, str]) -> ImportMap:
        """This map with the edges of the files `graph` holds taken from it (read again at
        `digests`); the other files' edges shared with this one."""
        edges = dict(self.edges)
        edges.update((source, tuple(targets)) for source, targets in graph.edges.items())
        return ImportMap(edges, {**self.digests, **digests})

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
