"""Resolving stored bindings (`pybind`) to the workspace's definitions, at query time.

A binding's head is looked up in its own file (definitions, then module-level imports, then
`from x import *` filtered by `__all__`, then builtins); imports are followed through the
module resolver (`resolve.ModuleIndex`: absolute, relative, aliases, package `__init__`
re-exports, submodules); each `>attr` step looks the attribute up in what the step before
found: a module's names, a class's members and then its bases' (depth first, left to right:
the MRO for single and simple multiple inheritance). What is not certain says so: several
candidates are `ambiguous`, a module outside the workspace `external` (named), a builtin
`builtin`, the rest `unresolved`.

One `Resolver` serves one request: it memoizes each file's names and each binding it resolved.
Files are read through `read` (the index's budgeted extract cache), never all at once.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from aegisd_codemap.model import DEFERRED, FileExtract, ImportRef, Symbol
from aegisd_codemap.resolve import ModuleIndex
from aegisd_codemap.store import SymbolRow

RESOLVED, AMBIGUOUS, EXTERNAL, BUILTIN, UNRESOLVED = (
    "resolved", "ambiguous", "external", "builtin", "unresolved",
)  # fmt: skip
_BUILTINS = frozenset(dir(builtins))
#: files whose resolutions `Resolver` may keep across requests
PYTHON_FILES = (".py", ".pyi")
#: imports and bases followed for one lookup (re-export chains, deep hierarchies)
MAX_HOPS = 24

SYM, MOD, EXT, BUILTIN_VALUE, UNRES, SUPER = "sym", "mod", "ext", "builtin", "unres", "super"


class Value(NamedTuple):
    """What a name is found to be: a symbol (``path``, ``name`` its qualname), a module file,
    an external dotted name, a builtin, unresolved (``name`` as written), or the bases of a
    class (``super()``)."""

    kind: str
    path: str
    name: str


@dataclass
class _Names:
    """One file's module-level namespace, as the index stored it."""

    top: dict[str, list[str]] = field(default_factory=dict)  # name -> qualnames
    #: qualname -> its first symbol (a stored row until `Resolver.symbol` asks for it)
    symbols: dict[str, Symbol | SymbolRow] = field(default_factory=dict)
    imports: dict[str, list[tuple[int, str, str]]] = field(default_factory=dict)
    stars: list[ImportRef] = field(default_factory=list)
    bases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    exports: tuple[str, ...] | None = None
    members: dict[tuple[str, str], str] = field(default_factory=dict)  # (class, attr) -> binding

    def size(self) -> int:
        """About the bytes it holds (for the budgeted cache): per entry, what its strings,
        tuples and dict slots took on average over stdlib-like files (a stored row is ~480
        bytes; a guess 3.7x too low once let the cache hold 217 MiB it counted as 59)."""
        return (
            300
            + 480 * len(self.symbols)
            + 250 * len(self.top)
            + 300 * len(self.imports)
            + 370 * len(self.members)
            + 210 * len(self.bases)
            + 700 * len(self.stars)
        )


def _names(extract: FileExtract, rows: list[SymbolRow] | None = None) -> _Names:
    """A file's namespace from its extract, or from the extract's outline and its symbols'
    stored rows (`store.read_symbol_rows`)."""
    names = _Names(exports=extract.exports)
    names.members = {(owner, attr): binding for owner, attr, binding in extract.members or ()}
    if rows is None:
        for symbol in extract.symbols:
            _define(names, symbol.name, symbol.qualname, symbol.parent, symbol)
    else:
        for row in rows:
            _define(names, row[0], row[1], row[6], row)
    for ref in extract.imports:
        if ref.context == DEFERRED:
            continue  # a function's own import (its sites carry it: `i:` heads)
        if ref.kind == "from":
            for imported, local in ref.names:
                if imported == "*":
                    names.stars.append(ref)
                else:
                    names.imports.setdefault(local, []).append((ref.level, ref.module, imported))
        elif ref.alias:
            names.imports.setdefault(ref.alias, []).append((0, ref.module, ""))
        else:
            top = ref.module.split(".", 1)[0]
            names.imports.setdefault(top, []).append((0, top, ""))
    for info in extract.classes:
        names.bases[info.qualname] = info.bases
    return names


def _define(
    names: _Names, name: str, qualname: str, parent: str | None, symbol: Symbol | SymbolRow
) -> None:
    names.symbols.setdefault(qualname, symbol)
    if parent is None:
        qualnames = names.top.setdefault(name, [])
        if qualname not in qualnames:
            qualnames.append(qualname)


