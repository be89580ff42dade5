"""Resolving imports to workspace files: Python modules and JS/TS specifiers.

Python: every directory that holds top-level modules or packages (a directory without
``__init__.py``) is a root, so flat, ``src/`` and multi-project layouts all resolve; an absolute
import is looked up in the importer's own root first, then the workspace root, then shallower
roots. JS/TS: relative specifiers resolve with extension and ``index.*`` lookup; bare ones are
packages.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

from aegisd_codemap.model import ImportRef

_PY_SUFFIXES = (".py", ".pyi")
_INITS = ("__init__.py", "__init__.pyi")
_JS_EXTENSIONS = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".d.ts", ".mts", ".cts")
# ESM TypeScript imports the compiled name: "./x.js" means "./x.ts".
_COMPILED = {".js": (".ts", ".tsx"), ".jsx": (".tsx",), ".mjs": (".mts",), ".cjs": (".cts",)}


def package_name(specifier: str) -> str:
    """The npm package a bare specifier names: ``@scope/pkg/sub`` → ``@scope/pkg``."""
    parts = specifier.split("/")
    return "/".join(parts[:2]) if specifier.startswith("@") else parts[0]


class ModuleIndex:
    """Where Python modules and JS/TS files are in a workspace (paths relative, ``/``-separated)."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.paths = set(paths)
        self._packages = {
            posixpath.dirname(p) for p in self.paths if posixpath.basename(p) in _INITS
        }
        self._modules: dict[tuple[str, str], str] = {}  # (root, dotted) -> path
        self._roots: dict[str, set[str]] = {}  # top-level name -> roots holding it
        self._names: dict[str, tuple[str, str]] = {}  # path -> (root, dotted)
        for path in sorted(self.paths, key=lambda p: p.endswith(".pyi")):  # .py wins over .pyi
            if path.endswith(_PY_SUFFIXES):
                root, dotted = self._locate(path)
                if dotted:
                    self._names[path] = (root, dotted)
                    self._modules.setdefault((root, dotted), path)
                    self._roots.setdefault(dotted.split(".", 1)[0], set()).add(root)

    def _locate(self, path: str) -> tuple[str, str]:
        """The root a Python file imports from, and its dotted module name there."""
        directory, filename = posixpath.split(path)
        parts = [] if filename in _INITS else [filename.rsplit(".", 1)[0]]
        while directory in self._packages:
            directory, package = posixpath.split(directory)
            parts.append(package)
        return directory, ".".join(reversed(parts))

    def module_name(self, path: str) -> tuple[str, str] | None:
        """``(root, dotted name)`` of a Python file in the index."""
        return self._names.get(path)

    def find_module(self, dotted: str, importer: str | None = None) -> str | None:
        """The file of an absolute module, preferring the importer's root, then shallow roots."""
        roots = self._roots.get(dotted.split(".", 1)[0])
        if not roots:
            return None
        own = self._names.get(importer or "", ("", ""))[0]
        for root in sorted(roots, key=lambda r: (r != own, r != "", r.count("/"), r)):
            path = self._modules.get((root, dotted))
            if path is not None:
                return path
        return None

    def absolute(self, ref: ImportRef, importer: str) -> str | None:
        """The absolute module a Python import names (relative ones against the importer)."""
        if ref.level == 0:
            return ref.module
        located = self._names.get(importer)
        if located is None:
            return None
        package = located[1].split(".")
        if posixpath.basename(importer) not in _INITS:
            package.pop()
        if ref.level - 1 > len(package):
            return None
        base = package[: len(package) - (ref.level - 1)]
        return ".".join([*base, ref.module] if ref.module else base)

    def python_targets(self, ref: ImportRef, importer: str) -> tuple[list[str], list[str]]:
        """``(files, externals)`` one Python import reaches.

        ``from pkg import mod`` reaches the submodule when there is one and the package
        otherwise. A module that does not resolve is an external leaf: its top-level name when
        no workspace package has that name, else its name as written (a broken import).
        """
        module = self.absolute(ref, importer)
        written = "." * ref.level + ref.module
        if module is None:
            return [], [written]
        files: list[str] = []
        needs_module = ref.kind == "import" or not ref.names
        for name, _ in ref.names:
            found = self.find_module(f"{module}.{name}", importer) if name != "*" else None
            if found is None:
                needs_module = True
            else:
                files.append(found)
        if needs_module:
            found = self.find_module(module, importer) if module else None
            if found is not None:
                files.append(found)
            elif not files:
                top = module.split(".", 1)[0]
                internal = ref.level > 0 or top in self._roots
                return [], [written if internal else top]
        return files, []

    def js_target(self, specifier: str, importer: str) -> str | None:
        """The file a relative JS/TS specifier names, or None (bare or not found)."""
        if not specifier.startswith(("./", "../")) and specifier not in (".", ".."):
            return None
        base = posixpath.normpath(posixpath.join(posixpath.dirname(importer), specifier))
        if base.startswith("../") or base == "..":
            return None
        stem, extension = posixpath.splitext(base)
        directory = "" if base == "." else base + "/"
        candidates = [base]
        candidates += [stem + alt for alt in _COMPILED.get(extension, ())]
        candidates += [base + ext for ext in _JS_EXTENSIONS]
        candidates += [f"{directory}index{ext}" for ext in _JS_EXTENSIONS]
        return next((c for c in candidates if c in self.paths), None)
