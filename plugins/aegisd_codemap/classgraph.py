"""The class graph: inheritance and instantiation edges between Python and JS/TS classes.

Names are resolved the way the file sees them: a class of the same file, then a name bound by an
import (``from .base import Base``, ``import pkg.base``, ``import { Base } from './base'``,
``import * as m``, default imports), followed through re-exports (a package ``__init__`` importing
the class, ``export { Base } from``, ``export *``). Class nodes are ``path:Qualname``; a base that
does not resolve is an external leaf named as it was imported (``django.db.models.Model``,
``react:Component``) or as written (``Exception``). Instantiations count only when they resolve.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from aegisd_codemap.model import FileExtract
from aegisd_codemap.resolve import ModuleIndex

_MAX_HOPS = 8  # re-export chains followed before giving up
#: (file, name) lookups one name may cost: ``*`` imports fan out at every hop, so a web of them
#: (each file star-importing several others) would otherwise cost fan-out ** hops
_MAX_LOOKUPS = 256


@dataclass(frozen=True, slots=True)
class ClassNode:
    id: str
    path: str
    qualname: str
    line: int


@dataclass(frozen=True, slots=True)
class ClassEdge:
    """``kind`` is ``inherits`` or ``instantiates``; ``external`` when ``target`` is a leaf."""

    source: str
    target: str
    kind: str
    external: bool = False


@dataclass(slots=True)
class ClassGraph:
    nodes: dict[str, ClassNode] = field(default_factory=dict)
    edges: list[ClassEdge] = field(default_factory=list)
    external: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class _Binding:
    """What a local name stands for: a Python module or member (absolute dotted names), or a
    JS/TS file's export (``member`` ``*`` for the whole module) or an external package's."""

    python: str | None = None
    file: str | None = None
    package: str | None = None
    member: str = "*"


class _Resolver:
    def __init__(
        self, files: Mapping[str, FileExtract], paths: Iterable[str] | None, package: str | None
    ) -> None:
        self.files = files
        self.index = ModuleIndex(files.keys() if paths is None else paths, package)
        self.classes = {path: {c.qualname for c in f.classes} for path, f in files.items()}
        self._bindings: dict[str, tuple[dict[str, _Binding], list[_Binding]]] = {}

    def bindings(self, path: str) -> tuple[dict[str, _Binding], list[_Binding]]:
        """Names the file's imports bind, and its ``*`` imports/re-exports."""
        cached = self._bindings.get(path)
        if cached is not None:
            return cached
        names: dict[str, _Binding] = {}
        stars: list[_Binding] = []
        extract = self.files.get(path)
        refs = extract.imports if extract is not None else []
        python = extract is not None and extract.language == "python"
        for ref in refs:
            if python:
                module = self.index.absolute(ref, path)
                if module is None:
                    continue
                if ref.kind == "import":
                    local = ref.alias or module.split(".", 1)[0]
                    names[local] = _Binding(python=module if ref.alias else local)
                for name, local in ref.names:
                    binding = _Binding(python=f"{module}.{name}" if module else name)
                    if name == "*":
                        stars.append(_Binding(python=module))
                    else:
                        names[local] = binding
                continue
            target = self.index.js_target(ref.module, path)
            base = _Binding(file=target) if target else _Binding(package=ref.module)
            for name, local in ref.names:
                binding = _Binding(base.python, base.file, base.package, name)
                if name == "*" and not local:
                    stars.append(binding)
                else:
                    names[local or name] = binding
        self._bindings[path] = names, stars
        return names, stars

    def resolve(self, path: str, dotted: str) -> str | None:
        """The class node ``dotted`` names in ``path``, or None."""
        return self._resolve(path, dotted, 0, set())

    def _resolve(self, path: str, dotted: str, hops: int, seen: set[tuple[str, str]]) -> str | None:
        """``resolve``, ``hops`` re-exports deep; ``seen`` holds the lookups made for this name
        (each is made once: import cycles end here, and the total is bounded)."""
        if hops > _MAX_HOPS or not dotted or (path, dotted) in seen or len(seen) >= _MAX_LOOKUPS:
            return None
        seen.add((path, dotted))
        if dotted in self.classes.get(path, ()):
            return f"{path}:{dotted}"
        head, _, rest = dotted.partition(".")
        names, stars = self.bindings(path)
        binding = names.get(head)
        if binding is None:
            for star in stars:
                found = self._through(star, dotted, path, hops, seen)
                if found is not None:
                    return found
            return None
        return self._through(binding, rest, path, hops, seen)

    def _through(
        self, binding: _Binding, rest: str, importer: str, hops: int, seen: set[tuple[str, str]]
    ) -> str | None:
        """Resolve ``rest`` inside what ``binding`` stands for."""
        if binding.python is not None:
            full = f"{binding.python}.{rest}" if rest else binding.python
            parts = full.split(".")
            for end in range(len(parts) - 1, 0, -1):  # the longest module prefix holds the rest
                module = self.index.find_module(".".join(parts[:end]), importer)
                if module is not None:
                    return self._resolve(module, ".".join(parts[end:]), hops + 1, seen)
            return None
        if binding.file is None:
            return None
        member = binding.member
        if member == "default":
            extract = self.files.get(binding.file)
            member = (extract.default_export or "") if extract is not None else ""
        name = rest if member == "*" else (f"{member}.{rest}" if rest else member)
        return self._resolve(binding.file, name, hops + 1, seen)

    def external(self, path: str, dotted: str) -> str:
        """An unresolved name as its file imported it (``pkg.mod.Name``, ``react:Component``)."""
        head, _, rest = dotted.partition(".")
        binding = self.bindings(path)[0].get(head)
        if binding is None:
            return dotted
        if binding.python is not None:
            return f"{binding.python}.{rest}" if rest else binding.python
        source = binding.package or binding.file or ""
        member = binding.member
        if member in ("*", "default") and rest:  # ``React.Component`` is react's Component
            member = rest
        elif rest:
            member = f"{member}.{rest}"
        return source if member == "*" else f"{source}:{member}"


def build_class_graph(
    files: Mapping[str, FileExtract],
    paths: Iterable[str] | None = None,
    package: str | None = None,
) -> ClassGraph:
    """Inheritance and instantiation edges between the classes of ``files`` (per path),
    resolved against ``paths`` (default: the same files) and the root's package name
    (``resolve.root_package``); sorted, without duplicates."""
    resolver = _Resolver(files, paths, package)
    graph = ClassGraph()
    edges: set[ClassEdge] = set()
    for path, extract in files.items():
        for info in extract.classes:
            source = f"{path}:{info.qualname}"
            graph.nodes[source] = ClassNode(source, path, info.qualname, info.line)
            for base in info.bases:
                target = resolver.resolve(path, base)
                if target is None:
                    leaf = resolver.external(path, base)
                    graph.external.add(leaf)
                    edges.add(ClassEdge(source, leaf, "inherits", external=True))
                else:
                    edges.add(ClassEdge(source, target, "inherits"))
            for callee in info.instantiates:
                target = resolver.resolve(path, callee)
                if target is not None and target != source:
                    edges.add(ClassEdge(source, target, "instantiates"))
    graph.edges = sorted(edges, key=lambda e: (e.source, e.kind, e.target))
    return graph
