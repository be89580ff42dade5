"""Resolving JS/TS bindings (`jsbind`) at query time, beside Python's (`navresolve`).

`JsResolver` is `navresolve.Resolver` with the JS/TS rules for files in those languages (a
Python file's bindings resolve as before): a module-level name is one of the file's
definitions or imports, else a JS global; an import follows its specifier (`jsmodules`) to
what the target file *exports* (``export`` statements, ``export * from``, ``module.exports``,
``exports.f``), a namespace import to the module itself; a member of a class, interface,
namespace, enum or object is its own member symbol, then its bases'; a member of a class
field is one of what the field holds (its declared type, each of a union's, or its value); a call of a class is an
instance, of a function the class its TS return type names.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from aegisd_codemap.jsglobals import JS_GLOBALS
from aegisd_codemap.jsmodules import EXTERNAL, FILE, JsModules
from aegisd_codemap.jssignature import callback_parameter
from aegisd_codemap.languages import detect_language
from aegisd_codemap.model import FileExtract
from aegisd_codemap.navresolve import (
    EXT,
    MAX_HOPS,
    MOD,
    SUPER,
    SYM,
    UNRES,
    Load,
    Resolver,
    Value,
    _Names,
    _unique,
)
from aegisd_codemap.resolve import ModuleIndex

JS_LANGUAGES = frozenset({"javascript", "typescript", "tsx"})
_MEMBER_OWNERS = frozenset({"class", "interface", "namespace", "enum"})


def is_js(path: str) -> bool:
    return detect_language(path) in JS_LANGUAGES


@dataclass
class _JsNames(_Names):
    """One JS/TS file's module-level names and what it exports (name -> bindings)."""

    exported: dict[str, list[str]] = field(default_factory=dict)


def _js_names(extract: FileExtract) -> _JsNames:
    names = _JsNames()
    names.members = {(owner, attr): binding for owner, attr, binding in extract.members or ()}
    for symbol in extract.symbols:
        names.symbols.setdefault(symbol.qualname, symbol)
        if symbol.parent is None:
            qualnames = names.top.setdefault(symbol.name, [])
            if symbol.qualname not in qualnames:
                qualnames.append(symbol.qualname)
    for ref in extract.imports:
        if ref.kind not in ("import", "require") or ref.context == "deferred":
            continue
        for imported, local in ref.names:
            if local:
                names.imports.setdefault(local, []).append((0, ref.module, imported))
    for info in extract.classes:
        names.bases[info.qualname] = info.bases
    for entry in extract.exports or ():
        name, _, binding = entry.partition("\t")
        names.exported.setdefault(name, []).append(binding)
    return names


def _returned_type(signature: str | None) -> str | None:
    """The type a TS signature returns (``(a: T): Foo<T>`` → ``Foo``), or None."""
    if not signature or "): " not in signature:
        return None
    written = signature.rsplit("): ", 1)[1].split("<", 1)[0].strip()
    for wrapper in ("Promise",):
        if written == wrapper:
            return None
    parts = written.split(".")
    return written if written and all(p.replace("$", "_").isidentifier() for p in parts) else None


