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

from collections.abc import Callable, Iterator
from typing import NamedTuple

from tree_sitter import Node

from aegisd_codemap.cmacros import KEYWORDS
from aegisd_codemap.cnames import (
    WRAPPERS,
    declared_name,
    last_name,
    name_parts,
    written_name,
)
from aegisd_codemap.model import ClassInfo
from aegisd_codemap.pybind import CALL, IMPORT, INHERIT, READ, TYPE, UNKNOWN, WRITE, Ref
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
_RECORDS = frozenset({"class_specifier", "struct_specifier", "union_specifier", "enum_specifier"})
_FUNCTION_SCOPES = frozenset({"function", "block"})
#: marks an inline namespace among the declarations
INLINE = "~"
_DEPTH = 400  # nesting followed (a deeper expression's inner sites are dropped)


class CScope:
    """A scope while the walk is in it."""

    __slots__ = ("aliases", "cls", "ctx", "kind", "locals", "owner", "parent", "types", "usings")

    def __init__(self, kind: str, ctx: str, owner: str, parent: CScope | None) -> None:
        self.kind = kind  # file, namespace, class, function, block
        self.ctx = ctx  # the namespace/class names are looked up from (dotted)
        self.owner = owner  # the qualname of the definition its sites are in
        self.parent = parent
        self.locals: set[str] = set()
        self.types: dict[str, str] = {}  # variable -> its type as written (dotted)
        self.usings: list[str] = []  # "ctx|namespace"
        self.aliases: dict[str, str] = {}  # `using X::y`, `namespace a = b::c`: name -> written
        self.cls: str | None = None  # the class `this` is in

    def chain(self) -> Iterator[CScope]:
        found: CScope | None = self
        while found is not None:
            yield found
            found = found.parent


class CBound(NamedTuple):
    refs: list[Ref]
    #: what the file declares without defining: ``qualname\tline\tcolumn`` (prototypes,
    #: methods declared in a class body), and its inline namespaces (``INLINE`` + qualname)
    declared: tuple[str, ...]
    classes: list[ClassInfo]


