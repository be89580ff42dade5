"""Python extraction with ``ast``: symbols, metrics, imports and class info in one pass.

The tree is walked once with an explicit stack (deeply nested expressions would overflow a
recursive visitor); every node is charged to the innermost enclosing definition, which is how
complexity is computed without walking each function again.
"""

from __future__ import annotations

import ast
import builtins
from typing import NamedTuple, cast

from aegisd_codemap.gcpause import gc_paused
from aegisd_codemap.languages import span_loc
from aegisd_codemap.model import (
    CONDITIONAL,
    DEFERRED,
    TOP_LEVEL,
    ClassInfo,
    ImportRef,
    Symbol,
    SyntaxIssue,
)
from aegisd_codemap.pybind import bind_python, binding_enabled
from aegisd_codemap.scope import Scope
from aegisd_codemap.sites import Packed, pack

# Fields that never hold child nodes worth visiting: identifiers, flags, operators, contexts.
_SKIP_FIELDS = frozenset(
    {"id", "attr", "arg", "name", "names", "module", "asname", "kwd_attrs", "rest"}
    | {"level", "kind", "is_async", "conversion", "simple", "tag", "lineno"}
    | {"ctx", "op", "ops", "type_comment", "type_ignores"}
)
_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {ast.MatchSingleton: (), ast.Constant: ()}
_LEAVES = (ast.Name, ast.Constant)

# What the walk does with a node type beyond visiting its children; one dict lookup per node.
_BRANCH, _DEF, _CALL, _BOOL_OP, _COMPREHENSION, _IMPORT = range(1, 7)
_SPECIAL: dict[type[ast.AST], int] = {
    # McCabe branch points worth +1 (a match counts its cases, a try its handlers).
    **dict.fromkeys(
        (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.IfExp),
        _BRANCH,
    ),
    ast.ExceptHandler: _BRANCH,
    ast.match_case: _BRANCH,
    ast.FunctionDef: _DEF,
    ast.AsyncFunctionDef: _DEF,
    ast.ClassDef: _DEF,
    ast.Call: _CALL,
    ast.BoolOp: _BOOL_OP,  # a and b or c: one per operator
    ast.comprehension: _COMPREHENSION,  # one per if clause
    ast.Import: _IMPORT,
    ast.ImportFrom: _IMPORT,
}
_Def = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
#: statements whose body may run or not (``if TYPE_CHECKING``, ``try``/``except ImportError``)
_CONDITIONAL = (ast.If, ast.Try, ast.TryStar, ast.For, ast.AsyncFor, ast.While, ast.Match)
#: where statements nest: bodies, else branches, except handlers, finally, match cases
_STATEMENT_LISTS = ("body", "orelse", "handlers", "finalbody", "cases")
_BUILTINS = frozenset(dir(builtins))
_SELF_NAMES = frozenset({"self", "cls", "super"})
_PARSE_ATTEMPTS = 3


def _fields(cls: type[ast.AST]) -> tuple[str, ...]:
    fields = _FIELDS.get(cls)
    if fields is None:
        fields = _FIELDS[cls] = tuple(f for f in cls._fields if f not in _SKIP_FIELDS)
    return fields


def _dotted(node: ast.expr) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, None for anything else."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _callee(call: ast.Call) -> str | None:
    """A callee that may be a class: dotted, not a builtin, not rooted at self/cls/super."""
    callee = _dotted(call.func)
    if callee is None or callee in _BUILTINS or callee.split(".", 1)[0] in _SELF_NAMES:
        return None
    return callee


def _text(node: ast.expr) -> str:
    """Source-like text of an expression; ``ast.unparse`` only when the cheap forms don't apply."""
    if isinstance(node, ast.Constant) and node.value is not Ellipsis:
        return repr(node.value)
    return _dotted(node) or ast.unparse(node)


def _param(arg: ast.arg, default: ast.expr | None, prefix: str = "") -> str:
    text = prefix + arg.arg
    if arg.annotation is not None:
        text += ": " + _text(arg.annotation)
        if default is not None:
            text += " = " + _text(default)
    elif default is not None:
        text += "=" + _text(default)
    return text


def signature(args: ast.arguments, returns: ast.expr | None) -> str:
    """``(self, a: int = 1, /, *args, b, **kw) -> str``, spaced as PEP 8 writes it."""
    positional = args.posonlyargs + args.args
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults += args.defaults
    parts = [_param(a, d) for a, d in zip(positional, defaults, strict=True)]
    if args.posonlyargs:
        parts.insert(len(args.posonlyargs), "/")
    if args.vararg is not None:
        parts.append(_param(args.vararg, None, "*"))
    elif args.kwonlyargs:
        parts.append("*")
    parts += [_param(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)]
    if args.kwarg is not None:
        parts.append(_param(args.kwarg, None, "**"))
    text = "(" + ", ".join(parts) + ")"
    return text if returns is None else text + " -> " + _text(returns)


