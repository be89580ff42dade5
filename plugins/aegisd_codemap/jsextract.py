"""JavaScript, TypeScript and TSX extraction with tree-sitter, in one walk of the tree.

Symbols are declarations (functions, classes, interfaces, enums, type aliases, namespaces), class
members, function or class expressions bound to a name (``const f = () => ...``, ``handle = () =>
...`` in a class body) or default-exported, and what `jsdefs` adds (members assigned, object
literal methods, values built from code). Other function expressions are not symbols: their
branches count towards the enclosing definition. An overload signature beside its
implementation is a ``stub``: search ranks the implementation first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from tree_sitter import Node, Tree

from aegisd_codemap.jsdefs import (
    FUNCTION_DECLS,
    FUNCTION_VALUES,
    SIGNATURES,
    Found,
    definition,
    prototype_owner,
)
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
from aegisd_codemap.scope import Scope
from aegisd_codemap.treesitter import (
    column,
    doc_comment,
    error_count,
    parser_for,
    squeeze,
    syntax_issues,
    text,
)

_BRANCHES = frozenset(
    {
        "if_statement",
        "for_statement",
        "for_in_statement",
        "while_statement",
        "do_statement",
        "catch_clause",
        "ternary_expression",
        "switch_case",
    }
)
_LOGICAL = frozenset({"&&", "||", "??"})
#: variance and const modifiers of a type parameter: ``<in out T>``, ``<const T extends U>``
_MODIFIERS = re.compile(
    rb"(?<=[<,])[ \t]*(?:(?:in|out|const)[ \t]+)+(?=[A-Za-z_$][\w$]*[ \t]*[,>=e])"
)
#: the indentation before a call signature that follows another without a separator
#: (``(a: string): void`` then ``(a: number): void``): its last blank becomes the ``;``
_UNSEPARATED = re.compile(rb"(?<=\):)([^\n;,{}()]*\n[ \t]*)[ \t](?=[(<])")
_NAME_TYPES = frozenset(
    {"identifier", "type_identifier", "member_expression", "nested_type_identifier"}
)
#: a ``require()`` inside one of these runs when it is called
_FUNCTION_NODES = FUNCTION_DECLS | FUNCTION_VALUES | {"method_definition"}
#: ... and inside one of these (outside functions), only on a condition
_CONDITIONAL_NODES = frozenset(
    {"if_statement", "try_statement", "switch_statement", "ternary_expression"}
) | (_BRANCHES - {"catch_clause", "switch_case"})


@dataclass(slots=True)
class JsResult:
    """What one JS/TS file yields, before ``extract`` wraps it into a ``FileExtract``."""

    symbols: list[Symbol] = field(default_factory=list)
    imports: list[ImportRef] = field(default_factory=list)
    classes: list[ClassInfo] = field(default_factory=list)
    errors: list[SyntaxIssue] = field(default_factory=list)
    default_export: str | None = None
    #: the parsed tree and the qualname of each defining node (by ``Node.id``), for `jsbind`
    root: Node | None = None
    defined: dict[int, str] = field(default_factory=dict)


def _dotted(node: Node | None) -> str | None:
    """``a.b.C`` for identifiers and member chains (generic arguments dropped), else None."""
    if node is not None and node.type == "generic_type":
        node = node.child_by_field_name("name")
    if node is None or node.type not in _NAME_TYPES:
        return None
    return "".join(text(node).split())


def _string(node: Node | None) -> str | None:
    if node is None or node.type != "string":
        return None
    return text(node)[1:-1]


def _bases(cls: Node) -> tuple[str, ...]:
    """Extended and implemented types as written, in order."""
    found: list[Node] = []
    for heritage in cls.named_children:
        if heritage.type != "class_heritage":
            continue
        for part in heritage.named_children:
            if part.type == "extends_clause":
                found += part.children_by_field_name("value")
            elif part.type == "implements_clause":
                found += part.named_children
            else:  # plain JavaScript: the expression itself
                found.append(part)
    return tuple(name for name in map(_dotted, found) if name)


def _extended(interface: Node) -> tuple[str, ...]:
    """The interfaces an interface extends, as written."""
    found = [
        part
        for clause in interface.named_children
        if clause.type == "extends_type_clause"
        for part in clause.named_children
    ]
    return tuple(name for name in map(_dotted, found) if name)


def _signature(fn: Node) -> str:
    """``<T>(a: T, b = 1): T`` as written, on one line."""
    params = fn.child_by_field_name("parameters")
    if params is None:  # ``x => ...``
        params_text = f"({text(fn.child_by_field_name('parameter'))})"
    else:
        params_text = text(params)
    generics = text(fn.child_by_field_name("type_parameters"))
    return squeeze(generics + params_text + text(fn.child_by_field_name("return_type")))


def _decorators(node: Node) -> tuple[str, ...]:
    """Decorators on the node and just before it (class members, ``@d export class``)."""
    before: list[Node] = []
    sibling = node.prev_named_sibling
    while sibling is not None and sibling.type == "decorator":
        before.append(sibling)
        sibling = sibling.prev_named_sibling
    found = before[::-1] + node.children_by_field_name("decorator")
    return tuple(text(d).removeprefix("@").strip() for d in found)


def _anchor(node: Node) -> Node:
    """The statement that carries a definition's comments, decorators and ``export``."""
    if node.type == "variable_declarator" and node.parent is not None:
        node = node.parent
    parent = node.parent
    return parent if parent is not None and parent.type == "export_statement" else node