def row_symbol(row: SymbolRow) -> Symbol:
    """A symbol from its row: the outline's fields navigation answers with (name, qualname,
    kind, lines, column, parent, signature, async); no decorators, docstring or metrics."""
    name, qualname, kind, line, end_line, column, parent, signature, is_async = row
    return Symbol(
        name, qualname, kind, line, end_line, column, parent, signature, (), None, 0, 0,
        bool(is_async),
    )  # fmt: skip


class Resolution(NamedTuple):
    status: str
    values: list[Value]

    @property
    def symbols(self) -> list[tuple[str, str]]:
        return [(v.path, v.name) for v in self.values if v.kind == SYM]


def _unique(values: Iterable[Value]) -> list[Value]:
    return list(dict.fromkeys(values))


Load = Callable[[Iterable[str]], dict[str, "_Names | None"]]
"""Several files' namespaces at once (None: not an indexed file)."""


class MemoizedBindings:
    """What every language's resolver shares: ``resolve``/``values`` with each (file,
    binding) resolved once per request (`_values`: the language's rules), a binding met again
    while it is being resolved (``self.x = self.x``) unresolved rather than followed, and,
    with ``shared``, the bindings of files `_shareable` says kept across requests too."""

    def __init__(self, shared: dict[tuple[str, str], list[Value]] | None = None) -> None:
        self._memo: dict[tuple[str, str], list[Value]] = {}
        self._shared = shared
        self._active: set[tuple[str, str]] = set()  # bindings being resolved

    def resolve(self, path: str, binding: str) -> Resolution:
        """The values a site's binding stands for, and how certain that is."""
        values = self.values(path, binding)
        return Resolution(status(values), values)

    def values(self, path: str, binding: str) -> list[Value]:
        key = (path, binding)
        found = self._memo.get(key)
        if found is None and self._shared is not None:
            found = self._shared.get(key)
        if found is None:
            if key in self._active:
                return [Value(UNRES, path, binding)]
            self._active.add(key)
            try:
                found = self._memo[key] = self._values(path, binding)
            finally:
                self._active.discard(key)
            if self._shared is not None and self._shareable(path):
                self._shared[key] = found
        return found

    def _values(self, path: str, binding: str) -> list[Value]:
        """A binding's values by the language's rules (memoized by `values`)."""
        raise NotImplementedError

    def _shareable(self, path: str) -> bool:
        """Whether a file's resolved bindings may be kept across requests (`shared`)."""
        return path.endswith(PYTHON_FILES)


