"""The declaring half of `cbind`: scopes and what declarations put in them.

Namespaces (named, nested, anonymous, ``inline``), ``using`` directives and declarations,
namespace aliases, classes and their bases, templates' parameters, functions (out-of-class
definitions bind their body to the class), parameters and locals with their declared types,
prototypes (``write`` sites and declarations for `cresolve`).
"""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from aegisd_codemap.cmacros import KEYWORDS
from aegisd_codemap.cnames import WRAPPERS, declared_name, last_name, name_parts, written_name
from aegisd_codemap.model import ClassInfo
from aegisd_codemap.sites import IMPORT, INHERIT, READ, TYPE, WRITE, Ref
from aegisd_codemap.treesitter import text

RECORDS = frozenset({"class_specifier", "struct_specifier", "union_specifier", "enum_specifier"})
FUNCTION_SCOPES = frozenset({"function", "block"})


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


Next = list[tuple[Node, CScope, str]]
"""What a handler leaves to walk: (node, scope, kind of the sites in it)."""


class SiteBinder:
    """Where a binder notes sites, and how it reads the scopes it is in."""

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
            if outer.kind not in FUNCTION_SCOPES:
                return False
            if name in outer.locals:
                return True
        return False

    def type_of(self, name: str, scope: CScope) -> str | None:
        for outer in scope.chain():
            if outer.kind not in FUNCTION_SCOPES:
                return None
            if name in outer.locals:
                return outer.types.get(name)
        return None

    def this_class(self, scope: CScope) -> str | None:
        for outer in scope.chain():
            if outer.cls is not None:
                return outer.cls
        return None


class DeclarationBinder(SiteBinder):
    def _namespace(self, node: Node, scope: CScope, kind: str) -> Next:
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

    def _using(self, node: Node, scope: CScope, kind: str) -> Next:
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

    def _namespace_alias(self, node: Node, scope: CScope, kind: str) -> Next:
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

    def _record(self, node: Node, scope: CScope, kind: str) -> Next:
        name = node.child_by_field_name("name")
        body = node.child_by_field_name("body")
        if body is None:  # `struct Foo x;`: a use of the type
            return [(name, scope, TYPE)] if name is not None else []
        found: Next = []
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

    def _enumerator(self, node: Node, scope: CScope, kind: str) -> Next:
        value = node.child_by_field_name("value")
        return [(value, scope, READ)] if value is not None else []

    def _template(self, node: Node, scope: CScope, kind: str) -> Next:
        inner = CScope("template", scope.ctx, scope.owner, scope)
        inner.cls = None
        parameters = node.child_by_field_name("parameters")
        found: Next = []
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

    def _declaration(self, node: Node, scope: CScope, kind: str) -> Next:
        """A variable's (locals: their types), a prototype (a ``write`` site), a member's."""
        found: Next = []
        type_node = node.child_by_field_name("type")
        written_type = None
        if type_node is not None:
            found.append((type_node, scope, TYPE))
            last = last_name(type_node)
            if type_node.type in RECORDS:
                last = type_node.child_by_field_name("name")
            if last is not None and last.type == "type_identifier":
                written_type = text(last) if type_node.type in RECORDS else written_name(type_node)
        local = scope.kind in FUNCTION_SCOPES
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

    def _prototype(self, node: Node, function: Node, scope: CScope) -> Next:
        name = function.child_by_field_name("declarator")
        found: Next = []
        parameters = function.child_by_field_name("parameters")
        if parameters is not None:
            found += self._parameter_types(parameters, scope)
        if name is None or (scope.kind in FUNCTION_SCOPES and scope.kind != "block"):
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

    def _parameter_types(self, parameters: Node, scope: CScope) -> Next:
        found = []
        for parameter in parameters.named_children:
            type_node = parameter.child_by_field_name("type")
            if type_node is not None:
                found.append((type_node, scope, TYPE))
            default = parameter.child_by_field_name("default_value")
            if default is not None:
                found.append((default, scope, READ))
        return found

    def _function(self, node: Node, scope: CScope, kind: str) -> Next:
        declarator = node.child_by_field_name("declarator")
        function = _function_of(declarator) if declarator is not None else None
        body = node.child_by_field_name("body")
        found: Next = []
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

    def _typedef(self, node: Node, scope: CScope, kind: str) -> Next:
        """``typedef T name;`` / ``using name = T;``: a use of ``T``, the name's own site (a
        symbol, as a record's name), and the parameter types of a function-pointer type
        (``typedef void (*F)(Table *);``)."""
        type_node = node.child_by_field_name("type")
        found: Next = [(type_node, scope, TYPE)] if type_node is not None else []
        declarators: list[Node | None] = (
            [node.child_by_field_name("name")]
            if node.type == "alias_declaration"
            else list(node.children_by_field_name("declarator"))
        )
        for declarator in declarators:
            stack = [declarator]
            while stack:  # bounded by the declarator's depth
                current = stack.pop()
                if current is None or current.type not in WRAPPERS:
                    continue
                parameters = current.child_by_field_name("parameters")
                if parameters is not None:
                    found += self._parameter_types(parameters, scope)
                stack.append(current.child_by_field_name("declarator"))
            name = declared_name(declarator)
            if name is not None and name.type in ("type_identifier", "identifier"):
                written = text(name)
                self.site(
                    name, WRITE, scope, f"d:{scope.ctx}.{written}" if scope.ctx else f"d:{written}"
                )
        return found

    def _lambda(self, node: Node, scope: CScope, kind: str) -> Next:
        inner = CScope("block", scope.ctx, scope.owner, scope)
        declarator = node.child_by_field_name("declarator")
        found: Next = []
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

    def _field_declaration(self, node: Node, scope: CScope, kind: str) -> Next:
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


def _array_sizes(declarator: Node, scope: CScope) -> Next:
    found = []
    current: Node | None = declarator
    while current is not None and current.type in WRAPPERS:
        size = current.child_by_field_name("size") if current.type == "array_declarator" else None
        if size is not None:
            found.append((size, scope, READ))
        current = current.child_by_field_name("declarator")
    return found