class _Binder:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.lines = data.split(b"\n")
        self.refs: list[Ref] = []
        self.declared: list[str] = []
        self.classes: list[ClassInfo] = []
        self.inline: list[str] = []  # inline namespaces' qualnames

    # -- sites ----------------------------------------------------------------------------

    def site(self, node: Node, kind: str, scope: CScope, binding: str, name: str = "") -> None:
        row, offset = node.start_point
        line = self.lines[row] if row < len(self.lines) else b""
        column = offset if line.isascii() else len(line[:offset].decode("utf-8", "replace"))
        self.refs.append(Ref(row + 1, column + 1, name or text(node), kind, scope.owner, binding))

    def lookup(self, written: str, scope: CScope) -> str:
        """The ``n:`` binding of a name as written in ``scope``."""
        first, dot, rest = written.partition(".")
        usings: list[str] = []
        for outer in scope.chain():
            if first in outer.aliases and not written.startswith("."):
                written = outer.aliases[first] + dot + rest
                first = ""
            usings += outer.usings
        ctx = "" if written.startswith(".") else scope.ctx
        return "n:" + ctx + "".join(";" + u for u in usings) + ":" + written.lstrip(".")

    def is_local(self, name: str, scope: CScope) -> bool:
        for outer in scope.chain():
            if outer.kind not in _FUNCTION_SCOPES:
                return False
            if name in outer.locals:
                return True
        return False

    def type_of(self, name: str, scope: CScope) -> str | None:
        for outer in scope.chain():
            if outer.kind not in _FUNCTION_SCOPES:
                return None
            if name in outer.locals:
                return outer.types.get(name)
        return None

    def this_class(self, scope: CScope) -> str | None:
        for outer in scope.chain():
            if outer.cls is not None:
                return outer.cls
        return None

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

    def visit(self, node: Node, scope: CScope, kind: str) -> list[tuple[Node, CScope, str]]:
        """Note ``node``'s own sites; what to walk next (in order)."""
        ntype = node.type
        if ntype in _SKIP:
            return []
        handler = _HANDLERS.get(ntype)
        if handler is not None:
            return handler(self, node, scope, kind)
        child_kind = kind if kind in (TYPE, INHERIT) else READ
        return [(c, scope, child_kind) for c in node.named_children]

    def _identifier(self, node: Node, scope: CScope, kind: str) -> list[tuple[Node, CScope, str]]:
        name = text(node)
        if name in KEYWORDS or self.is_local(name, scope):
            return []
        self.site(node, WRITE if kind == WRITE else READ, scope, self.lookup(name, scope))
        return []

    def _type_identifier(
        self, node: Node, scope: CScope, kind: str
    ) -> list[tuple[Node, CScope, str]]:
        name = text(node)
        if not self.is_local(name, scope):
            site_kind = INHERIT if kind == INHERIT else TYPE
            self.site(node, site_kind, scope, self.lookup(name, scope))
        return []

    def _qualified(self, node: Node, scope: CScope, kind: str) -> list[tuple[Node, CScope, str]]:
        last = last_name(node)
        if last is None or last.type in ("destructor_name", "operator_name"):
            return []
        written = written_name(node)
        site_kind = {TYPE: TYPE, INHERIT: INHERIT, WRITE: WRITE, CALL: CALL}.get(kind, READ)
        if last.type == "type_identifier" and site_kind in (READ, WRITE):
            site_kind = TYPE
        self.site(last, site_kind, scope, self.lookup(written, scope))
        return self._template_arguments(node, scope)

    def _template_arguments(self, node: Node, scope: CScope) -> list[tuple[Node, CScope, str]]:
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

    def _template_type(
        self, node: Node, scope: CScope, kind: str
    ) -> list[tuple[Node, CScope, str]]:
        name = node.child_by_field_name("name")
        arguments = node.child_by_field_name("arguments")
        found: list[tuple[Node, CScope, str]] = []
        if name is not None:
            found.append((name, scope, INHERIT if kind == INHERIT else TYPE))
        if arguments is not None:
            found.append((arguments, scope, TYPE))
        return found

    def _call(self, node: Node, scope: CScope, kind: str) -> list[tuple[Node, CScope, str]]:
        function = node.child_by_field_name("function")
        arguments = node.child_by_field_name("arguments")
        after = [(arguments, scope, READ)] if arguments is not None else []
        if function is None:
            return after
        if function.type == "template_function":
            name = function.child_by_field_name("name")
            args = function.child_by_field_name("arguments")
            if args is not None:
                after.append((args, scope, TYPE))
            function = name if name is not None else function
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

    def _member(self, node: Node, scope: CScope, kind: str) -> list[tuple[Node, CScope, str]]:
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

    def _field_expression(
        self, node: Node, scope: CScope, kind: str
    ) -> list[tuple[Node, CScope, str]]:
        return self._member(node, scope, kind)

    def _assignment(self, node: Node, scope: CScope, kind: str) -> list[tuple[Node, CScope, str]]:
        left = node.child_by_field_name("left") or node.child_by_field_name("argument")
        found = [(c, scope, READ) for c in node.named_children if c != left]
        return ([(left, scope, WRITE)] if left is not None else []) + found

    def _new(self, node: Node, scope: CScope, kind: str) -> list[tuple[Node, CScope, str]]:
        found: list[tuple[Node, CScope, str]] = []
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

    def _include(self, node: Node, scope: CScope, kind: str) -> list[tuple[Node, CScope, str]]:
        path = node.child_by_field_name("path")
        if path is None:
            return []
        raw = text(path)
        if path.type == "system_lib_string":
            header, mark = raw.strip("<>"), "<"
        elif path.type == "string_literal":
            header, mark = raw.strip('"'), '"'
        else:
            return []  # #include MACRO
        self.site(path, IMPORT, scope, f"x:{mark}{header}", header)
        # the column of the name, not of its quote
        self.refs[-1] = self.refs[-1]._replace(column=self.refs[-1].column + 1)
        return []

    def _ifdef(self, node: Node, scope: CScope, kind: str) -> list[tuple[Node, CScope, str]]:
        name = node.child_by_field_name("name")
        if name is not None and name.type == "identifier":
            self.site(name, READ, scope, self.lookup(text(name), scope))
        return [(c, scope, READ) for c in node.named_children if c != name]

    def _define(self, node: Node, scope: CScope, kind: str) -> list[tuple[Node, CScope, str]]:
        """A macro: a symbol (`cextract`), its name marked; its body is unparsed text."""
        name = node.child_by_field_name("name")
        if name is not None:
            self.site(name, WRITE, scope, f"d:{text(name)}")
        return []

    def _namespace(self, node: Node, scope: CScope, kind: str) -> list[tuple[Node, CScope, str]]:
        name = node.child_by_field_name("name")
        body = node.child_by_field_name("body")
        if body is None:
            return []
        if name is None:  # anonymous: its names are the enclosing namespace's
            inner = CScope("namespace", scope.ctx, scope.owner, scope)
        else:
            written = ".".join(name_parts(name))
            ctx = f"{scope.ctx}.{written}" if scope.ctx else written
            inner = CScope("namespace", ctx, ctx, scope)
            if any(c.type == "inline" for c in node.children):
                scope.usings.append(f"{scope.ctx}|{written}")
                self.inline.append(ctx)
        return [(c, inner, READ) for c in body.named_children]

    def _using(self, node: Node, scope: CScope, kind: str) -> list[tuple[Node, CScope, str]]:
        target = next(
            (c for c in node.named_children if c.type in ("identifier", "qualified_identifier")),
            None,
        )
        if target is None:
            return []
        written = written_name(target)
        last = last_name(target) or target
        if any(c.type == "namespace" for c in node.children):
            scope.usings.append(f"{scope.ctx}|{written}")
        else:
            scope.aliases[written.rsplit(".", 1)[-1]] = written
        self.site(last, IMPORT, scope, self.lookup(written, scope))
        return []

    def _namespace_alias(
        self, node: Node, scope: CScope, kind: str
    ) -> list[tuple[Node, CScope, str]]:
        name = node.child_by_field_name("name")
        target = next(
            (
                c
                for c in node.named_children
                if c != name and c.type in ("nested_namespace_specifier", "namespace_identifier",
                                            "qualified_identifier")
            ),
            None,
        )  # fmt: skip
        if name is not None and target is not None:
            scope.aliases[text(name)] = text(target).replace(" ", "").replace("::", ".")
        return []

    def _record(self, node: Node, scope: CScope, kind: str) -> list[tuple[Node, CScope, str]]:
        name = node.child_by_field_name("name")
        body = node.child_by_field_name("body")
        if body is None:  # `struct Foo x;`: a use of the type
            return [(name, scope, TYPE)] if name is not None else []
        found: list[tuple[Node, CScope, str]] = []
        for child in node.named_children:
            if child.type == "base_class_clause":
                found += [(c, scope, INHERIT) for c in child.named_children]
        if name is None or node.type == "enum_specifier":
            return [*found, (body, scope, READ)]
        written = ".".join(name_parts(name))
        qualname = f"{scope.ctx}.{written}" if scope.ctx else written
        inner = CScope("class", qualname, qualname, scope)
        inner.cls = qualname
        self.site(name, WRITE, scope, f"d:{qualname}")
        bases = tuple(
            written_name(base).lstrip(".")
            for base, _, _ in found
            if base.type in ("type_identifier", "qualified_identifier", "template_type")
        )
        row = node.start_point.row + 1
        if bases:  # what member lookups follow
            self.classes.append(ClassInfo(qualname, row, bases, ()))
        return [*found, *((c, inner, READ) for c in body.named_children)]

    def _enumerator(self, node: Node, scope: CScope, kind: str) -> list[tuple[Node, CScope, str]]:
        value = node.child_by_field_name("value")
        return [(value, scope, READ)] if value is not None else []

    def _template(self, node: Node, scope: CScope, kind: str) -> list[tuple[Node, CScope, str]]:
        inner = CScope("template", scope.ctx, scope.owner, scope)
        inner.cls = None
        parameters = node.child_by_field_name("parameters")
        found: list[tuple[Node, CScope, str]] = []
        for parameter in parameters.named_children if parameters is not None else ():
            for child in parameter.named_children:
                if child.type in ("type_identifier", "identifier"):
                    inner.locals.add(text(child))
                elif child.type != "comment":
                    found.append((child, inner, TYPE))
        # template parameters are local to what the template declares
        inner.kind = "block"
        for child in node.named_children:
            if child != parameters:
                found.append((child, inner, READ))
        return found

    def _declaration(self, node: Node, scope: CScope, kind: str) -> list[tuple[Node, CScope, str]]:
        """A variable's (locals: their types), a prototype (a ``write`` site), a member's."""
        found: list[tuple[Node, CScope, str]] = []
        type_node = node.child_by_field_name("type")
        written_type = None
        if type_node is not None:
            found.append((type_node, scope, TYPE))
            last = last_name(type_node)
            if type_node.type in _RECORDS:
                last = type_node.child_by_field_name("name")
            if last is not None and last.type == "type_identifier":
                written_type = text(last) if type_node.type in _RECORDS else written_name(type_node)
        local = scope.kind in _FUNCTION_SCOPES
        for declarator in node.children_by_field_name("declarator"):
            function = _function_of(declarator)
            if function is not None:
                found += self._prototype(node, function, scope)
                continue
            name = declared_name(declarator)
            if name is not None and name.type == "identifier" and local:
                scope.locals.add(text(name))
                if written_type is not None:
                    scope.types[text(name)] = written_type
            if declarator.type == "init_declarator":
                value = declarator.child_by_field_name("value")
                if value is not None:
                    found.append((value, scope, READ))
            found += _array_sizes(declarator, scope)
        return found

    def _prototype(
        self, node: Node, function: Node, scope: CScope
    ) -> list[tuple[Node, CScope, str]]:
        name = function.child_by_field_name("declarator")
        found: list[tuple[Node, CScope, str]] = []
        parameters = function.child_by_field_name("parameters")
        if parameters is not None:
            found += self._parameter_types(parameters, scope)
        if name is None or (scope.kind in _FUNCTION_SCOPES and scope.kind != "block"):
            return found
        last = last_name(name)
        if last is None or last.type not in ("identifier", "field_identifier"):
            return found
        written = written_name(name) if name.type == "qualified_identifier" else text(last)
        qualname = f"{scope.ctx}.{written}" if scope.ctx else written
        row, col = last.start_point
        self.declared.append(f"{qualname}\t{row + 1}\t{col + 1}")
        if _definer(scope).kind == "class":  # a symbol already: its name marked
            self.site(last, WRITE, scope, f"d:{qualname}")
        else:
            self.site(last, WRITE, scope, self.lookup(written, scope))
        return found

    def _parameter_types(self, parameters: Node, scope: CScope) -> list[tuple[Node, CScope, str]]:
        found = []
        for parameter in parameters.named_children:
            type_node = parameter.child_by_field_name("type")
            if type_node is not None:
                found.append((type_node, scope, TYPE))
            default = parameter.child_by_field_name("default_value")
            if default is not None:
                found.append((default, scope, READ))
        return found

    def _function(self, node: Node, scope: CScope, kind: str) -> list[tuple[Node, CScope, str]]:
        declarator = node.child_by_field_name("declarator")
        function = _function_of(declarator) if declarator is not None else None
        body = node.child_by_field_name("body")
        found: list[tuple[Node, CScope, str]] = []
        type_node = node.child_by_field_name("type")
        if type_node is not None:
            found.append((type_node, scope, TYPE))
        name = function.child_by_field_name("declarator") if function is not None else None
        parts = name_parts(name) if name is not None else []
        if not parts or parts[-1] in KEYWORDS:
            qualname, ctx = scope.owner, scope.ctx
        else:
            qualname = ".".join(filter(None, [scope.ctx, *parts]))
            ctx = qualname.rsplit(".", 1)[0] if "." in qualname else ""
        inner = CScope("function", ctx, qualname, scope)
        named = last_name(name) if name is not None and parts else None
        if named is not None and named.type in ("identifier", "field_identifier"):
            self.site(named, WRITE, scope, f"d:{qualname}")  # where its definition is named
        if _definer(scope).kind == "class" or len(parts) > 1:
            inner.cls = ctx or None
        if name is not None and name.type == "qualified_identifier":
            scope_node = name.child_by_field_name("scope")
            if scope_node is not None:
                self._qualifier_sites(name, scope)
        parameters = function.child_by_field_name("parameters") if function is not None else None
        if parameters is not None:
            for parameter in parameters.named_children:
                type_node = parameter.child_by_field_name("type")
                declared = declared_name(parameter.child_by_field_name("declarator"))
                if declared is not None and declared.type == "identifier":
                    inner.locals.add(text(declared))
                    last = last_name(type_node) if type_node is not None else None
                    if last is not None and last.type == "type_identifier":
                        inner.types[text(declared)] = written_name(type_node)  # type: ignore[arg-type]
            found += self._parameter_types(parameters, scope)
        for child in node.named_children:
            if child.type == "field_initializer_list":
                found.append((child, inner, READ))
        if body is not None:
            found.append((body, inner, READ))
        return found

    def _qualifier_sites(self, name: Node, scope: CScope) -> None:
        """``A`` and ``ns`` in ``void ns::A::f()``: uses of the class (the namespace)."""
        prefix: list[str] = []
        current: Node | None = name
        while current is not None and current.type == "qualified_identifier":
            part = current.child_by_field_name("scope")
            if part is not None:
                if part.type == "template_type":
                    part = part.child_by_field_name("name")
                if part is not None and part.type in ("namespace_identifier", "type_identifier"):
                    prefix.append(text(part))
                    self.site(part, TYPE, scope, self.lookup(".".join(prefix), scope))
            current = current.child_by_field_name("name")

    def _typedef(self, node: Node, scope: CScope, kind: str) -> list[tuple[Node, CScope, str]]:
        """``typedef T name;`` / ``using name = T;``: a use of ``T`` (the name is a symbol)."""
        type_node = node.child_by_field_name("type")
        return [(type_node, scope, TYPE)] if type_node is not None else []

    def _lambda(self, node: Node, scope: CScope, kind: str) -> list[tuple[Node, CScope, str]]:
        inner = CScope("block", scope.ctx, scope.owner, scope)
        declarator = node.child_by_field_name("declarator")
        found: list[tuple[Node, CScope, str]] = []
        parameters = declarator.child_by_field_name("parameters") if declarator else None
        if parameters is not None:
            for parameter in parameters.named_children:
                declared = declared_name(parameter.child_by_field_name("declarator"))
                if declared is not None:
                    inner.locals.add(text(declared))
            found += self._parameter_types(parameters, scope)
        body = node.child_by_field_name("body")
        if body is not None:
            found.append((body, inner, READ))
        return found

    def _field_declaration(
        self, node: Node, scope: CScope, kind: str
    ) -> list[tuple[Node, CScope, str]]:
        return self._declaration(node, scope, kind)


