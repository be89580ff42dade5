"""What search ranks by besides the match itself: where a symbol is defined and what it is.

On equal matches, definitions in tests and fixtures come after the rest (a library's
`get_object` before five test doubles of it), and a ``typing.overload`` signature after the
implementation it describes (a TypeScript overload signature too). Module-qualified queries (``django.shortcuts.render``) name a file
by its module path.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

from aegisd_codemap.model import Symbol

Row = tuple[int, str, str, str, str, bool]
"""``(symbol_id, name, qualname, kind, path, stub)``, what the search index is built from;
``stub`` marks a declaration that only describes another one (``@overload``)."""

_TEST_DIRS = frozenset(
    {"test", "tests", "testing", "__tests__", "spec", "specs", "testdata"}
    | {"fixtures", "__fixtures__", "__mocks__"}
)
_OVERLOADS = frozenset({"overload", "typing.overload", "typing_extensions.overload"})
_KINDS = ("class", "interface", "struct", "union", "enum", "typedef", "type", "namespace")
#: values built from code (``const X = memo(...)``) after the functions and methods they hold
_KIND_RANK = {
    kind: rank
    for rank, kind in enumerate((*_KINDS, "function", "method", "constant", "variable", "field"))
}
#: files whose module is their directory's
_PACKAGE_FILES = frozenset({"__init__", "index"})


def in_tests(path: str) -> bool:
    """Whether ``path`` belongs to tests or fixtures by the usual conventions: a test or
    fixture directory, ``test_*.py``, ``*_test.py``, ``conftest.py``, ``*.test.ts``,
    ``*.spec.js``, ..."""
    *dirs, name = path.split("/")
    if any(d in _TEST_DIRS for d in dirs):
        return True
    stem = name.split(".", 1)[0]
    return (
        stem.startswith("test_")
        or stem.endswith(("_test", "_tests"))
        or stem == "conftest"
        or ".test." in name
        or ".spec." in name
    )


def kind_rank(kind: str) -> int:
    """Kinds in rank order on equal matches: types first, then functions and methods, then
    values."""
    return _KIND_RANK.get(kind, len(_KIND_RANK))


def is_stub(decorators: Iterable[str]) -> bool:
    """A ``typing.overload`` signature: its implementation is the definition to find."""
    return any(d in _OVERLOADS or d.endswith(".overload") for d in decorators)


def symbol_is_stub(symbol: Symbol) -> bool:
    """A declaration that describes an implementation: a TS overload signature beside it, or
    a ``typing.overload`` signature."""
    return symbol.stub or (bool(symbol.decorators) and is_stub(symbol.decorators))


def module_path(path: str) -> str:
    """The dotted module a file is, lowercased: ``pkg/sub/__init__.py`` → ``pkg.sub``,
    ``src/app/views.py`` → ``src.app.views`` (a query may name any dotted suffix of it)."""
    stem = posixpath.splitext(path)[0]
    if posixpath.basename(stem) in _PACKAGE_FILES:
        stem = posixpath.dirname(stem)
    return stem.replace("/", ".").lower()