class Resolver(MemoizedBindings):
    """``load`` gives files' namespaces (`navcache`: kept across requests) in place of
    building them from ``read``/``read_many``; ``shared`` keeps Python files' resolved
    bindings across the requests of one version of the index (what they resolve through is
    all indexed; a JS/TS file's also depends on its tsconfig, so its stay in the request)."""

    def __init__(
        self,
        modules: ModuleIndex,
        read: Callable[[str], FileExtract | None],
        read_many: Callable[[Iterable[str]], dict[str, FileExtract]] | None = None,
        *,
        load: Load | None = None,
        shared: dict[tuple[str, str], list[Value]] | None = None,
    ) -> None:
        self.modules = modules
        self._read = read
        self._read_many = read_many
        self._load = load
        super().__init__(shared)
        self._files: dict[str, _Names | None] = {}

    def names(self, path: str) -> _Names | None:
        if path not in self._files:
            if self._load is not None:
                self._files[path] = self._load([path]).get(path)
            else:
                extract = self._read(path)
                self._files[path] = None if extract is None else _names(extract)
        return self._files[path]

    def prefetch(self, paths: Iterable[str]) -> None:
        """Read the files about to be looked at together (one query, not one per file)."""
        wanted = [p for p in dict.fromkeys(paths) if p not in self._files]
        if len(wanted) < 2:
            return
        if self._load is not None:
            found = self._load(wanted)
            for path in wanted:
                self._files[path] = found.get(path)
            return
        if self._read_many is None:
            return
        extracts = self._read_many(wanted)
        for path in wanted:
            extract = extracts.get(path)
            self._files[path] = None if extract is None else _names(extract)

    def symbol(self, path: str, qualname: str) -> Symbol | None:
        names = self.names(path)
        found = None if names is None else names.symbols.get(qualname)
        if found is None or isinstance(found, Symbol):
            return found
        symbol = names.symbols[qualname] = row_symbol(found)  # type: ignore[union-attr]
        return symbol

    # -- bindings -------------------------------------------------------------------------

    def _values(self, path: str, binding: str) -> list[Value]:
        head, *attrs = binding.split(">")
        called = head.endswith("()")
        tag, _, rest = head.removesuffix("()").partition(":")
        values: list[Value]
        if tag == "g":
            values = self.lookup(path, rest, 0)
        elif tag == "d":
            known = self.symbol(path, rest) is not None
            values = [Value(SYM, path, rest) if known else Value(UNRES, path, rest)]
        elif tag == "i":
            level, module, name = rest.split(":", 2)
            values = self.imported(path, int(level), module, name, 0)
        elif tag == "p":
            values = [Value(SUPER, path, rest)]
        elif tag == "b":
            values = [Value(BUILTIN_VALUE, "", rest)]
        else:
            values = [Value(UNRES, path, binding)]
        if called:
            values = _unique(v for value in values for v in self.returned(value, 0))
        for attr in attrs:
            name = attr.removesuffix("()")
            values = _unique(v for value in values for v in self.member(value, name, 0))
            if name != attr:
                values = _unique(v for value in values for v in self.returned(value, 0))
        return values

    def returned(self, value: Value, hops: int) -> list[Value]:
        """What calling ``value`` gives: an instance of a class (members looked up as the
        class's), or the class a function's return annotation names."""
        if value.kind in (EXT, BUILTIN_VALUE):
            return [value]
        if value.kind != SYM:
            return [Value(UNRES, value.path, f"{value.name}()")]
        symbol = self.symbol(value.path, value.name)
        if symbol is None:
            return [Value(UNRES, value.path, f"{value.name}()")]
        if symbol.kind == "class":
            return [value]
        written = _returned_class(symbol.signature)
        if written is None:
            return [Value(UNRES, value.path, f"{value.name}()")]
        if written == "Self" and symbol.kind == "method" and symbol.parent:
            return [Value(SYM, value.path, symbol.parent)]
        return self.dotted(value.path, value.name, written, hops + 1)

    # -- lookups --------------------------------------------------------------------------

    def lookup(self, path: str, name: str, hops: int, builtin: bool = True) -> list[Value]:
        """``name`` at module level in ``path``: its definitions, else its imports, else the
        modules it star-imports, else a builtin."""
        names = self.names(path)
        if names is None or hops > MAX_HOPS:
            return [Value(UNRES, path, name)]
        defined = names.top.get(name)
        if defined:
            return [Value(SYM, path, q) for q in defined]
        imports = names.imports.get(name)
        if imports:
            return _unique(
                v for level, module, imported in imports
                for v in self._follow_import(path, level, module, imported, hops + 1)
            )  # fmt: skip
        for star in names.stars:
            for target in self._module_files(star, path):
                found = self._star_name(target, name, hops + 1)
                if found:
                    return found
        if builtin and self._is_builtin(path, name):
            return [Value(BUILTIN_VALUE, "", name)]
        return [Value(UNRES, path, name)]

    def _follow_import(
        self, importer: str, level: int, module: str, name: str, hops: int
    ) -> list[Value]:
        """What a module-level import of ``importer`` binds (`_Names.imports`' entry: level,
        module, name); a language's resolver follows its own imports here."""
        return self.imported(importer, level, module, name, hops)

    def _is_builtin(self, path: str, name: str) -> bool:
        """Whether ``name``, not defined nor imported in ``path``, is the language's own."""
        return name in _BUILTINS

    def _module_files(self, ref: ImportRef, importer: str) -> list[str]:
        module = self.modules.absolute(ref, importer)
        found = self.modules.find_module(module, importer) if module is not None else None
        return [found] if found else []

    def _star_name(self, path: str, name: str, hops: int) -> list[Value]:
        names = self.names(path)
        if names is None:
            return []
        if names.exports is not None:
            if name not in names.exports:
                return []
        elif name.startswith("_"):
            return []
        found = self.lookup(path, name, hops, builtin=False)
        return [] if all(v.kind == UNRES for v in found) else found

    def imported(self, importer: str, level: int, module: str, name: str, hops: int) -> list[Value]:
        """What ``from <level dots><module> import <name>`` binds (an empty name: ``import
        <module>``)."""
        written = "." * level + module
        absolute = self.modules.absolute(ImportRef(module, (), level, 0, "from"), importer)
        if absolute is None:
            return [Value(UNRES, importer, f"{written}.{name}" if name else written)]
        target = self.modules.find_module(absolute, importer) if absolute else None
        internal = level > 0 or self.modules.is_internal(absolute)
        if not name:
            if target is not None:
                return [Value(MOD, target, absolute)]
            return [Value(UNRES if internal else EXT, importer, absolute)]
        found: list[Value] = []
        if target is not None and hops <= MAX_HOPS:
            found = self.lookup(target, name, hops + 1, builtin=False)
            if any(v.kind != UNRES for v in found):
                return found
        dotted = f"{absolute}.{name}" if absolute else name
        submodule = self.modules.find_module(dotted, importer)
        if submodule is not None:
            return [Value(MOD, submodule, dotted)]
        if found:
            return found
        return [Value(UNRES if internal else EXT, importer, dotted)]

    def member(self, value: Value, attr: str, hops: int) -> list[Value]:
        """``attr`` of ``value``."""
        kind = value.kind
        if kind == MOD:
            found = self.lookup(value.path, attr, hops + 1, builtin=False)
            if all(v.kind == UNRES for v in found):
                submodule = self.modules.find_module(f"{value.name}.{attr}", value.path)
                if submodule is not None:
                    return [Value(MOD, submodule, f"{value.name}.{attr}")]
            return found
        if kind == SYM:
            symbol = self.symbol(value.path, value.name)
            if symbol is not None and symbol.kind == "class":
                return self.class_member(value.path, value.name, attr, hops, own=True)
            return [Value(UNRES, value.path, f"{value.name}.{attr}")]
        if kind == SUPER:
            return self.class_member(value.path, value.name, attr, hops, own=False)
        if kind in (EXT, BUILTIN_VALUE):
            return [Value(kind, value.path, f"{value.name}.{attr}")]
        return [Value(UNRES, value.path, f"{value.name}.{attr}")]

    def class_member(
        self, path: str, qualname: str, attr: str, hops: int, *, own: bool
    ) -> list[Value]:
        """``attr`` of a class (``own``: its body first), then of its bases in order."""
        names = self.names(path)
        if names is None or hops > MAX_HOPS:
            return [Value(UNRES, path, f"{qualname}.{attr}")]
        member = f"{qualname}.{attr}"
        if own and member in names.symbols:
            return [Value(SYM, path, member)]
        assigned = names.members.get((qualname, attr))
        if assigned is not None:  # `self.attr = Foo()`: the attribute holds a Foo
            held = self.values(path, assigned)
            if any(v.kind != UNRES for v in held):
                return held
        outside: list[Value] = []
        for base in names.bases.get(qualname, ()):
            for found in self.dotted(path, qualname, base, hops + 1):
                if found.kind == SYM:
                    symbol = self.symbol(found.path, found.name)
                    if symbol is None or symbol.kind not in ("class", "interface"):  # TS's too
                        continue
                    inherited = self.class_member(found.path, found.name, attr, hops + 1, own=True)
                    if any(v.kind == SYM for v in inherited):
                        return inherited
                    outside += [v for v in inherited if v.kind == EXT]
                elif found.kind in (EXT, BUILTIN_VALUE):
                    outside.append(Value(found.kind, found.path, f"{found.name}.{attr}"))
        return outside[:1] or [Value(UNRES, path, member)]

    def dotted(self, path: str, scope: str, written: str, hops: int) -> list[Value]:
        """A dotted name as written in ``path`` beside the definition ``scope`` (a base class:
        looked up among that definition's siblings, then at module level)."""
        first, *attrs = written.split(".")
        names = self.names(path)
        parent = scope.rpartition(".")[0]
        sibling = f"{parent}.{first}" if parent else ""
        if names is not None and sibling and sibling in names.symbols:
            values = [Value(SYM, path, sibling)]
        else:
            values = self.lookup(path, first, hops)
        for attr in attrs:
            values = _unique(v for value in values for v in self.member(value, attr, hops))
        return values