def _definer(scope: CScope) -> CScope:
    """The nearest scope that is no template's or lambda's."""
    found = scope
    while found.kind == "block" and found.parent is not None:
        found = found.parent
    return found


def _function_of(declarator: Node | None) -> Node | None:
    """The function declarator under pointer/reference wrappers (not a pointer to one)."""
    while declarator is not None and declarator.type in (
        "pointer_declarator", "reference_declarator", "attributed_declarator",
    ):  # fmt: skip
        declarator = declarator.child_by_field_name("declarator")
    if declarator is None or declarator.type != "function_declarator":
        return None
    inner = declarator.child_by_field_name("declarator")
    if inner is None or inner.type == "parenthesized_declarator":
        return None  # a pointer to a function
    return declarator


def _array_sizes(declarator: Node, scope: CScope) -> list[tuple[Node, CScope, str]]:
    found = []
    current: Node | None = declarator
    while current is not None and current.type in WRAPPERS:
        size = current.child_by_field_name("size") if current.type == "array_declarator" else None
        if size is not None:
            found.append((size, scope, READ))
        current = current.child_by_field_name("declarator")
    return found


def _first_identifier(node: Node) -> Node | None:
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type in ("identifier", "field_identifier"):
            return current
        stack.extend(reversed(current.named_children))
    return None


_HANDLERS: dict[str, Callable[[_Binder, Node, CScope, str], list[tuple[Node, CScope, str]]]] = {
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
