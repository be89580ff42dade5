"""C and C++ extraction with tree-sitter, in one walk of the tree.

Symbols are function definitions, structs, unions, enums and classes with a body, typedefs (and
C++ ``using X = ...``), named namespaces, and methods: definitions and declarations inside a class
or struct body, and out-of-class definitions with a qualified name (``void A::m() {}``, the
scope without its template arguments: ``Box<T>::get`` is ``Box.get``), conversion operators
(``operator bool``) included. C is parsed without its ``#ifdef __cplusplus`` branches; a parse
with errors is tried again without the macros to blame (`cmacros`).
"""

from __future__ import annotations

from typing import NamedTuple

from tree_sitter import Node

from aegisd_codemap.cbind import bind_c
from aegisd_codemap.cinclude import includes
from aegisd_codemap.cmacros import KEYWORDS, NO_MACROS, MacroSet, macro_entries, recover
from aegisd_codemap.cnames import name_parts
from aegisd_codemap.dialect import blank_cplusplus
from aegisd_codemap.languages import span_loc
from aegisd_codemap.model import ClassInfo, ImportRef, Symbol, SyntaxIssue
from aegisd_codemap.pybind import binding_enabled
from aegisd_codemap.scope import Scope
from aegisd_codemap.sites import IMPORT, Packed, pack
from aegisd_codemap.treesitter import column, doc_comment, parser_for, squeeze, syntax_issues, text

_RECORDS = {
    "struct_specifier": "struct",
    "union_specifier": "union",
    "enum_specifier": "enum",
    "class_specifier": "class",
}
_BRANCHES = frozenset(
    {
        "if_statement",
        "for_statement",
        "for_range_loop",
        "while_statement",
        "do_statement",
        "catch_clause",
        "conditional_expression",
    }
)
_LOGICAL = frozenset({"&&", "||", "and", "or"})
_DECLARATIONS = frozenset({"declaration", "field_declaration"})
# Declarator wrappers around a name, and what each adds to the return type.
_WRAPPERS = {
    "pointer_declarator": "*",
    "reference_declarator": "&",
    "parenthesized_declarator": "",
    "attributed_declarator": "",
}
_NAMES = frozenset({"identifier", "type_identifier", "field_identifier", "primitive_type"})


def _inner(declarator: Node) -> Node | None:
    found = declarator.child_by_field_name("declarator")
    if found is None and declarator.named_children:
        found = declarator.named_children[0]
    return found


def _function_declarator(declarator: Node | None) -> tuple[Node | None, str]:
    """The function declarator under pointer/reference wrappers, and the ``*``/``&`` they add."""
    suffix = ""
    while declarator is not None and declarator.type in _WRAPPERS:
        suffix += _WRAPPERS[declarator.type]
        declarator = _inner(declarator)
    if declarator is None or declarator.type != "function_declarator":
        return None, suffix
    return declarator, suffix


def _cast_operator(declarator: Node | None) -> Node | None:
    """The ``operator T`` (possibly ``A::operator T``) a conversion operator declares."""
    if declarator is None:
        return None
    found = declarator
    while found.type == "qualified_identifier":
        inner = found.child_by_field_name("name")
        if inner is None:
            return None
        found = inner
    return declarator if found.type == "operator_cast" else None


def _typedef_name(declarator: Node | None) -> str | None:
    while declarator is not None and declarator.type not in _NAMES:
        declarator = _inner(declarator)
    return text(declarator) if declarator is not None else None


def _params(function: Node) -> str:
    return squeeze(text(function.child_by_field_name("parameters")))


def _signature(node: Node, function: Node, suffix: str) -> str:
    """``(int a, char **b) -> int *``; constructors and destructors have no return part."""
    params = _params(function)
    returns = text(node.child_by_field_name("type"))
    return f"{params} -> {squeeze(returns)}{suffix and ' ' + suffix}" if returns else params