def _returned_class(signature: str | None) -> str | None:
    """The class a signature's return annotation names (``-> Foo``, ``-> "Foo"``,
    ``-> Foo | None``, ``-> Optional[Foo]``, ``-> Foo[T]``), or None."""
    if not signature or ") -> " not in signature:
        return None
    text = signature.rsplit(") -> ", 1)[1].strip().strip("'\"")
    parts = [p.strip() for p in text.split("|") if p.strip() not in ("None", "")]
    text = parts[0] if parts else ""
    for wrapper in ("Optional[", "typing.Optional["):
        if text.startswith(wrapper) and text.endswith("]"):
            text = text[len(wrapper) : -1]
    text = text.split("[", 1)[0].strip().strip("'\"")
    return text if text and all(p.isidentifier() for p in text.split(".")) else None


def status(values: list[Value]) -> str:
    """How certain a lookup is (DESIGN.md's resolution)."""
    kinds = {v.kind for v in values}
    if len(values) > 1 and kinds & {SYM, MOD}:
        return AMBIGUOUS
    if not values or kinds <= {UNRES, SUPER}:
        return UNRESOLVED
    kind = values[0].kind
    if kind in (SYM, MOD):
        return RESOLVED
    return EXTERNAL if kind == EXT else BUILTIN if kind == BUILTIN_VALUE else UNRESOLVED
