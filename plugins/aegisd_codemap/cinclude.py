"""Resolving ``#include`` to workspace files, for the import graph and C/C++ navigation.

No build system is read, so the include path is inferred: a header is a workspace file whose
path ends with what the include names (``geo/shapes.h`` matches ``include/geo/shapes.h``), the
directory above that match being one of the project's ``-I`` directories (an ``include``
directory, the includer's own, or any other holding a header of that name). Of several
matches the nearest wins: the one whose include directory is the fewest steps from the
includer's directory (beside the includer is zero steps, as a compiler looks there first for a
quoted include), and of equally near ones the one in a directory named ``include``. Matches
still tied are `ambiguous`; none is `unresolved`.
A ``../`` include resolves beside the includer only.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from typing import NamedTuple

from tree_sitter import Node

from aegisd_codemap.languages import detect_language
from aegisd_codemap.model import ImportRef
from aegisd_codemap.treesitter import text

C_LANGUAGES = frozenset({"c", "cpp"})
#: where an ``#include`` may stand outside a function (what `includes` walks into)
_HOLDERS = frozenset(
    {
        "translation_unit", "preproc_if", "preproc_ifdef", "preproc_else", "preproc_elif",
        "preproc_elifdef", "linkage_specification", "declaration_list", "namespace_definition",
    }
)  # fmt: skip


def is_c(path: str) -> bool:
    return detect_language(path) in C_LANGUAGES


class Included(NamedTuple):
    """The files an include may name: one when it resolves, several (tied nearest) when it is
    ambiguous, none when no workspace file matches."""

    files: tuple[str, ...]

    @property
    def ambiguous(self) -> bool:
        return len(self.files) > 1


def _steps(a: str, b: str) -> int:
    """Directory steps from ``a`` to ``b`` (both relative, ``""`` the root)."""
    left, right = a.split("/") if a else [], b.split("/") if b else []
    common = 0
    for x, y in zip(left, right, strict=False):
        if x != y:
            break
        common += 1
    return len(left) + len(right) - 2 * common


class IncludeIndex:
    """The workspace's C/C++ files by file name."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.paths = {p for p in paths if is_c(p)}
        self.by_name: dict[str, list[str]] = {}
        for path in sorted(self.paths):
            self.by_name.setdefault(posixpath.basename(path), []).append(path)

    def resolve(self, importer: str, header: str, system: bool = False) -> Included:
        """The files ``#include "header"`` in ``importer`` may name (``system``: ``<header>``,
        not looked for beside the includer)."""
        here = posixpath.dirname(importer)
        beside = posixpath.normpath(posixpath.join(here, header))
        if not system and beside in self.paths:
            return Included((beside,))
        wanted = posixpath.normpath(header)
        if wanted.startswith("../") or wanted.startswith("/"):
            return Included(())
        best: list[str] = []
        nearest = (-1, False)
        for path in self.by_name.get(posixpath.basename(wanted), ()):
            if path != wanted and not path.endswith("/" + wanted):
                continue
            directory = path[: len(path) - len(wanted)].rstrip("/")
            rank = (_steps(here, directory), posixpath.basename(directory) != "include")
            if nearest[0] < 0 or rank < nearest:
                best, nearest = [path], rank
            elif rank == nearest:
                best.append(path)
        return Included(tuple(best))


def written(node: Node) -> tuple[str, bool] | None:
    """``(header, system)`` of a ``preproc_include`` node (None: ``#include MACRO``)."""
    path = node.child_by_field_name("path")
    if path is None:
        return None
    if path.type == "system_lib_string":
        return text(path).strip("<>"), True
    if path.type == "string_literal":
        return text(path).strip('"'), False
    return None


def includes(root: Node) -> list[ImportRef]:
    """The includes of a tree outside functions, in order (what the import graph needs when
    the binder, which finds them too, does not run)."""
    found: list[ImportRef] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "preproc_include":
            header = written(node)
            if header is not None:
                kind = "system" if header[1] else "include"
                found.append(ImportRef(header[0], (), 0, node.start_point[0] + 1, kind))
        elif node.type in _HOLDERS:
            stack.extend(reversed(node.named_children))
    return found