class _Walker:
    def __init__(self, data: bytes, nonblank: list[int], include_docstrings: bool) -> None:
        self.data = data
        self.nonblank = nonblank
        self.include_docstrings = include_docstrings
        self.scopes: list[tuple[Symbol, Scope]] = []
        self.declarations: set[int] = set()  # ids of methods declared without a body

    def define(
        self,
        node: Node,
        kind: str,
        parts: list[str],
        scope: Scope,
        signature: str | None = None,
        name: Node | None = None,
    ) -> Scope:
        """Record a symbol named by ``parts`` (scoped names split on ``::``); return its scope.
        Its line is its ``name``'s (a function's, below a return type on a line of its own),
        its lines of code the whole node's. No name, or a keyword (a misparse): its body is
        walked, nothing is recorded."""
        if not parts or parts[-1] in KEYWORDS:
            return scope
        qualname = scope.child(".".join(parts))
        parent = qualname.rsplit(".", 1)[0] if len(parts) > 1 else scope.qualname
        anchor = node.parent if node.parent and node.parent.type == "template_declaration" else node
        start, end = node.start_point.row + 1, node.end_point.row + 1
        at = name if name is not None and name.start_point.row > node.start_point.row else node
        symbol = Symbol(
            name=parts[-1],
            qualname=qualname,
            kind=kind,
            line=at.start_point.row + 1,
            end_line=end,
            column=column(self.data, at),
            parent=parent,
            signature=signature,
            decorators=(),
            docstring=doc_comment(anchor) if self.include_docstrings else None,
            loc=span_loc(self.nonblank, start, end),
            complexity=1,
        )
        inner = Scope(qualname, kind in ("class", "struct", "union"), None)
        self.scopes.append((symbol, inner))
        return inner

    def function(self, node: Node, scope: Scope) -> Scope | None:
        """A definition, or a method declared in a class body; None for anything else."""
        declarator = node.child_by_field_name("declarator")
        cast = _cast_operator(declarator)
        name: Node | None
        if cast is not None:  # operator bool() const: the parameters are on the cast
            operator: Node | None = cast
            while operator is not None and operator.type == "qualified_identifier":
                operator = operator.child_by_field_name("name")
            function = operator.child_by_field_name("declarator") if operator else None
            suffix, name = "", cast
        else:
            function, suffix = _function_declarator(declarator)
            name = function.child_by_field_name("declarator") if function is not None else None
        if function is None or name is None or name.type == "parenthesized_declarator":
            return None  # not a function, or a pointer to one
        if node.type != "function_definition" and not scope.in_class:
            return None  # a prototype
        parts = name_parts(name)
        if not parts:
            return None
        kind = "method" if scope.in_class or len(parts) > 1 else "function"
        signature = _signature(node, function, suffix) if cast is None else _params(function)
        count = len(self.scopes)
        inner = self.define(node, kind, parts, scope, signature, name)
        if node.type != "function_definition" and len(self.scopes) > count:
            self.declarations.add(id(self.scopes[-1][0]))
        return inner

    def macro(self, node: Node) -> None:
        """``#define NAME ...``: a file-level symbol wherever it stands (not an include guard:
        ``#ifndef X_H`` / ``#define X_H`` with no body)."""
        name = node.child_by_field_name("name")
        if name is None:
            return
        written, parent = text(name), node.parent
        guarded = parent is not None and parent.type == "preproc_ifdef"
        guard = parent.child_by_field_name("name") if parent is not None and guarded else None
        if node.child_by_field_name("value") is None and text(guard) == written:
            return
        self.define(node, "macro", [written], Scope(None, False, None), name=name)

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
            elif kind == "case_statement":
                scope.complexity += node.child_by_field_name("value") is not None
            elif kind == "binary_expression":
                operator = node.child_by_field_name("operator")
                scope.complexity += operator is not None and operator.type in _LOGICAL
            elif kind == "function_definition" or kind in _DECLARATIONS:
                scope = self.function(node, scope) or scope
            elif kind in _RECORDS:
                name = node.child_by_field_name("name")
                if name is not None and node.child_by_field_name("body") is not None:
                    scope = self.define(node, _RECORDS[kind], name_parts(name), scope)
            elif kind == "namespace_definition":
                name = node.child_by_field_name("name")
                if name is not None:
                    scope = self.define(node, "namespace", name_parts(name), scope)
            elif kind == "type_definition":
                for declarator in node.children_by_field_name("declarator"):
                    alias = _typedef_name(declarator)
                    if alias:
                        self.define(node, "typedef", [alias], scope)
            elif kind in ("preproc_def", "preproc_function_def"):
                self.macro(node)
            elif kind == "alias_declaration":
                self.define(node, "typedef", [text(node.child_by_field_name("name"))], scope)
            for child in node.named_children:
                push((child, scope))

    def symbols(self) -> list[Symbol]:
        """The symbols found; a method declared in its class and defined in the same file is
        a stub of that definition (search ranks the definition first)."""
        defined = {s.qualname for s, _ in self.scopes if id(s) not in self.declarations}
        for symbol, inner in self.scopes:
            symbol.complexity = inner.complexity
            symbol.stub = id(symbol) in self.declarations and symbol.qualname in defined
        return sorted((s for s, _ in self.scopes), key=lambda s: (s.line, s.column))


class CExtract(NamedTuple):
    symbols: list[Symbol]
    errors: list[SyntaxIssue]
    refs: Packed | None = None  # None: not bound (`pybind.binding_enabled`)
    imports: list[ImportRef] = []
    declared: tuple[str, ...] | None = None  # `cbind.CBound.declared`
    classes: list[ClassInfo] = []


def extract_c(
    data: bytes,
    language: str,
    nonblank: list[int],
    include_docstrings: bool,
    macros: MacroSet = NO_MACROS,
    header: bool = False,
) -> CExtract:
    """Symbols, syntax errors, includes and reference sites of one C or C++ file (partial on
    errors), recovered with the project's ``macros``. ``declared`` holds a ``header``'s
    attribute-like defines, and the set's digest when the first parse failed (`cmacros`)."""
    parser = parser_for(language)
    if language == "c":
        data = blank_cplusplus(data)
    original = data
    data, tree, blamed = recover(data, parser.parse, macros.names)
    root = tree.root_node
    walker = _Walker(data, nonblank, include_docstrings)
    walker.walk(root)
    symbols, errors = walker.symbols(), syntax_issues(root, data)
    failed = bool(blamed) or root.has_error  # the first parse failed: the set was used
    entries = macro_entries(original, header, macros.digest if failed else None)
    if not binding_enabled():
        return CExtract(symbols, errors, imports=includes(root), declared=entries or None)
    bound = bind_c(root, data)
    imports = [
        ImportRef(ref.name, (), 0, ref.line, "include" if ref.binding[2] == '"' else "system")
        for ref in bound.refs
        if ref.kind == IMPORT and ref.binding.startswith("x:")
    ]
    declared = (*bound.declared, *entries)
    return CExtract(symbols, errors, pack(bound.refs), imports, declared, bound.classes)
