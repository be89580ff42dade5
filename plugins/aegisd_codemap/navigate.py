"""Navigation over the stored index: the site at a position, definitions, references and calls.

Sites come from the store (`sitestore`) by name (one index seek: references never scan every
file) or by file, with the files applied but not yet stored (`WorkspaceIndex.unsaved`) read from memory
in place of their rows, so an edit shows as soon as it is applied. Bindings are resolved by
`navresolve`, with the files' namespaces and the resolutions kept across requests
(`navcache`). Everything here blocks: run it in a thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NamedTuple

from aegisd.store.pathtext import from_db, to_db
from aegisd_codemap import navcache, sitestore
from aegisd_codemap.cinclude import is_c
from aegisd_codemap.cresolve import CResolver
from aegisd_codemap.index import WorkspaceIndex
from aegisd_codemap.jsbind import DEF_SITE
from aegisd_codemap.jsmodules import JsModules
from aegisd_codemap.jsresolve import JsResolver, is_js
from aegisd_codemap.model import Symbol
from aegisd_codemap.navcache import module_index
from aegisd_codemap.navresolve import PYTHON_FILES, RESOLVED, SYM, Resolution, Value
from aegisd_codemap.sites import Packed, unpack

#: files read for one name at most
MAX_NAME_FILES = 20_000
#: keywords before a definition's name (its symbol's column is the keyword's)
_KEYWORDS = {
    "class": ("class ",),
    "function": ("def ", "async def "),
    "method": ("def ", "async def "),
}


class Site(NamedTuple):
    path: str
    line: int
    column: int
    name: str
    kind: str
    scope: str
    binding: str


def _memory_sites(index: WorkspaceIndex) -> tuple[dict[str, Packed | None], set[str]]:
    """Files whose sites memory holds (applied, not yet stored; None: removed), and the paths
    whose stored rows they replace."""
    unsaved = dict(index.unsaved)
    held = {p: (None if e is None else e.refs) for p, e in unsaved.items()}
    # A file kept stale, or one not bound, keeps its stored rows.
    held = {p: refs for p, refs in held.items() if refs is not None or unsaved[p] is None}
    return held, set(held)


def _sites(path: str, name: str, sites: str | bytes) -> list[Site]:
    return [Site(path, *ref) for ref in unpack(name, sites)]


def sites_named(index: WorkspaceIndex, name: str) -> list[Site]:
    """Every site using ``name``, by path and position."""
    held, replaced = _memory_sites(index)
    with index.readers.borrow() as db:
        rows = sitestore.by_name(db.execute, index.ws_id, name, MAX_NAME_FILES)
    found = [
        site for path, sites in rows if path not in replaced for site in _sites(path, name, sites)
    ]
    for path, groups in held.items():
        for group_name, sites in groups or ():
            if group_name == name:
                found += _sites(path, name, sites)
    return sorted(found)


def sites_in(index: WorkspaceIndex, path: str, line: int | None = None) -> list[Site]:
    """The sites of one file (on one line)."""
    held, replaced = _memory_sites(index)
    if path in replaced:
        found = [s for name, sites in held[path] or () for s in _sites(path, name, sites)]
    else:
        with index.readers.borrow() as db:
            rows = sitestore.by_file(db.execute, index.ws_id, to_db(path))
        found = [site for name, sites in rows for site in _sites(path, name, sites)]
    return sorted(s for s in found if line is None or s.line == line)


def site_at(index: WorkspaceIndex, path: str, line: int, column: int) -> Site | None:
    """The site whose name covers ``column`` (1-based) on ``line``."""
    for site in sites_in(index, path, line):
        if site.column <= column < site.column + len(site.name):
            return site
    return None


def definition_named_at(symbols: list[Symbol], line: int, column: int) -> Symbol | None:
    """A definition whose ``def name``/``class name`` covers the position."""
    for symbol in symbols:
        if symbol.line != line:
            continue
        for keyword in _KEYWORDS.get(symbol.kind, ()):
            if symbol.column <= column < symbol.column + len(keyword) + len(symbol.name):
                return symbol
    return None


def innermost(symbols: list[Symbol], line: int) -> Symbol | None:
    """The innermost definition spanning ``line``."""
    best: Symbol | None = None
    for symbol in symbols:
        if symbol.line <= line <= symbol.end_line and (
            best is None or symbol.end_line - symbol.line <= best.end_line - best.line
        ):
            best = symbol
    return best


def _definition_site(path: str, symbol: Symbol, kind: str) -> Site:
    """A definition's name as a site of ``kind``."""
    keyword = "class " if symbol.kind == "class" else "async def " if symbol.is_async else "def "
    return Site(
        path, symbol.line, symbol.column + len(keyword), symbol.name, kind,
        symbol.parent or "", f"d:{symbol.qualname}",
    )  # fmt: skip