def _clause_names(part: Node) -> list[tuple[str, str]]:
    """``(imported, local)`` pairs of one part of an import or export clause."""
    if part.type == "identifier":
        return [("default", text(part))]
    if part.type in ("namespace_import", "namespace_export"):
        return [("*", text(part.named_children[0]) if part.named_children else "")]
    if part.type not in ("named_imports", "export_clause"):
        return []
    names: list[tuple[str, str]] = []
    for spec in part.named_children:
        name = text(spec.child_by_field_name("name"))
        names.append((name, text(spec.child_by_field_name("alias")) or name))
    return names


def _type_only(node: Node) -> bool:
    """``import type ...`` / ``export type ... from``: erased at run time, like a Python import
    under ``if TYPE_CHECKING``."""
    return any(child.type == "type" for child in node.children)


def _call_context(call: Node) -> str:
    """When a ``require()`` call runs: the innermost function or condition around it (the
    walk up ends at the tree's root)."""
    context = TOP_LEVEL
    parent = call.parent
    while parent is not None:
        if parent.type in _FUNCTION_NODES:
            return DEFERRED
        if parent.type in _CONDITIONAL_NODES:
            context = CONDITIONAL
        parent = parent.parent
    return context


def _import(node: Node) -> ImportRef | None:
    """``import ... from 'x'``, ``import 'x'`` and TypeScript's ``import x = require('x')``."""
    source = _string(node.child_by_field_name("source"))
    names: list[tuple[str, str]] = []
    for clause in node.named_children:
        if clause.type == "import_clause":
            for part in clause.named_children:
                names += _clause_names(part)
        elif clause.type == "import_require_clause" and clause.named_children:
            source = _string(clause.child_by_field_name("source"))
            names.append(("*", text(clause.named_children[0])))
    if source is None:
        return None
    context = CONDITIONAL if _type_only(node) else TOP_LEVEL
    return ImportRef(source, tuple(names), 0, node.start_point.row + 1, "import", None, context)