def _first_doc_line(body: list[ast.stmt]) -> str | None:
    first = body[0] if body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        for line in first.value.value.splitlines():
            if line.strip():
                return line.strip()
    return None


def _base_name(node: ast.expr) -> str | None:
    """A base class as written, dotted; ``Generic[T]`` counts as ``Generic``."""
    if isinstance(node, ast.Subscript):
        node = node.value
    return _dotted(node)


def _import(node: ast.Import | ast.ImportFrom, context: str) -> list[ImportRef]:
    if isinstance(node, ast.ImportFrom):
        names = tuple((a.name, a.asname or a.name) for a in node.names)
        return [ImportRef(node.module or "", names, node.level, node.lineno, "from", None, context)]
    return [ImportRef(a.name, (), 0, node.lineno, "import", a.asname, context) for a in node.names]


def imports_of(tree: ast.Module) -> list[ImportRef]:
    """Every import statement with its context (``model.IMPORT_CONTEXTS``): inside a function
    it is deferred; under a conditional statement outside functions, conditional. Import
    statements sit only in statement lists, so only those are walked (each statement once)."""
    found: list[ImportRef] = []
    stack: list[tuple[ast.AST, str]] = [(statement, TOP_LEVEL) for statement in tree.body]
    while stack:
        node, context = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found += _import(node, context)
            continue
        if isinstance(node, _FUNCTIONS):
            context = DEFERRED
        elif context == TOP_LEVEL and isinstance(node, _CONDITIONAL):
            context = CONDITIONAL
        for name in _STATEMENT_LISTS:
            children = getattr(node, name, None)
            if children:
                stack += ((child, context) for child in children)
    return found


def parse_error(exc: SyntaxError | ValueError | RecursionError) -> SyntaxIssue:
    """The error ``ast.parse`` raised, as a 1-based position (ValueError: NUL bytes in 3.11)."""
    if isinstance(exc, SyntaxError):
        return SyntaxIssue(exc.msg, exc.lineno or 1, exc.offset or 1)
    if isinstance(exc, RecursionError):
        return SyntaxIssue("too deeply nested to parse", 1, 1)
    return SyntaxIssue(str(exc), 1, 1)


class Outline:
    """What the outline collects while a walk goes: symbols, classes, and per definition its
    complexity and (in classes) what it calls. The walk is `_Walker`'s, or the binder's when
    names are bound (`pybind`: one walk for both)."""

    counted = frozenset(
        t for t, code in _SPECIAL.items() if code in (_BRANCH, _BOOL_OP, _COMPREHENSION)
    )

    def __init__(self, nonblank: list[int], include_docstrings: bool) -> None:
        self.nonblank = nonblank
        self.include_docstrings = include_docstrings
        self.symbols: list[tuple[Symbol, Scope]] = []
        self.classes: list[tuple[ClassInfo, set[str]]] = []

    def define(self, node: _Def, scope: Scope) -> Scope:
        """Record a definition; returns the scope its body is charged to (the rest of it,
        decorators, bases, parameters and return annotation, is charged to ``scope``)."""
        qualname = scope.child(node.name)
        end = node.end_lineno or node.lineno
        if isinstance(node, ast.ClassDef):
            kind, sig = "class", None
            calls: set[str] = set()
            bases = tuple(b for b in map(_base_name, node.bases) if b)
            self.classes.append((ClassInfo(qualname, node.lineno, bases, ()), calls))
            inner = Scope(qualname, True, calls)
        else:
            kind = "method" if scope.in_class else "function"
            sig = signature(node.args, node.returns)
            inner = Scope(qualname, False, scope.calls)
        symbol = Symbol(
            name=node.name,
            qualname=qualname,
            kind=kind,
            line=node.lineno,
            end_line=end,
            column=node.col_offset + 1,
            parent=scope.qualname,
            signature=sig,
            decorators=tuple(_text(d) for d in node.decorator_list),
            docstring=_first_doc_line(node.body) if self.include_docstrings else None,
            loc=span_loc(self.nonblank, node.lineno, end),
            complexity=1,
            is_async=isinstance(node, ast.AsyncFunctionDef),
        )
        self.symbols.append((symbol, inner))
        return inner

    def call(self, node: ast.Call, scope: Scope) -> None:
        """A call in ``scope``: a class's methods' callees may be what it instantiates."""
        if scope.calls is not None:
            callee = _callee(node)
            if callee:
                scope.calls.add(callee)

    def count(self, node: ast.AST, scope: Scope) -> None:
        """A node that is no definition nor call: its branch points (McCabe)."""
        code = _SPECIAL.get(type(node))
        if code == _BRANCH:
            scope.complexity += 1
        elif code == _BOOL_OP:
            scope.complexity += len(cast(ast.BoolOp, node).values) - 1
        elif code == _COMPREHENSION:
            scope.complexity += len(cast(ast.comprehension, node).ifs)

    def result(self) -> tuple[list[Symbol], list[ClassInfo]]:
        """Symbols in source order with their complexity; classes with what they call."""
        for symbol, inner in self.symbols:
            symbol.complexity = inner.complexity
        for info, calls in self.classes:
            info.instantiates = tuple(sorted(calls))
        symbols = sorted((s for s, _ in self.symbols), key=lambda s: (s.line, s.column))
        classes = sorted((info for info, _ in self.classes), key=lambda c: c.line)
        return symbols, classes