def definitions_named(index: WorkspaceIndex, name: str) -> set[tuple[str, str]]:
    """(path, qualname) of every definition named ``name`` (stored, or applied and not yet
    stored)."""
    with index.readers.borrow() as db:
        rows = db.execute(
            "SELECT path, qualname FROM codemap_symbol WHERE workspace_id = ? AND lname = ?"
            " AND name = ?",
            (index.ws_id, name.lower(), name),
        ).fetchall()
    found = {(from_db(p), q) for p, q in rows}
    for path, extract in dict(index.unsaved).items():
        found = {c for c in found if c[0] != path}
        if extract is not None:
            found |= {(path, s.qualname) for s in extract.symbols if s.name == name}
    return found


class Navigator:
    """One request's view: the index, its modules and a resolver memoizing what it reads."""

    def __init__(self, index: WorkspaceIndex) -> None:
        self.index = index
        modules = module_index(index)
        specifiers = JsModules(modules, index.root, index.whole, index.ws_id)
        self.resolver = JsResolver(
            modules,
            index.read,
            index.read_many,
            specifiers,
            load=lambda paths: navcache.namespaces(index, paths),
            shared=navcache.resolved(index),
        )
        self._c: CResolver | None = None

    @property
    def c(self) -> CResolver:
        """C/C++ files' resolver (`cresolve`), made when one is first asked about."""
        if self._c is None:
            self._c = CResolver(self.index)
        return self._c

    def resolve(self, site: Site) -> Resolution:
        if is_c(site.path):
            return self.c.resolve(site.path, site.binding)
        return self.resolver.resolve(site.path, site.binding)

    def symbol(self, value: Value) -> Symbol | None:
        if is_c(value.path):
            return self.c.symbol(value.path, value.name)
        return self.resolver.symbol(value.path, value.name)

    def references(self, targets: set[tuple[str, str]]) -> Iterator[tuple[Site, Resolution]]:
        """The sites bound to any of ``targets`` (path, qualname), with how certain each is:
        the sites of their names, and in a file importing one under another name
        (``import x as y``), the sites of that name there."""
        may_bind = self._filter(targets)
        queue: list[tuple[str, str | None]] = sorted(
            (name, None) for name in self.resolver.query_names(targets)
        )
        seen = set(queue)
        while queue:
            name, only = queue.pop(0)
            sites = [
                site
                for site in sites_named(self.index, name)
                if (only is None or site.path == only) and site.kind != DEF_SITE and may_bind(site)
            ]
            self.resolver.prefetch(site.path for site in sites)
            for site in sites:
                resolution = self.resolve(site)
                if not targets.intersection(resolution.symbols):
                    continue
                yield site, resolution
                if site.kind == "import":
                    for alias in self._aliases(site):
                        if (alias, site.path) not in seen:
                            seen.add((alias, site.path))
                            queue.append((alias, site.path))
                for renamed in self.resolver.exported_as(site.path, site.name):
                    if (renamed, None) not in seen:  # `export { a as b }`: b everywhere
                        seen.add((renamed, None))
                        queue.append((renamed, None))
        yield from self._constructions(targets)

    def _constructions(self, targets: set[tuple[str, str]]) -> Iterator[tuple[Site, Resolution]]:
        """A classmethod's ``cls(...)`` calls of the target classes (their file's own sites:
        the binding names the class as a definition of that file)."""
        for path, qualname in sorted(targets):
            symbol = self.resolver.symbol(path, qualname) if path.endswith(PYTHON_FILES) else None
            if symbol is None or symbol.kind != "class":
                continue
            binding = f"d:{qualname}"
            for site in sites_in(self.index, path):
                if site.kind == "call" and site.binding == binding and site.name != symbol.name:
                    yield site, Resolution(RESOLVED, [Value(SYM, path, qualname)])

    def _filter(self, targets: set[tuple[str, str]]) -> Callable[[Site], bool]:
        """Which sites may be bound to one of ``targets``, from their binding's shape alone
        (resolving a binding may read other files): a builtin or unknown value never is; a
        module-level name or import only to a module-level definition; a definition of the
        file only to itself; a function nested in a function is reached from its file only."""
        top = local = False
        own: dict[str, set[str]] = {}
        for path, qualname in targets:
            own.setdefault(path, set()).add(qualname)
            symbol = self.resolver.symbol(path, qualname)
            parent = self.resolver.symbol(path, symbol.parent) if symbol and symbol.parent else None
            top |= symbol is not None and symbol.parent is None
            local |= parent is not None and parent.kind in ("function", "method")
        paths = set(own)

        def may_bind(site: Site) -> bool:
            binding = site.binding
            if binding == "u" or binding.startswith(("b:", "x:")):
                return False
            if is_c(site.path):  # `cbind`: resolved by name; a definition's own name is none
                return not binding.startswith("d:")
            if ">" in binding:
                return not local or site.path in paths
            tag = binding[:2]
            if tag in ("g:", "i:"):
                return top
            if tag == "d:":
                return binding[2:].removesuffix("()") in own.get(site.path, ())
            return False

        return may_bind

    def redefinitions(self, path: str, qualname: str, line: int) -> list[Site]:
        """Other definitions of the same qualified name in its file (``@overload`` signatures,
        ``try``/``except`` alternatives) than the one at ``line``: each rebinds the name. In
        C/C++: its declarations (a prototype, a method declared in its class)."""
        if is_c(path):
            return [
                Site(other, at, column, qualname.rsplit(".", 1)[-1], "write", "", "")
                for other, at, column in self.c.declarations(path, qualname)
                if (other, at) != (path, line)
            ]
        if is_js(path):  # TS overload signatures: their names' `jsbind` def sites
            return [
                site._replace(kind="write")
                for site in sites_in(self.index, path)
                if site.kind == DEF_SITE and site.binding == f"d:{qualname}" and site.line != line
            ]
        extract = self.index.read(path)
        return [
            _definition_site(path, symbol, "write")
            for symbol in (extract.symbols if extract is not None else ())
            if symbol.qualname == qualname and symbol.line != line
        ]

    def overrides(self, targets: set[tuple[str, str]]) -> list[Site]:
        """The methods overriding the target (Python) methods in classes inheriting theirs,
        anywhere in the workspace, directly or through one another: each at its name, kind
        ``inherit`` (JS/TS references count a method's family as one symbol already).
        A candidate is a method of the same name whose class's bases, followed as a member
        lookup follows them (the MRO), lead to a target or to another override first."""
        known = set()
        for path, qualname in targets:
            symbol = self.resolver.symbol(path, qualname) if path.endswith(PYTHON_FILES) else None
            if symbol is not None and symbol.kind == "method":
                known.add((path, qualname))
        candidates = {
            found
            for name in {q.rsplit(".", 1)[-1] for _, q in known}
            for found in definitions_named(self.index, name)
            if found not in known
        }
        self.resolver.prefetch(path for path, _ in candidates)
        found: list[Site] = []
        changed = bool(known)
        while changed:  # an override of an override is found once the first one is known
            changed = False
            for path, qualname in sorted(candidates):
                symbol = self.resolver.symbol(path, qualname)
                if not path.endswith(PYTHON_FILES) or symbol is None or symbol.kind != "method":
                    continue
                if not symbol.parent:
                    continue
                inherited = self.resolver.class_member(
                    path, symbol.parent, symbol.name, 0, own=False
                )
                if not known.intersection((v.path, v.name) for v in inherited if v.kind == SYM):
                    continue
                known.add((path, qualname))
                candidates.discard((path, qualname))
                found.append(_definition_site(path, symbol, "inherit"))
                changed = True
        return sorted(found)

    def _aliases(self, site: Site) -> list[str]:
        """The other names ``site``'s file imports its name under."""
        extract = self.index.read(site.path)
        if extract is None:
            return []
        return [
            local
            for ref in extract.imports
            for imported, local in ref.names
            if imported == site.name and local != imported
        ]

    def callees(self, path: str, qualname: str) -> Iterator[tuple[Site, Resolution]]:
        """The calls made directly in a definition's body (module level: qualname "")."""
        for site in sites_in(self.index, path):
            if site.kind == "call" and site.scope == qualname:
                yield site, self.resolve(site)

    def callers(self, path: str, qualname: str) -> Iterator[tuple[Site, Resolution]]:
        """The call sites bound to a definition."""
        for site, resolution in self.references({(path, qualname)}):
            if site.kind == "call":
                yield site, resolution

    def certain(self, resolution: Resolution) -> bool:
        return resolution.status == RESOLVED and resolution.values[0].kind == SYM