def _require_names(call: Node) -> tuple[tuple[str, str], ...]:
    """Bindings of ``const x = require(...)`` / ``const {a, b: c} = require(...)``."""
    parent = call.parent
    if parent is None or parent.type != "variable_declarator":
        return ()
    target = parent.child_by_field_name("name")
    if target is None:
        return ()
    if target.type == "identifier":
        return (("*", text(target)),)
    names: list[tuple[str, str]] = []
    for part in target.named_children:
        if part.type == "shorthand_property_identifier_pattern":
            names.append((text(part), text(part)))
        elif part.type == "pair_pattern":
            key = text(part.child_by_field_name("key"))
            names.append((key, text(part.child_by_field_name("value"))))
    return tuple(names)


class _Walker:
    """One file's walk; holds what the node handlers collect."""

    def __init__(self, data: bytes, nonblank: list[int], include_docstrings: bool) -> None:
        self.data = data
        self.nonblank = nonblank
        self.include_docstrings = include_docstrings
        self.result = JsResult()
        self.exported_names: set[str] = set()
        self.scopes: list[tuple[Symbol, Scope]] = []
        self.classes: list[tuple[ClassInfo, set[str]]] = []
        self.signatures: set[int] = set()  # ids of symbols declared without a body

    def export(self, node: Node) -> None:
        """Record ``export ... from`` as an import, and which local names leave the file."""
        line = node.start_point.row + 1
        source = _string(node.child_by_field_name("source"))
        clauses = (
            c for c in node.named_children if c.type in ("export_clause", "namespace_export")
        )
        clause_names = [n for part in clauses for n in _clause_names(part)]
        if source is not None:
            names = clause_names or [("*", "")]
            context = CONDITIONAL if _type_only(node) else TOP_LEVEL
            ref = ImportRef(source, tuple(names), 0, line, "export", None, context)
            self.result.imports.append(ref)
            return
        for name, alias in clause_names:
            self.exported_names.add(name)
            if alias == "default":
                self.result.default_export = name
        is_default = any(c.type == "default" for c in node.children)
        value = node.child_by_field_name("value")
        if is_default and value is not None and value.type == "identifier":
            self.result.default_export = text(value)
            self.exported_names.add(text(value))

    def call(self, node: Node) -> None:
        """``require('x')`` and ``import('x')``."""
        fn = node.child_by_field_name("function")
        args = node.child_by_field_name("arguments")
        if fn is None or args is None or not args.named_children:
            return
        source = _string(args.named_children[0])
        if source is None:
            return
        line = node.start_point.row + 1
        if fn.type == "import":  # a promise: the module loads later, whatever the code around
            self.result.imports.append(ImportRef(source, (), 0, line, "dynamic", None, DEFERRED))
        elif fn.type == "identifier" and text(fn) == "require":
            names = _require_names(node)
            context = _call_context(node)
            self.result.imports.append(ImportRef(source, names, 0, line, "require", None, context))

    def define(self, node: Node, found: Found, scope: Scope) -> Scope:
        """Record a symbol and return the scope its body is walked in."""
        kind, name, defining = found.kind, found.name, found.defining
        anchor = _anchor(node)
        parent = scope.qualname
        if found.owner == "this":  # this.y = ... in a constructor: the class's member
            parent = parent.removesuffix(".constructor") if parent else None
        elif found.owner:
            parent = scope.child(found.owner)
        qualname = f"{parent}.{name}" if parent else name
        self.result.defined[node.id] = qualname
        is_class = kind in ("class", "interface")
        calls: set[str] | None = set() if kind == "class" else scope.calls
        functional = kind in ("function", "method")
        start, end = node.start_point.row + 1, node.end_point.row + 1
        symbol = Symbol(
            name=name,
            qualname=qualname,
            kind=kind,
            line=start,
            end_line=end,
            column=column(self.data, node),
            parent=parent,
            signature=_signature(defining) if functional else None,
            decorators=_decorators(node),
            docstring=doc_comment(anchor) if self.include_docstrings else None,
            loc=span_loc(self.nonblank, start, end),
            complexity=1,
            is_async=functional and any(c.type == "async" for c in defining.children),
            exported=found.exported or anchor.type == "export_statement",
        )
        inner = Scope(qualname, is_class, calls)
        self.scopes.append((symbol, inner))
        if node.type in SIGNATURES:
            self.signatures.add(id(symbol))
        if kind == "class" and calls is not None:
            self.classes.append((ClassInfo(qualname, start, _bases(defining), ()), calls))
        elif kind == "interface":  # its bases are looked in for members, like a class's
            self.classes.append((ClassInfo(qualname, start, _extended(defining), ()), set()))
        if anchor.type == "export_statement" and any(c.type == "default" for c in anchor.children):
            self.result.default_export = name
        return inner

    def walk(self, root: Node) -> None:
        stack: list[tuple[Node, Scope]] = [
            (c, Scope(None, False, None)) for c in root.named_children
        ]
        push = stack.append
        while stack:
            node, scope = stack.pop()
            kind = node.type
            if kind in _BRANCHES:
                scope.complexity += 1
            elif kind == "binary_expression":
                operator = node.child_by_field_name("operator")
                if operator is not None and operator.type in _LOGICAL:
                    scope.complexity += 1
            elif kind == "new_expression" and scope.calls is not None:
                callee = _dotted(node.child_by_field_name("constructor"))
                if callee:
                    scope.calls.add(callee)
            elif kind == "call_expression":
                self.call(node)
            elif kind == "import_statement":
                found_import = _import(node)
                if found_import is not None:
                    self.result.imports.append(found_import)
                continue
            elif kind == "export_statement":
                self.export(node)
            elif kind == "assignment_expression":
                owner = prototype_owner(node)
                if owner is not None:  # X.prototype = { ... }: its methods are X's
                    scope = Scope(scope.child(owner), False, scope.calls)
            found = definition(node, kind)
            if found is not None:
                scope = self.define(node, found, scope)
                node = found.defining
            for child in node.named_children:
                push((child, scope))

    def finish(self) -> JsResult:
        implemented = {s.qualname for s, _ in self.scopes if id(s) not in self.signatures}
        for symbol, inner in self.scopes:
            symbol.complexity = inner.complexity
            if symbol.parent is None and symbol.name in self.exported_names:
                symbol.exported = True
            symbol.stub = id(symbol) in self.signatures and symbol.qualname in implemented
        for info, calls in self.classes:
            info.instantiates = tuple(sorted(calls))
        result = self.result
        result.symbols = sorted((s for s, _ in self.scopes), key=lambda s: (s.line, s.column))
        result.imports.sort(key=lambda i: i.line)
        result.classes = sorted((c for c, _ in self.classes), key=lambda c: c.line)
        return result


def _recovered(data: bytes, tree: Tree, parse: Callable[[bytes], Tree]) -> tuple[bytes, Tree]:
    """A parse that failed, again past the grammar's gaps when that has fewer errors: type
    parameter modifiers (``<in out T>``, ``<const T>``) blanked, consecutive call signatures
    separated; every line and column stays put."""
    mended = _MODIFIERS.sub(lambda m: b" " * len(m.group()), data)
    mended = _UNSEPARATED.sub(rb"\1;", mended)
    if mended == data:
        return data, tree
    again = parse(mended)
    if error_count(again.root_node) < error_count(tree.root_node):
        return mended, again
    return data, tree


def extract_js(
    data: bytes, language: str, nonblank: list[int], include_docstrings: bool
) -> JsResult:
    """Symbols, imports, classes and syntax errors of one JS/TS/TSX file (partial on errors)."""
    parser = parser_for(language)
    tree = parser.parse(data)
    if tree.root_node.has_error and language != "javascript":
        data, tree = _recovered(data, tree, parser.parse)
    root = tree.root_node
    walker = _Walker(data, nonblank, include_docstrings)
    walker.walk(root)
    result = walker.finish()
    result.errors = syntax_issues(root, data)
    result.root = root
    return result
