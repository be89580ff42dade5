"""What a file's lint result depends on besides its own content: the files it imports.

A whole-program tool's result for a file (mypy's errors, a test file's outcome) can change when
any workspace file it imports, directly or through others, changes. Its cache key therefore
hashes the file's *closure*: a Merkle hash over the strongly connected components of the code
map's import graph (a component's hash covers its members' contents and the hashes of the
components it imports), computed for every file in one linear pass. Without an import graph
every Python file is taken to depend on every other one: correct, only less incremental.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath

from aegisd_codemap.graph import strongly_connected

from aegisd_lint.importmap import ImportMap

PYTHON_SUFFIXES = (".py", ".pyi")


class Dependencies:
    """Closure hashes and importers of workspace files, from their content hashes and the
    import graph now (`graph`) and at the previous lint pass (`previous`, whose edges still
    know who imported a file that is gone)."""

    def __init__(
        self,
        hashes: Mapping[str, str],
        graph: ImportMap | None,
        previous: ImportMap | None = None,
    ) -> None:
        self.hashes = hashes
        self.graph = graph
        self.previous = previous
        self._closures: dict[str, str] | None = None

    def prepare(self) -> dict[str, str]:
        """Every closure hash, computed once (one linear pass; call it off the event loop)."""
        if self._closures is None:
            self._closures = self._compute()
        return self._closures

    def closure_hash(self, path: str) -> str:
        """A hash of `path`'s content and of everything it imports, transitively."""
        found = self.prepare().get(path)
        return found if found is not None else _digest("file", path, self.hashes.get(path, ""))

    def dependents(self, paths: Iterable[str]) -> set[str]:
        """Files importing any of `paths`, transitively, now or at the previous pass."""
        if self.graph is None:
            return {path for path in self.hashes if path.endswith(PYTHON_SUFFIXES)}
        paths = list(paths)
        found = self.graph.dependents(paths)
        if self.previous is not None:
            found |= self.previous.dependents(paths)
        return found

    def ancestors(self, path: str, names: Iterable[str]) -> list[str]:
        """Known files called one of `names` in `path`'s directory or above (conftest.py)."""
        found = []
        for folder in PurePosixPath(path).parents:
            for name in names:
                candidate = (folder / name).as_posix()
                if candidate != path and candidate in self.hashes:
                    found.append(candidate)
        return found

    def _compute(self) -> dict[str, str]:
        if self.graph is None:
            everything = sorted(
                (path, digest)
                for path, digest in self.hashes.items()
                if path.endswith(PYTHON_SUFFIXES)
            )
            workspace = _digest("workspace", *(f"{path}\0{digest}" for path, digest in everything))
            return {path: _digest("closure", path, workspace) for path, _ in everything}
        return closure_hashes(self.graph.edges, self.hashes)


def closure_hashes(edges: Mapping[str, Iterable[str]], hashes: Mapping[str, str]) -> dict[str, str]:
    """Each node's closure hash: its component's members and contents, and, recursively, the
    hashes of the components it has edges to."""
    components = strongly_connected(edges)
    component_of = {node: index for index, members in enumerate(components) for node in members}
    children = [
        sorted({component_of[t] for m in members for t in edges.get(m, ())} - {index})
        for index, members in enumerate(components)
    ]
    done: list[str | None] = [None] * len(components)
    for start in range(len(components)):
        # an explicit post-order walk: the condensed graph is acyclic but may be deep
        stack = [(start, False)]
        while stack:
            index, expanded = stack.pop()
            if done[index] is not None:
                continue
            if not expanded:
                stack.append((index, True))
                stack.extend((child, False) for child in children[index] if done[child] is None)
                continue
            members = (f"{m}\0{hashes.get(m, '')}" for m in components[index])
            done[index] = _digest(
                "component", *members, "\0imports", *sorted(str(done[c]) for c in children[index])
            )
    return {
        node: _digest("closure", node, str(done[index])) for node, index in component_of.items()
    }


def _digest(*parts: str) -> str:
    # surrogateescape: a file name that is not UTF-8 hashes as its bytes
    data = "\0\0".join(parts).encode("utf-8", "surrogateescape")
    return hashlib.blake2b(data, digest_size=16).hexdigest()
