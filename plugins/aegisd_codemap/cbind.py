"""C and C++ name binding: every reference site of a file and how its name is to be looked up.

Runs in the parse workers on the tree `cextract` already has (no second parse). One walk keeps
the scopes (file, namespaces — nested, anonymous, ``inline`` —, classes, functions with their
parameters and locals, template parameters), ``using namespace``, ``using X::y`` and namespace
aliases, and the declared types of a function's variables; each site's binding says how
`cresolve` finds its name at query time. Bindings (the stored format of `pybind`, C heads):

    binding := head ('>' member)*         a member looked up in the class the head names
    head    := 'n:' ctx usings ':' written  ``written`` (dots for ``::``; a leading dot: ``::x``)
                                           looked up from the namespace/class ``ctx`` outwards,
                                           then in the namespaces ``using`` made visible
             | 'q:' qualname                exactly that class (``this``)
             | 'x:' ('"' | '<') header      an ``#include`` (quoted or system)
             | 'u'                          not known here (a call through a pointer, a local)
    usings  := (';' declared_ctx '|' namespace)*

Kinds: ``call`` (``new X()`` included), ``read`` (names not local: globals, enumerators,
macros, ``#ifdef``), ``write`` (assignment to such a name; a function's prototype), ``import``
(``#include``, ``using``), ``inherit`` (base classes) and ``type``. Locals and parameters are
no sites unless called (a call through a function pointer: ``u``, listed as unresolved).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from tree_sitter import Node

from aegisd_codemap.cbinddecl import CScope, DeclarationBinder, Next
from aegisd_codemap.cinclude import written
from aegisd_codemap.cmacros import KEYWORDS
from aegisd_codemap.cnames import (
    last_name,
    written_name,
)
from aegisd_codemap.model import ClassInfo
from aegisd_codemap.sites import CALL, IMPORT, INHERIT, READ, TYPE, UNKNOWN, WRITE, Ref
from aegisd_codemap.treesitter import text

_SKIP = frozenset(
    {
        "comment", "string_literal", "raw_string_literal", "char_literal", "number_literal",
        "preproc_arg", "system_lib_string", "concatenated_string", "true", "false", "null",
        "nullptr", "primitive_type", "sized_type_specifier", "field_identifier",
        "statement_identifier", "auto", "placeholder_type_specifier", "access_specifier",
        "type_qualifier", "storage_class_specifier", "virtual_specifier", "escape_sequence",
    }
)  # fmt: skip
#: marks an inline namespace among the declarations
INLINE = "~"
_DEPTH = 400  # nesting followed (a deeper expression's inner sites are dropped)


class CBound(NamedTuple):
    refs: list[Ref]
    #: what the file declares without defining: ``qualname\tline\tcolumn`` (prototypes,
    #: methods declared in a class body), and its inline namespaces (``INLINE`` + qualname)
    declared: tuple[str, ...]
    classes: list[ClassInfo]


class _Binder(DeclarationBinder):
    # -- the walk -------------------------------------------------------------------------

    def walk(self, root: Node) -> None:
        file_scope = CScope("file", "", "", None)
        stack: list[tuple[Node, CScope, str, int]] = [
            (c, file_scope, READ, 0) for c in reversed(root.named_children)
        ]
        while stack:
            node, scope, kind, depth = stack.pop()
            if depth > _DEPTH:
                continue
            for child in reversed(self.visit(node, scope, kind)):
                stack.append((child[0], child[1], child[2], depth + 1))

    def visit(self, node: Node, scope: CScope, kind: str) -> Next:
        """Note ``node``'s own sites; what to walk next (in order)."""
        ntype = node.type
        if ntype in _SKIP:
            return []
        handler = _HANDLERS.get(ntype)
        if handler is not None:
            return handler(self, node, scope, kind)
        child_kind = kind if kind in (TYPE, INHERIT) else READ
        return [(c, scope, child_kind) for c in node.named_children]

    def _identifier(self, node: Node, scope: CScope, kind: str) -> Next:
        name = text(node)
        if name in KEYWORDS or self.is_local(name, scope):
            return []
        self.site(node, WRITE if kind == WRITE else READ, scope, self.lookup(name, scope))
        return []

    def _type_identifier(self, node: Node, scope: CScope, kind: str) -> Next:
        name = text(node)
        if not self.is_local(name, scope):
            site_kind = INHERIT if kind == INHERIT else TYPE
            self.site(node, site_kind, scope, self.lookup(name, scope))
        return []

    def _qualified(self, node: Node, scope: CScope, kind: str) -> Next:
        last = last_name(node)
        if last is None or last.type in ("destructor_name", "operator_name"):
            return []
        written = written_name(node)
        site_kind = {TYPE: TYPE, INHERIT: INHERIT, WRITE: WRITE, CALL: CALL}.get(kind, READ)
        if last.type == "type_identifier" and site_kind in (READ, WRITE):
            site_kind = TYPE
        self.site(last, site_kind, scope, self.lookup(written, scope))
        return self._template_arguments(node, scope)

    def _template_arguments(self, node: Node, scope: CScope) -> Next:
        found = []
        stack = [node]
        while stack:
            current = stack.pop()
            for child in current.named_children:
                if child.type == "template_argument_list":
                    found.append((child, scope, TYPE))
                elif child.type in ("qualified_identifier", "template_type", "template_function"):
                    stack.append(child)
        return found

    def _template_type(self, node: Node, scope: CScope, kind: str) -> Next:
        name = node.child_by_field_name("name")
        arguments = node.child_by_field_name("arguments")
        found: Next = []
        if name is not None:
            found.append((name, scope, INHERIT if kind == INHERIT else TYPE))
        if arguments is not None:
            found.append((arguments, scope, TYPE))
        return found

    def _call(self, node: Node, scope: CScope, kind: str) -> Next:
        function = node.child_by_field_name("function")
        arguments = node.child_by_field_name("arguments")
        after = [(arguments, scope, READ)] if arguments is not None else []
        if function is None:
            return after
        if function.type == "template_function":
            named = function.child_by_field_name("name")
            args = function.child_by_field_name("arguments")
            if args is not None:
                after.append((args, scope, TYPE))
            function = named if named is not None else function
        if function.type == "identifier":
            name = text(function)
            binding = UNKNOWN if self.is_local(name, scope) else self.lookup(name, scope)
            self.site(function, CALL, scope, binding)
            return after
        if function.type == "qualified_identifier":
            return [(function, scope, CALL), *after]
        if function.type == "field_expression":
            return [*self._member(function, scope, CALL), *after]
        pointer = _first_identifier(function)
        if pointer is not None:
            self.site(pointer, CALL, scope, UNKNOWN)  # through a pointer or an expression
        return [(function, scope, READ), *after]

    def _member(self, node: Node, scope: CScope, kind: str) -> Next:
        """``obj.f`` / ``p->f`` / ``this->x``: a site of ``f`` when ``obj``'s class is known
        (a call is a site anyway)."""
        argument = node.child_by_field_name("argument")
        field = node.child_by_field_name("field")
        if field is None or argument is None:
            return [(c, scope, READ) for c in node.named_children]
        if field.type in ("template_method", "template_function"):
            field = field.child_by_field_name("name") or field
        head: str | None = None
        if argument.type == "this":
            cls = self.this_class(scope)
            head = f"q:{cls}" if cls else None
        elif argument.type == "identifier":
            held = self.type_of(text(argument), scope)
            head = None if held is None else self.lookup(held, scope)
        elif argument.type == "pointer_expression":  # (*p).f
            inner = argument.child_by_field_name("argument")
            if inner is not None and inner.type == "identifier":
                held = self.type_of(text(inner), scope)
                head = None if held is None else self.lookup(held, scope)
        site_kind = kind if kind in (CALL, WRITE) else READ
        if head is not None:
            self.site(field, site_kind, scope, f"{head}>{text(field)}")
        elif site_kind == CALL:
            self.site(field, CALL, scope, UNKNOWN)
        return [(argument, scope, READ)]

    def _field_expression(self, node: Node, scope: CScope, kind: str) -> Next:
        return self._member(node, scope, kind)

    def _assignment(self, node: Node, scope: CScope, kind: str) -> Next:
        left = node.child_by_field_name("left") or node.child_by_field_name("argument")
        found = [(c, scope, READ) for c in node.named_children if c != left]
        return ([(left, scope, WRITE)] if left is not None else []) + found

    def _new(self, node: Node, scope: CScope, kind: str) -> Next:
        found: Next = []
        for child in node.named_children:
            if child == node.child_by_field_name("type"):
                last = last_name(child)
                if last is not None and last.type == "type_identifier":
                    written = written_name(child)
                    self.site(last, CALL, scope, self.lookup(written, scope))
                    found += self._template_arguments(child, scope)
                    continue
                found.append((child, scope, TYPE))
            else:
                found.append((child, scope, READ))
        return found

    def _include(self, node: Node, scope: CScope, kind: str) -> Next:
        path, found = node.child_by_field_name("path"), written(node)
        if path is None or found is None:
            return []  # #include MACRO
        header, system = found
        mark = "<" if system else '"'
        self.site(path, IMPORT, scope, f"x:{mark}{header}", header)
        # the column of the name, not of its quote
        self.refs[-1] = self.refs[-1]._replace(column=self.refs[-1].column + 1)
        return []

    def _ifdef(self, node: Node, scope: CScope, kind: str) -> Next:
        name = node.child_by_field_name("name")
        if name is not None and name.type == "identifier":
            self.site(name, READ, scope, self.lookup(text(name), scope))
        return [(c, scope, READ) for c in node.named_children if c != name]

    def _define(self, node: Node, scope: CScope, kind: str) -> Next:
        """A macro: a symbol (`cextract`), its name marked; its body is unparsed text."""
        name = node.child_by_field_name("name")
        if name is not None:
            self.site(name, WRITE, scope, f"d:{text(name)}")
        return []


