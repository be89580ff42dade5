"""Resolving stored C/C++ bindings (`cbind`) to the workspace's definitions, at query time.

A name is looked up from its scope outwards (``ns.A.f``, ``ns.f``, ``f``; a class's bases when
a scope is a class; then the namespaces ``using`` made visible), first in its own file and the
files it ``#include``s (transitively, at most `MAX_INCLUDED` files), then by name across the
workspace's C/C++ files. A declaration (a prototype, a method declared in its class) and its
definition elsewhere are one symbol: the definition with a body is what a name resolves to,
and the declarations count among its references (`declarations`). Several definitions of a
name are `ambiguous`; a system header (``<stdio.h>``) is `external`; the rest `unresolved`.

One `CResolver` serves one request and memoizes each file's names and each binding.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from aegisd.store.pathtext import from_db
from aegisd_codemap.cbind import INLINE
from aegisd_codemap.cinclude import IncludeIndex, is_c
from aegisd_codemap.index import WorkspaceIndex
from aegisd_codemap.model import FileExtract, Symbol
from aegisd_codemap.navresolve import EXT, MOD, SYM, UNRES, MemoizedBindings, Value, _unique

#: files an include closure holds at most (a 1,000-deep chain stops here)
MAX_INCLUDED = 256
#: bases followed for one member lookup
MAX_HOPS = 16
_CLASSES = frozenset({"class", "struct", "union"})


class _Located(Protocol):
    @property
    def path(self) -> str: ...

    @property
    def qualname(self) -> str: ...


D = TypeVar("D", bound=_Located)


@dataclass
class _CNames:
    symbols: dict[str, Symbol] = field(default_factory=dict)  # qualname -> its definition
    declared: dict[str, tuple[int, int]] = field(default_factory=dict)  # qualname -> position
    bodies: set[str] = field(default_factory=set)  # qualnames defined with a body here
    includes: list[tuple[str, bool]] = field(default_factory=list)  # (header, system)
    bases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    inline: set[str] = field(default_factory=set)  # inline namespaces


def _names(extract: FileExtract) -> _CNames:
    names = _CNames()
    for entry in extract.exports or ():
        if entry.startswith(INLINE):
            names.inline.add(entry[len(INLINE) :])
            continue
        if entry.startswith("#"):
            continue  # the file's macro entries (`cmacros.macro_entries`)
        qualname, line, column = entry.split("\t")
        names.declared.setdefault(qualname, (int(line), int(column)))
    for symbol in extract.symbols:
        position = names.declared.get(symbol.qualname)
        declaration = position is not None and symbol.line <= position[0] <= symbol.end_line
        if not declaration:
            names.bodies.add(symbol.qualname)
        known = names.symbols.get(symbol.qualname)
        if known is None or (
            symbol.qualname in names.bodies
            and not declaration
            and (known.line <= (position or (0, 0))[0] <= known.end_line)
        ):
            names.symbols[symbol.qualname] = symbol  # the definition over its declaration
    names.includes = [(ref.module, ref.kind == "system") for ref in extract.imports]
    names.bases = {info.qualname: info.bases for info in extract.classes}
    return names


def _included(headers: IncludeIndex, importer: str, header: str, system: bool) -> tuple[str, ...]:
    """The files an include names (several when ambiguous): a quoted include as `cinclude`
    says; a system one only when the workspace holds that header (``<zstd.h>`` of a project
    that ships it)."""
    return headers.resolve(importer, header, system).files


def headers_of(index: WorkspaceIndex) -> IncludeIndex:
    """The workspace's `IncludeIndex`, kept in the budgeted cache until a path comes or goes."""
    key = (index.ws_id, "*", f"headers:{index.layout}")
    found: IncludeIndex | None = index.whole.get(key)
    if found is None:
        found = IncludeIndex(list(index.facts))
        index.whole.put(key, found, 150 * len(found.paths))
    return found


