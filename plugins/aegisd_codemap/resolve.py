"""Resolving imports to workspace files: Python modules and JS/TS specifiers.

Python: every directory that holds top-level modules or packages (a directory without
``__init__.py``) is a root, so flat, ``src/`` and multi-project layouts all resolve; an absolute
import is looked up in the importer's own root first, then the workspace root, then shallower
roots. A workspace whose root is itself a package (``__init__.py`` at the top, as when a folder
like ``django/contrib`` is opened) is imported from the directory above it: its modules are
named under the root's package name (``root_package``: the root's own name under the names of
enclosing packages, ``django.contrib``), so relative imports inside it and absolute ones naming
it resolve. JS/TS: relative specifiers resolve with extension and ``index.*`` lookup; bare ones
are packages.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from pathlib import Path

from aegisd_codemap.model import ImportRef

_PY_SUFFIXES = (".py", ".pyi")
_INITS = ("__init__.py", "__init__.pyi")
_JS_EXTENSIONS = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".d.ts", ".mts", ".cts")
# ESM TypeScript imports the compiled name: "./x.js" means "./x.ts".
_COMPILED = {".js": (".ts", ".tsx"), ".jsx": (".tsx",), ".mjs": (".mts",), ".cjs": (".cts",)}
#: the import root of a workspace whose root is a package: the directory above it
ABOVE_ROOT = ".."
#: the name of a root package when none was given (relative imports still resolve)
_UNNAMED_ROOT = "<root>"


def root_package(root: Path) -> str:
    """The dotted name a workspace root has when it is a Python package: its own name under
    the names of the enclosing directories that are packages too (``.../django/contrib`` →
    ``django.contrib``). Reads the disk (a few ``stat`` calls): call it off the event loop."""
    names = [root.name]
    for parent in root.parents:  # bounded: one step per directory above the root
        if not parent.name.isidentifier() or not any((parent / i).is_file() for i in _INITS):
            break
        names.append(parent.name)
    return ".".join(reversed(names))


def package_name(specifier: str) -> str:
    """The npm package a bare specifier names: ``@scope/pkg/sub`` → ``@scope/pkg``."""
    parts = specifier.split("/")
    return "/".join(parts[:2]) if specifier.startswith("@") else parts[0]


class ModuleIndex:
    """Where Python modules and JS/TS files are in a workspace (paths relative, ``/``-separated)."""

    def __init__(self, paths: Iterable[str], package: str | None = None) -> None:
        """``package`` is the root's package name (``root_package``), used when the root has an
        ``__init__``."""
        self.paths = set(paths)
        self._packages = {
            posixpath.dirname(p) for p in self.paths if posixpath.basename(p) in _INITS
        }
        #: the root's dotted name when the root is a package, and its last part as an alias
        self.package = (package or _UNNAMED_ROOT) if "" in self._packages else None
        self._alias = self.package.rsplit(".", 1)[-1] if self.package else None
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
        *directories, filename = path.split("/")
        parts = [] if filename in _INITS else [filename.rsplit(".", 1)[0]]
        # Bounded by construction: every step drops one directory.
        while directories and "/".join(directories) in self._packages:
            parts.append(directories.pop())
        if not directories and self.package is not None:
            return ABOVE_ROOT, ".".join([self.package, *reversed(parts)])
        return "/".join(directories), ".".join(reversed(parts))

    def module_name(self, path: str) -> tuple[str, str] | None:
        """``(root, dotted name)`` of a Python file in the index."""
        return self._names.get(path)

    def _canonical(self, dotted: str) -> str:
        """``dotted`` with the root package's short alias (``contrib.admin`` when the root is
        ``django.contrib``) spelled out in full."""
        alias = self._alias
        if alias is None or alias == self.package:
            return dotted
        if dotted == alias or dotted.startswith(alias + "."):
            return f"{self.package}{dotted[len(alias) :]}"
        return dotted

    def find_module(self, dotted: str, importer: str | None = None) -> str | None:
        """The file of an absolute module, preferring the importer's root, then shallow roots."""
        dotted = self._canonical(dotted)
        roots = self._roots.get(dotted.split(".", 1)[0])
        if not roots:
            return None
        own = self._names.get(importer or "", ("", ""))[0]
        top = ("", ABOVE_ROOT)
        for root in sorted(roots, key=lambda r: (r != own, r not in top, r.count("/"), r)):
            path = self._modules.get((root, dotted))
            if path is not None:
                return path
        return None

    def is_internal(self, module: str) -> bool:
        """Whether an absolute module would be a workspace file (a missing one is a broken
        import, not an external package): its top-level name is a workspace package, or it is
        inside the root package (``django.db`` is outside a root named ``django.contrib``)."""
        module = self._canonical(module)
        roots = self._roots.get(module.split(".", 1)[0], set())
        if roots - {ABOVE_ROOT}:
            return True
        package = self.package
        return bool(roots) and package is not None and f"{module}.".startswith(f"{package}.")

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
                internal = ref.level > 0 or self.is_internal(module)
                return [], [written if internal else module.split(".", 1)[0]]
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
