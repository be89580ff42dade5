"""The methods a JS/TS method overrides or is overridden by: one symbol to `index.references`,
as to the TypeScript language service (a call through the base reaches every override). Fields
and interface properties count as well (``next(v) {}`` implements ``next: (v: T) => void``)."""

from __future__ import annotations

from aegisd_codemap.jsresolve import is_js
from aegisd_codemap.navigate import Navigator, innermost, sites_named
from aegisd_codemap.navresolve import SYM

#: classes followed up and down from one method
MAX_CLASSES = 64
#: members of one name across a hierarchy: a method may implement an interface's property
_MEMBERS = frozenset({"method", "field", "property"})


def override_family(nav: Navigator, targets: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """``targets`` with the same-named methods of their classes' bases and subclasses."""
    found = set(targets)
    for path, qualname in targets:
        symbol = nav.resolver.symbol(path, qualname)
        if not is_js(path) or symbol is None or symbol.kind not in _MEMBERS or not symbol.parent:
            continue
        owner = nav.resolver.symbol(path, symbol.parent)
        if owner is None or owner.kind not in ("class", "interface"):
            continue
        classes = _related_classes(nav, (path, symbol.parent))
        for cls_path, cls in classes:
            method = f"{cls}.{symbol.name}"
            if nav.resolver.symbol(cls_path, method) is not None:
                found.add((cls_path, method))
    return found


def overridden(nav: Navigator, path: str, qualname: str) -> list[tuple[str, str]]:
    """The same-named methods of a JS/TS method's bases, transitively: a call through one of
    them may run this method (`graph.calls` callers)."""
    symbol = nav.resolver.symbol(path, qualname) if is_js(path) else None
    if symbol is None or symbol.kind != "method" or not symbol.parent:
        return []
    found: list[tuple[str, str]] = []
    seen = {(path, symbol.parent)}
    queue = [(path, symbol.parent)]
    while queue and len(seen) < MAX_CLASSES:
        for other in _bases(nav, *queue.pop()):
            if other in seen:
                continue
            seen.add(other)
            queue.append(other)
            method = f"{other[1]}.{symbol.name}"
            if nav.resolver.symbol(other[0], method) is not None:
                found.append((other[0], method))
    return found


def _related_classes(nav: Navigator, start: tuple[str, str]) -> set[tuple[str, str]]:
    """The classes above (bases) and below (subclasses) ``start``, transitively."""
    seen = {start}
    queue = [start]
    while queue and len(seen) < MAX_CLASSES:
        path, cls = queue.pop()
        for other in [*_bases(nav, path, cls), *_subclasses(nav, path, cls)]:
            if other not in seen:
                seen.add(other)
                queue.append(other)
    return seen - {start}


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