class CResolver(MemoizedBindings):
    """`MemoizedBindings` with the C/C++ rules (module docstring)."""

    def __init__(self, index: WorkspaceIndex) -> None:
        super().__init__()
        self.index = index
        self.headers = headers_of(index)
        self._files: dict[str, _CNames | None] = {}
        self._closures: dict[str, list[str]] = {}
        self._named: dict[str, list[tuple[str, str]]] = {}

    def names(self, path: str) -> _CNames | None:
        if path not in self._files:
            extract = self.index.read(path)
            self._files[path] = None if extract is None else _names(extract)
        return self._files[path]

    def closure(self, path: str) -> list[str]:
        """``path`` and the files it includes, transitively, breadth first (bounded)."""
        found = self._closures.get(path)
        if found is not None:
            return found
        order, seen, at = [path], {path}, 0
        while at < len(order) and len(order) < MAX_INCLUDED:
            current = order[at]
            at += 1
            names = self.names(current)
            for header, system in names.includes if names is not None else ():
                for target in _included(self.headers, current, header, system):
                    if target not in seen and len(order) < MAX_INCLUDED:
                        seen.add(target)
                        order.append(target)
        self._closures[path] = order
        return order

    def named(self, name: str) -> list[tuple[str, str]]:
        """(path, qualname) of every C/C++ symbol called ``name`` in the workspace."""
        found = self._named.get(name)
        if found is not None:
            return found
        with self.index.readers.borrow() as db:
            rows = db.execute(
                "SELECT path, qualname FROM codemap_symbol WHERE workspace_id = ? AND lname = ?"
                " AND name = ?",
                (self.index.ws_id, name.lower(), name),
            ).fetchall()
        pairs = {(from_db(p), q) for p, q in rows}
        for path, extract in dict(self.index.unsaved).items():
            pairs = {pair for pair in pairs if pair[0] != path}
            if extract is not None:
                pairs |= {(path, s.qualname) for s in extract.symbols if s.name == name}
        found = self._named[name] = sorted(p for p in pairs if is_c(p[0]))
        return found

    # -- bindings -------------------------------------------------------------------------

    def _values(self, path: str, binding: str) -> list[Value]:
        head, *members = binding.split(">")
        tag, _, rest = head.partition(":")
        if tag == "x":
            system, header = rest[:1] == "<", rest[1:]
            targets = _included(self.headers, path, header, system)
            if targets:
                return [Value(MOD, target, header) for target in targets]
            return [Value(EXT if system else UNRES, "", header)]
        if tag in ("q", "d"):  # `this`'s class; a definition's own name
            values = self.qualified(path, [rest])
        elif tag == "n":
            scopes, _, written = rest.rpartition(":")
            ctx, *usings = scopes.split(";")
            values = self.qualified(path, candidates(ctx, usings, written), ctx, written)
        else:
            return [Value(UNRES, path, binding)]
        for member in members:
            values = _unique(v for value in values for v in self.member(path, value, member, 0))
        return values

    def qualified(
        self, path: str, wanted: list[str], ctx: str = "", written: str = ""
    ) -> list[Value]:
        """The first of ``wanted`` (qualnames, innermost first) defined in the file or what it
        includes (a class scope's bases looked at too), else across the workspace."""
        closure = self.closure(path)
        self.prefetch(closure)
        wanted = self._through_inline(closure, wanted)
        for qualname in wanted:
            seen = [p for p in closure if self._has(p, qualname)]
            if seen:
                return self._definitions(qualname, seen)
            owner, _, name = qualname.rpartition(".")
            if owner and ctx and (ctx == owner or ctx.startswith(owner + ".")):
                classes = [p for p in closure if self._is_class(p, owner)]
                for cls in classes:
                    inherited = self._inherited(path, Value(SYM, cls, owner), name, 0)
                    if inherited:
                        return inherited
        for qualname in wanted:
            everywhere = [p for p, q in self.named(qualname.rsplit(".", 1)[-1]) if q == qualname]
            declared = [p for p in closure if qualname in self._declared(p)]
            if everywhere or declared:
                return self._definitions(qualname, [*everywhere, *declared])
        written = written or (wanted[0] if wanted else "")
        if written.startswith("std.") or any(self._system(p) for p in closure):
            # not in the workspace, and a system header is in reach (or `std::` says so)
            return [Value(EXT, "", written.replace(".", "::"))]
        return [Value(UNRES, path, wanted[0] if wanted else "")]

    def _system(self, path: str) -> bool:
        names = self.names(path)
        return names is not None and any(system for _, system in names.includes)

    def _through_inline(self, closure: list[str], wanted: list[str]) -> list[str]:
        """``wanted`` and, after each, its spellings through the inline namespaces in reach
        (``geo.util.clamp`` is ``geo.util.v1.clamp`` too)."""
        inline = {n for p in closure for n in (self.names(p) or _CNames()).inline}
        if not inline:
            return wanted
        found = []
        for qualname in wanted:
            found.append(qualname)
            for namespace in sorted(inline):
                outer = namespace.rpartition(".")[0]
                if (
                    outer
                    and qualname.startswith(outer + ".")
                    and not qualname.startswith(namespace + ".")
                ):
                    found.append(namespace + qualname[len(outer) :])
                elif not outer and "." not in qualname:
                    found.append(f"{namespace}.{qualname}")
        return list(dict.fromkeys(found))

    def symbol(self, path: str, qualname: str) -> Symbol | None:
        names = self.names(path)
        return names.symbols.get(qualname) if names is not None else None

    def _has(self, path: str, qualname: str) -> bool:
        names = self.names(path)
        return names is not None and (qualname in names.symbols or qualname in names.declared)

    def _declared(self, path: str) -> dict[str, tuple[int, int]]:
        names = self.names(path)
        return names.declared if names is not None else {}

    def _is_class(self, path: str, qualname: str) -> bool:
        names = self.names(path)
        symbol = names.symbols.get(qualname) if names is not None else None
        return symbol is not None and symbol.kind in _CLASSES

    def _definitions(self, qualname: str, paths: list[str]) -> list[Value]:
        """The definitions of ``qualname`` seen in ``paths``: those with a body (in these
        files, else anywhere in the workspace), else the declared symbols."""
        bodies = [p for p in paths if self._body(p, qualname)]
        if not bodies:
            last = qualname.rsplit(".", 1)[-1]
            bodies = [p for p, q in self.named(last) if q == qualname and self._body(p, qualname)]
        if bodies:
            return [Value(SYM, p, qualname) for p in dict.fromkeys(bodies)]
        symbols = [p for p in paths if qualname in (self.names(p) or _CNames()).symbols]
        if symbols:
            return [Value(SYM, p, qualname) for p in dict.fromkeys(symbols)]
        return [Value(UNRES, paths[0], qualname)]  # only a prototype: no definition anywhere

    def _body(self, path: str, qualname: str) -> bool:
        names = self.names(path)
        return names is not None and qualname in names.bodies

    def member(self, path: str, value: Value, name: str, hops: int) -> list[Value]:
        """``name`` in the class ``value``: its own member (declared or defined anywhere), else
        its bases'."""
        if value.kind != SYM or hops > MAX_HOPS:
            return [Value(UNRES, value.path, f"{value.name}.{name}")]
        qualname = f"{value.name}.{name}"
        seen = [
            p for p in [*self.closure(path), *self.closure(value.path)] if self._has(p, qualname)
        ]
        everywhere = [p for p, q in self.named(name) if q == qualname]
        if seen or everywhere:
            return self._definitions(qualname, [*seen, *everywhere])
        return self._inherited(path, value, name, hops) or [Value(UNRES, value.path, qualname)]

    def _inherited(self, path: str, value: Value, name: str, hops: int) -> list[Value]:
        names = self.names(value.path)
        bases = names.bases.get(value.name, ()) if names is not None else ()
        ctx = value.name.rpartition(".")[0]
        for base in bases:
            for found in self.qualified(value.path, candidates(ctx, [], base)):
                if found.kind == SYM and self._is_class(found.path, found.name):
                    inherited = self.member(path, found, name, hops + 1)
                    if any(v.kind == SYM for v in inherited):
                        return inherited
        return []

    def prefetch(self, paths: Iterable[str]) -> None:
        wanted = [p for p in dict.fromkeys(paths) if p not in self._files]
        if len(wanted) < 2:
            return
        found = self.index.read_many(wanted)
        for path in wanted:
            extract = found.get(path)
            self._files[path] = None if extract is None else _names(extract)

    # -- one symbol, several files --------------------------------------------------------

    def merged(self, found: list[D]) -> list[D]:
        """``found`` (definitions with a path and qualname) without the C/C++ declarations of
        a symbol whose definition with a body is among them."""
        bodies = {(d.qualname) for d in found if is_c(d.path) and self._body(d.path, d.qualname)}
        return [
            d
            for d in found
            if not is_c(d.path) or d.qualname not in bodies or self._body(d.path, d.qualname)
        ]

    def declarations(self, path: str, qualname: str) -> list[tuple[str, int, int]]:
        """(path, line, column) of the declarations of ``qualname`` (defined in ``path``)
        elsewhere: its prototypes' and its class's declarations of it."""
        last = qualname.rsplit(".", 1)[-1]
        files = {p for p, q in self.named(last) if q == qualname} | {path}
        found = []
        for other in sorted(files):
            position = self._declared(other).get(qualname)
            if position is not None and (other, *position) not in found:
                found.append((other, *position))
        return found


def candidates(ctx: str, usings: list[str], written: str) -> list[str]:
    """The qualnames ``written`` may stand for seen from ``ctx``, innermost first, then through
    each ``using namespace`` (``declared_ctx|namespace``)."""
    parts = ctx.split(".") if ctx else []
    found = [".".join([*parts[:i], written]) for i in range(len(parts), -1, -1)]
    for using in usings:
        declared, _, namespace = using.partition("|")
        outer = declared.split(".") if declared else []
        for i in range(len(outer), -1, -1):
            found.append(".".join([*outer[:i], namespace, written]))
    return list(dict.fromkeys(found))