class JsResolver(Resolver):
    """`Resolver` that also resolves JS/TS files' bindings (module docstring)."""

    def __init__(
        self,
        modules: ModuleIndex,
        read: Callable[[str], FileExtract | None],
        read_many: Callable[[Iterable[str]], dict[str, FileExtract]] | None = None,
        specifiers: JsModules | None = None,
        *,
        load: Load | None = None,
        shared: dict[tuple[str, str], list[Value]] | None = None,
    ) -> None:
        super().__init__(modules, read, read_many, load=load, shared=shared)
        self.specifiers = specifiers or JsModules(modules, None)
        self._exporting: set[tuple[str, str]] = set()

    def names(self, path: str) -> _Names | None:
        if path not in self._files and is_js(path):
            extract = self._read(path)
            self._files[path] = None if extract is None else _js_names(extract)
        return super().names(path)

    def prefetch(self, paths: Iterable[str]) -> None:
        wanted = list(dict.fromkeys(paths))
        super().prefetch(p for p in wanted if not is_js(p))
        scripts = [p for p in wanted if is_js(p) and p not in self._files]
        if self._read_many is not None and len(scripts) > 1:
            found = self._read_many(scripts)
            for path in scripts:
                extract = found.get(path)
                self._files[path] = None if extract is None else _js_names(extract)

    def query_names(self, targets: set[tuple[str, str]]) -> set[str]:
        """The names whose sites may reference ``targets``: their own, and ``default`` for a
        JS/TS file's default export (imported under any name)."""
        found = {qualname.rsplit(".", 1)[-1] for _, qualname in targets}
        for path, qualname in targets:
            names = self.names(path) if is_js(path) else None
            if isinstance(names, _JsNames):
                exported = names.exported.get("default", []) + names.exported.get("=", [])
                if any(b in (f"g:{qualname}", f"d:{qualname}") for b in exported):
                    found.add("default")
        return found

    def exported_as(self, path: str, name: str) -> list[str]:
        """The other names a JS/TS file exports ``name`` under (``export { a as b }``, ``export
        { a as b } from``): sites of those names elsewhere may reference the same symbol."""
        names = self.names(path) if is_js(path) else None
        if not isinstance(names, _JsNames):
            return []
        return [
            exported
            for exported, bindings in names.exported.items()
            if exported not in (name, "*", "=")
            and any(
                b == f"g:{name}" or (b.startswith("i:") and b.endswith(f":{name}"))
                for b in bindings
            )
        ]

    # -- bindings -------------------------------------------------------------------------

    def _values(self, path: str, binding: str) -> list[Value]:
        if not is_js(path):
            return super()._values(path, binding)
        if "|" in binding:  # a union-typed value: each alternative's (`jsvalues.extend`)
            return _unique(v for part in binding.split("|") for v in self.values(path, part))
        head, *attrs = binding.split(">")
        called = head.endswith("()")
        tag, _, rest = head.removesuffix("()").partition(":")
        values: list[Value]
        if tag == "i":
            spec, _, name = rest.rpartition(":")
            values = self.js_imported(path, spec, name, 0)
        elif tag in ("g", "d", "p", "b"):
            values = super()._values(path, head.removesuffix("()"))
        else:
            values = [Value(UNRES, path, binding)]
        if called:
            values = _unique(v for value in values for v in self.returned(value, 0))
        for attr in attrs:
            if attr.startswith("@"):  # a callback's parameter, as the callee declares it
                values = _unique(
                    v for value in values for v in self.callback_parameter(value, attr)
                )
                continue
            name = attr.removesuffix("()")
            values = _unique(v for value in values for v in self.member(value, name, 0))
            if name != attr:
                values = _unique(v for value in values for v in self.returned(value, 0))
        return values

    def _follow_import(
        self, importer: str, level: int, module: str, name: str, hops: int
    ) -> list[Value]:
        if not is_js(importer):
            return super()._follow_import(importer, level, module, name, hops)
        return self.js_imported(importer, module, name, hops)  # `module`: the specifier

    def _is_builtin(self, path: str, name: str) -> bool:
        return name in JS_GLOBALS if is_js(path) else super()._is_builtin(path, name)

    def js_imported(self, importer: str, spec: str, name: str, hops: int) -> list[Value]:
        """What importing ``name`` (``default``; ``*``: the module) from ``spec`` binds."""
        kind, where = self.specifiers.target(importer, spec)
        if kind == FILE:
            if name == "*":
                whole = self._exported_values(where, "=", hops + 1)
                if whole:
                    return whole
                return [Value(MOD, where, posixpath.splitext(where)[0])]
            return self.exported(where, name, hops + 1)
        if kind == EXTERNAL:
            return [Value(EXT, importer, where if name in ("*", "default") else f"{where}.{name}")]
        return [Value(UNRES, importer, f"{spec}:{name}")]

    def _exported_values(self, path: str, name: str, hops: int) -> list[Value]:
        names = self.names(path)
        if not isinstance(names, _JsNames) or hops > MAX_HOPS:
            return []
        found = _unique(v for b in names.exported.get(name, ()) for v in self.values(path, b))
        return [v for v in found if v.kind != UNRES]

    def exported(self, path: str, name: str, hops: int) -> list[Value]:
        """``name`` as the module at ``path`` exports it."""
        key = (path, name)
        names = self.names(path)
        if not isinstance(names, _JsNames) or hops > MAX_HOPS or key in self._exporting:
            return [Value(UNRES, path, name)]
        self._exporting.add(key)
        try:
            found = self._exported_values(path, name, hops)
            if found:
                return found
            whole = self._exported_values(path, "=", hops)
            if whole and name == "default":
                return whole
            for value in whole:
                inside = [v for v in self.member(value, name, hops + 1) if v.kind != UNRES]
                if inside:
                    return inside
            for star in names.exported.get("*", ()):
                for value in self.values(path, star):
                    if value.kind == MOD:
                        inside = self.exported(value.path, name, hops + 1)
                        if any(v.kind != UNRES for v in inside):
                            return inside
            if not names.exported and name in names.top:  # a script or a global declaration
                return self.lookup(path, name, hops + 1, builtin=False)
            return [Value(UNRES, path, name)]
        finally:
            self._exporting.discard(key)

    def member(self, value: Value, attr: str, hops: int) -> list[Value]:
        if value.kind not in (MOD, SYM, SUPER) or not is_js(value.path):
            return super().member(value, attr, hops)
        if value.kind == MOD:
            return self.exported(value.path, attr, hops + 1)
        if value.kind == SUPER:
            return self.class_member(value.path, value.name, attr, hops, own=False)
        names = self.names(value.path)
        own = f"{value.name}.{attr}"
        if names is not None and own in names.symbols:
            return [Value(SYM, value.path, own)]
        symbol = self.symbol(value.path, value.name)
        if symbol is not None and symbol.kind in _MEMBER_OWNERS:
            return self.class_member(value.path, value.name, attr, hops, own=True)
        held_by = symbol is not None and symbol.kind in ("field", "property")
        if symbol is not None and held_by and names is not None and hops < MAX_HOPS:
            held = names.members.get((symbol.parent or "", symbol.name))  # what it holds
            if held is not None:
                found = self.values(value.path, held)
                return _unique(v for h in found for v in self.member(h, attr, hops + 1))
        return [Value(UNRES, value.path, own)]

    def callback_parameter(self, value: Value, step: str) -> list[Value]:
        """``@a.i``: the type parameter ``i`` of the callback argument ``a`` of ``value``
        (a function, or a class's constructor) is declared with."""
        symbol = self.symbol(value.path, value.name) if value.kind == SYM else None
        if symbol is not None and symbol.kind == "class":
            symbol = self.symbol(value.path, f"{value.name}.constructor")
        argument, _, index = step[1:].partition(".")
        if symbol is None or not argument.isdigit() or not index.isdigit():
            return [Value(UNRES, value.path, f"{value.name}{step}")]
        written = callback_parameter(symbol.signature, int(argument), int(index))
        if written is None:
            return [Value(UNRES, value.path, f"{value.name}{step}")]
        return self.dotted(value.path, symbol.qualname, written, 1)

    def returned(self, value: Value, hops: int) -> list[Value]:
        if value.kind != SYM or not is_js(value.path):
            return super().returned(value, hops)
        symbol = self.symbol(value.path, value.name)
        if symbol is None:
            return [Value(UNRES, value.path, f"{value.name}()")]
        if symbol.kind in ("class", "interface"):
            return [value]
        written = _returned_type(symbol.signature)
        if written is None:
            return [Value(UNRES, value.path, f"{value.name}()")]
        return self.dotted(value.path, value.name, written, hops + 1)
