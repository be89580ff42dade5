"""Plain, picklable results of extracting one file (they cross the process-pool boundary)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Symbol:
    """A definition in a file.

    ``kind`` is one of ``class function method`` (all languages), ``interface enum namespace
    type`` (TypeScript; ``type`` is a type alias), ``constant variable`` (JS/TS: a value outside
    functions built from code, ``const X = memo(() => ...)`` or an object with methods),
    ``struct union enum typedef namespace`` (C/C++); async-ness is the separate
    ``is_async`` flag, so a kind filter of ``function`` also finds async functions. ``qualname``
    joins enclosing definitions with ``.`` in every language (``Outer.inner``, ``ns.Klass.meth``).
    ``loc`` counts the non-blank lines of the definition. ``complexity`` is McCabe's: 1, plus one
    per if/elif, loop, except/catch, ``with`` (Python), case, ternary and comprehension ``if``, plus
    one per ``and``/``or``/``&&``/``||``/``??``; branches of nested definitions count for those, not
    for their parent. ``exported`` is set for JS/TS only. ``stub`` marks a declaration that
    only describes an implementation beside it (a TS overload signature, a C++ method declared
    in its class and defined in the same file; Python's ``@overload`` is told by its
    decorator): search ranks the implementation first. ``line`` is where the name is (a C
    function's, below a return type on a line of its own).
    """

    name: str
    qualname: str
    kind: str
    line: int
    end_line: int
    column: int
    parent: str | None
    signature: str | None
    decorators: tuple[str, ...]
    docstring: str | None
    loc: int
    complexity: int
    is_async: bool = False
    exported: bool = False
    stub: bool = False


#: When an import runs, strongest first: as the module loads (``top_level``), only on some
#: condition or never at run time (``conditional``: under ``if``, including ``if TYPE_CHECKING``,
#: ``try``, a loop or ``match``; a TypeScript ``import type``), or when a function is called
#: (``deferred``: inside a function; a JS dynamic ``import()``).
TOP_LEVEL, CONDITIONAL, DEFERRED = "top_level", "conditional", "deferred"
IMPORT_CONTEXTS = (TOP_LEVEL, CONDITIONAL, DEFERRED)


@dataclass(slots=True)
class ImportRef:
    """One import statement (or ``require``/``import()`` call).

    Python: ``module`` is the dotted module without leading dots, ``level`` the number of dots,
    ``kind`` is ``import`` (``import a.b [as alias]``) or ``from``. JS/TS: ``module`` is the
    specifier as written, ``level`` is 0, ``kind`` is ``import``, ``export`` (``export ... from``),
    ``require`` or ``dynamic``. ``names`` holds ``(imported, local)`` pairs; ``default`` and ``*``
    stand for default and namespace imports. ``context`` is one of ``IMPORT_CONTEXTS``.
    """

    module: str
    names: tuple[tuple[str, str], ...]
    level: int
    line: int
    kind: str
    alias: str | None = None
    context: str = TOP_LEVEL


@dataclass(slots=True)
class ClassInfo:
    """What a class builds on: bases as written (dotted) and the callees it may instantiate.

    ``instantiates`` lists dotted callees inside the class body (Python: every call whose callee
    is a name or attribute chain not rooted at ``self``/``cls`` and not a builtin; TS/JS: every
    ``new X()``). The graph keeps only those that resolve to classes.
    """

    qualname: str
    line: int
    bases: tuple[str, ...]
    instantiates: tuple[str, ...]


@dataclass(slots=True)
class SyntaxIssue:
    """Where a file fails to parse (1-based line and column)."""

    message: str
    line: int
    column: int


@dataclass(slots=True)
class FileExtract:
    """Everything the code map knows about one file.

    ``language`` is None for unknown extensions; ``binary`` files carry no symbols. ``lines`` is the
    line count, ``loc`` the non-blank lines. ``default_export`` names a JS/TS default export.
    ``refs`` are the file's reference sites (``sites.Packed``) between parsing and storing (None:
    not bound, or read back from the store, where they stay); ``exports`` a Python module's
    ``__all__`` (None when it has none); ``members`` the attributes of its classes whose value
    is known, as (class qualname, attribute, ``pybind`` binding).
    """

    path: str
    language: str | None
    binary: bool = False
    lines: int = 0
    loc: int = 0
    symbols: list[Symbol] = field(default_factory=list)
    imports: list[ImportRef] = field(default_factory=list)
    classes: list[ClassInfo] = field(default_factory=list)
    errors: list[SyntaxIssue] = field(default_factory=list)
    default_export: str | None = None
    refs: list[tuple[str, str | bytes]] | None = None
    exports: tuple[str, ...] | None = None
    members: tuple[tuple[str, str, str], ...] | None = None