def _first_identifier(node: Node) -> Node | None:
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type in ("identifier", "field_identifier"):
            return current
        stack.extend(reversed(current.named_children))
    return None


_HANDLERS: dict[str, Callable[[_Binder, Node, CScope, str], Next]] = {
    "identifier": _Binder._identifier,
    "type_identifier": _Binder._type_identifier,
    "namespace_identifier": _Binder._type_identifier,
    "qualified_identifier": _Binder._qualified,
    "template_type": _Binder._template_type,
    "call_expression": _Binder._call,
    "field_expression": _Binder._field_expression,
    "assignment_expression": _Binder._assignment,
    "update_expression": _Binder._assignment,
    "new_expression": _Binder._new,
    "preproc_include": _Binder._include,
    "preproc_ifdef": _Binder._ifdef,
    "preproc_def": _Binder._define,
    "preproc_function_def": _Binder._define,
    "namespace_definition": _Binder._namespace,
    "using_declaration": _Binder._using,
    "namespace_alias_definition": _Binder._namespace_alias,
    "class_specifier": _Binder._record,
    "struct_specifier": _Binder._record,
    "union_specifier": _Binder._record,
    "enum_specifier": _Binder._record,
    "enumerator": _Binder._enumerator,
    "template_declaration": _Binder._template,
    "declaration": _Binder._declaration,
    "field_declaration": _Binder._field_declaration,
    "parameter_declaration": _Binder._declaration,
    "function_definition": _Binder._function,
    "lambda_expression": _Binder._lambda,
    "type_definition": _Binder._typedef,
    "alias_declaration": _Binder._typedef,
}


def bind_c(root: Node, data: bytes) -> CBound:
    """The reference sites (sorted by position), declarations and classes of a C/C++ tree."""
    binder = _Binder(data)
    binder.walk(root)
    binder.refs.sort()
    inline = tuple(f"{INLINE}{name}" for name in binder.inline)
    return CBound(binder.refs, (*binder.declared, *inline), binder.classes)