class _Walker(Outline):
    """The outline's own walk (names not bound): an explicit stack of (node, scope)."""

    def __init__(self, nonblank: list[int], include_docstrings: bool) -> None:
        super().__init__(nonblank, include_docstrings)
        self.stack: list[tuple[ast.AST, Scope]] = []

    def define_and_push(self, node: _Def, scope: Scope) -> None:
        inner = self.define(node, scope)
        push = self.stack.append
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                push((base, scope))
            for keyword in node.keywords:
                push((keyword.value, scope))
        else:
            push((node.args, scope))
            if node.returns is not None:
                push((node.returns, scope))
        for decorator in node.decorator_list:
            push((decorator, scope))
        for statement in node.body:
            push((statement, inner))

    def walk(self, tree: ast.Module) -> None:
        module = Scope(None, False, None)
        stack = self.stack
        stack += ((node, module) for node in tree.body)
        push, pop, special = stack.append, stack.pop, _SPECIAL.get
        while stack:
            node, scope = pop()
            cls = type(node)
            code = special(cls)
            if code == _BRANCH:
                scope.complexity += 1
            elif code == _DEF:
                self.define_and_push(cast(_Def, node), scope)
                continue
            elif code == _CALL:
                if scope.calls is not None:
                    callee = _callee(cast(ast.Call, node))
                    if callee:
                        scope.calls.add(callee)
            elif code == _BOOL_OP:
                scope.complexity += len(cast(ast.BoolOp, node).values) - 1
            elif code == _COMPREHENSION:
                scope.complexity += len(cast(ast.comprehension, node).ifs)
            elif code == _IMPORT:
                continue  # names only: `imports_of` collects imports with their context
            for name in _FIELDS.get(cls) or _fields(cls):  # the cache inline: hot path
                value = getattr(node, name)
                if type(value) is list:
                    for child in value:
                        if child is not None and not isinstance(child, _LEAVES):
                            push((child, scope))
                elif value is not None and not isinstance(value, _LEAVES):
                    push((value, scope))


def _parse(data: bytes) -> ast.Module:
    """``ast.parse``, tried again when CPython 3.11 reports its AST depth counter disturbed:
    the counter is shared by every thread, so another thread building an AST at the same time
    makes the check fail (``SystemError: AST constructor recursion depth mismatch``, CPython
    gh-106905) though this file is fine."""
    for _ in range(_PARSE_ATTEMPTS - 1):
        try:
            return ast.parse(data)
        except SystemError:
            continue
    return ast.parse(data)


class PythonExtract(NamedTuple):
    symbols: list[Symbol]
    imports: list[ImportRef]
    classes: list[ClassInfo]
    errors: list[SyntaxIssue]
    refs: Packed | None = None  # None: not bound (`pybind.binding_enabled`)
    exports: tuple[str, ...] | None = None
    members: tuple[tuple[str, str, str], ...] | None = None


def extract_python(data: bytes, nonblank: list[int], include_docstrings: bool) -> PythonExtract:
    """Symbols (source order), imports, classes, errors and reference sites of one Python file.

    ``data`` is parsed as bytes so a PEP 263 coding cookie is honoured; ``nonblank`` is the
    prefix count from ``languages.nonblank_prefix`` used for each symbol's ``loc``.
    """
    try:
        tree = _parse(data)
    except (SyntaxError, ValueError, RecursionError) as exc:
        return PythonExtract([], [], [], [parse_error(exc)])
    imports = sorted(imports_of(tree), key=lambda i: i.line)
    if binding_enabled():
        outline = Outline(nonblank, include_docstrings)
        try:
            with gc_paused():  # the sites are gone, packed, before collections resume
                refs, exports, members = bind_python(tree, data, outline)
                packed = pack(refs)
                del refs
        except RecursionError:  # nested past what the binder follows: the outline still stands
            pass
        else:
            symbols, classes = outline.result()
            return PythonExtract(symbols, imports, classes, [], packed, exports, members)
    walker = _Walker(nonblank, include_docstrings)
    walker.walk(tree)
    symbols, classes = walker.result()
    if not binding_enabled():
        return PythonExtract(symbols, imports, classes, [])
    return PythonExtract(symbols, imports, classes, [], [], None, ())
