"""TS declaration merging: one name declared in one file both as a type only (an interface, a
type alias) and as a value only (``const``, ``let``, a function) is one qualname with two
meanings (``interface NotFoundError`` beside ``const NotFoundError = createErrorClass(...)``).
As the TypeScript language service does, `index.references` answers for the meaning asked
about: a type's references are where it is used as a type, a value's where it is used as a
value; imports, exports and heritage clauses serve both."""

from __future__ import annotations

from aegisd_codemap.index import WorkspaceIndex
from aegisd_codemap.jsresolve import is_js
from aegisd_codemap.model import Symbol

TYPE, VALUE = "type", "value"
_TYPE_ONLY = frozenset({"interface", "type"})
_VALUE_ONLY = frozenset({"constant", "variable", "function"})
#: site kinds (`sites`) of one meaning only; the others (import, inherit) serve both
_SITES = {TYPE: frozenset({"type"}), VALUE: frozenset({"call", "read", "write"})}

Key = tuple[str, str]


def meaning_of(kind: str) -> str | None:
    return TYPE if kind in _TYPE_ONLY else VALUE if kind in _VALUE_ONLY else None


def merged(index: WorkspaceIndex, path: str, qualname: str) -> list[Symbol]:
    """The declarations of ``qualname`` in ``path`` when they have both meanings, else []."""
    extract = index.read(path) if is_js(path) else None
    found = [s for s in extract.symbols if s.qualname == qualname] if extract else []
    meanings = {meaning_of(s.kind) for s in found}
    return found if {TYPE, VALUE} <= meanings else []


def asked(site_kind: str, line: int, declarations: list[Symbol]) -> str | None:
    """The meaning a position asks about: the declaration's on its name, else the site's."""
    if site_kind == "def":
        return next((meaning_of(s.kind) for s in declarations if s.line == line), None)
    return next((m for m, kinds in _SITES.items() if site_kind in kinds), None)


def keeps(meaning: str | None, site_kind: str) -> bool:
    """Whether a site of ``site_kind`` may reference the ``meaning`` of a merged name."""
    other = VALUE if meaning == TYPE else TYPE
    return meaning is None or site_kind not in _SITES[other]


def declared_as(meaning: str | None, line: int, declarations: list[Symbol]) -> bool:
    """Whether the declaration at ``line`` (a redefinition) has ``meaning``."""
    found = next((meaning_of(s.kind) for s in declarations if s.line == line), None)
    return meaning is None or found in (None, meaning)
