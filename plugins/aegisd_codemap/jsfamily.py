"""The methods a JS/TS method overrides or is overridden by: one symbol to `index.references`,
as to the TypeScript language service (a call through the base reaches every override). Fields
and interface properties count as well (``next(v) {}`` implements ``next: (v: T) => void``)."""

from __future__ import annotations

from collections.abc import Callable

from aegisd_codemap.jsresolve import is_js
from aegisd_codemap.navigate import Navigator, innermost, sites_named
from aegisd_codemap.navresolve import SYM

#: classes followed up and down from one method
MAX_CLASSES = 64
#: members of one name across a hierarchy: a method may implement an interface's property
_MEMBERS = frozenset({"method", "field", "property"})


def override_family(nav: Navigator, targets: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """``targets`` with the same-named members related to them as TypeScript relates them:
    those of their classes' bases (the roots), and of every class below a root."""
    found = set(targets)
    for path, qualname in targets:
        symbol = nav.resolver.symbol(path, qualname)
        if not is_js(path) or symbol is None or symbol.kind not in _MEMBERS or not symbol.parent:
            continue
        owner = nav.resolver.symbol(path, symbol.parent)
        if owner is None or owner.kind not in ("class", "interface"):
            continue
        above = _walk(nav, [(path, symbol.parent)], _bases)
        roots = [c for c in above if _member(nav, c, symbol.name) is not None]
        for cls in above | _walk(nav, roots, _subclasses):
            member = _member(nav, cls, symbol.name)
            if member is not None:
                found.add(member)
    return found


def overridden(nav: Navigator, path: str, qualname: str) -> list[tuple[str, str]]:
    """The same-named methods of a JS/TS method's bases, transitively: a call through one of
    them may run this method (`graph.calls` callers)."""
    symbol = nav.resolver.symbol(path, qualname) if is_js(path) else None
    if symbol is None or symbol.kind != "method" or not symbol.parent:
        return []
    above = _walk(nav, [(path, symbol.parent)], _bases) - {(path, symbol.parent)}
    return sorted(m for c in above if (m := _member(nav, c, symbol.name)) is not None)


def _member(nav: Navigator, cls: tuple[str, str], name: str) -> tuple[str, str] | None:
    qualname = f"{cls[1]}.{name}"
    return (cls[0], qualname) if nav.resolver.symbol(cls[0], qualname) is not None else None


Step = Callable[[Navigator, str, str], list[tuple[str, str]]]


def _walk(nav: Navigator, start: list[tuple[str, str]], step: Step) -> set[tuple[str, str]]:
    """``start`` and the classes ``step`` leads to from them, transitively (bases, or
    subclasses), at most `MAX_CLASSES`."""
    seen = set(start)
    queue = list(start)
    while queue and len(seen) < MAX_CLASSES:
        for other in step(nav, *queue.pop()):
            if other not in seen:
                seen.add(other)
                queue.append(other)
    return seen


def _bases(nav: Navigator, path: str, cls: str) -> list[tuple[str, str]]:
    names = nav.resolver.names(path)
    found = []
    for base in names.bases.get(cls, ()) if names is not None else ():
        for value in nav.resolver.dotted(path, cls, base, 0):
            if value.kind == SYM:
                found.append((value.path, value.name))
    return found


def _subclasses(nav: Navigator, path: str, cls: str) -> list[tuple[str, str]]:
    """Classes whose ``extends``/``implements`` site resolves to ``cls``."""
    found = []
    for site in sites_named(nav.index, cls.rsplit(".", 1)[-1]):
        if site.kind != "inherit" or (path, cls) not in nav.resolve(site).symbols:
            continue
        extract = nav.index.read(site.path)
        classes = (
            [s for s in extract.symbols if s.kind in ("class", "interface")] if extract else []
        )
        owner = innermost(classes, site.line)
        if owner is not None:
            found.append((site.path, owner.qualname))
    return found
