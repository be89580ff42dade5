"""JavaScript and TypeScript name binding: every reference site of a file and what it binds to.

Runs in the parse workers on the tree `jsextract` parsed (no second parse), with the qualname
`jsextract` gave each defining node. One walk builds the scopes (module, function, arrow,
class, block for ``let``/``const``; parameters, destructuring, ES imports, ``require``) and
notes each site; bindings are worked out once every scope is complete. Bindings use `pybind`'s
grammar, read by `jsresolve` for JS/TS files:

    head := 'g:' name            a module-level name of this file (definition or import)
          | 'd:' qualname        a definition of this file (nested, or a class for ``this``)
          | 'i:' spec ':' name   an import from a specifier (``default``; ``*``: the module,
                                 or what it assigns to ``module.exports``)
          | 'p:' qualname        the bases of this file's class (``super``)
          | 'b:' name            a JS global (`jsglobals`)
          | 'u'                  not known here

Sites of kind ``def`` mark each definition's own name (so a position on it finds it); they are
never listed as references. ``exports`` holds what the file exports as ``name<TAB>binding``
(``*``: ``export * from``; ``=``: ``module.exports =`` / ``export =``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from tree_sitter import Node

from aegisd_codemap.jsdefs import definition
from aegisd_codemap.jsexports import ModuleBindings
from aegisd_codemap.jsnodes import (
    SIGNATURES,
    is_var,
    iterated,
    name_node,
    passed_to,
    this_class,
    untyped_as,
)
from aegisd_codemap.jsscope import (
    BAD,
    BLOCKS,
    DEF,
    ELEMENT,
    FUNCTIONS,
    IMPORT,
    PARAM,
    VAR,
    Item,
    JsScope,
    Push,
    known_type,
    parameter_type,
    pattern_names,
    require_specifier,
    unwrap,
)
from aegisd_codemap.sites import CALL, INHERIT, READ, TYPE, WRITE, Ref
from aegisd_codemap.sites import IMPORT as IMPORT_KIND
from aegisd_codemap.treesitter import text

DEF_SITE = "def"
_CLASSES = frozenset({"class_declaration", "abstract_class_declaration", "class"})
_FIELD_NODES = frozenset({"public_field_definition", "field_definition"})
_OWN_SCOPES = frozenset(
    {"interface_declaration", "internal_module", "enum_declaration", "type_alias_declaration"}
)
_NESTED_LIMIT = 64


class JsBound(NamedTuple):
    refs: list[Ref]
    exports: tuple[str, ...]
    members: tuple[tuple[str, str, str], ...]


class _Binder(ModuleBindings):
    """One file's walk: scopes, declarations and sites (`ModuleBindings`: imports and
    exports; `Bindings`: what the sites bind to)."""

    # -- the walk ------------------------------------------------------------------------

    def walk(self, root: Node) -> None:
        stack: list[Item] = [(c, self.module, READ) for c in reversed(root.named_children)]
        while stack:
            node, scope, kind = stack.pop()
            self.visit(node, scope, kind, stack.append)

    def visit(self, node: Node, scope: JsScope, kind: str, push: Push) -> None:
        type_ = node.type
        if node.id in self.defined and self.definition(node, scope, push):
            return
        handler = _HANDLERS.get(type_)
        if handler is not None:
            handler(self, node, scope, kind, push)
            return
        if type_ in FUNCTIONS:
            self.function(node, scope, scope.qualname, None, push)
            return
        if type_ in _CLASSES:
            self.class_(node, scope, scope.qualname, push)
            return
        if type_ in BLOCKS:
            scope = JsScope("block", scope.qualname, scope, scope.cls)
        child_kind = TYPE if kind in (TYPE, INHERIT) else READ
        for child in reversed(node.named_children):
            push((child, scope, child_kind))

    # -- definitions ----------------------------------------------------------------------

    def definition(self, node: Node, scope: JsScope, push: Push) -> bool:
        found = definition(node, node.type)
        if found is None:
            return False
        qualname = self.defined[node.id]
        name = name_node(node)
        if name is not None:
            self.fix(name, found.name, DEF_SITE, scope, f"d:{qualname}")
        if node.type == "variable_declarator":
            holder = scope.function_scope() if is_var(node) else scope
            holder.declare(found.name, DEF, qualname)
        elif node.type not in (
            "pair",
            "method_definition",
            "public_field_definition",
            "field_definition",
            "assignment_expression",
            "method_signature",
            "abstract_method_signature",
            "property_signature",
        ):
            holder = scope.function_scope() if node.type in FUNCTIONS else scope
            holder.declare(found.name, DEF, qualname)
        if node.type == "assignment_expression":
            left = node.child_by_field_name("left")
            if left is not None:
                self._exported_member(left, node)
                push((left.child_by_field_name("object") or left, scope, READ))
        defining = found.defining
        if defining.type in _CLASSES:
            self.class_(defining, scope, qualname, push)
        elif defining.type in FUNCTIONS or defining.type in SIGNATURES:
            self.function(defining, scope, qualname, this_class(node, found.owner, scope), push)
        elif defining.type in _OWN_SCOPES:
            self.own_scope(defining, name, scope, qualname, push)
        elif defining.type in _FIELD_NODES:
            self._field(defining, scope, READ, push)
        elif defining.type == "property_signature":
            self._property(defining, scope, qualname, push)
        else:  # a value built from code: its sites are charged to it
            push((defining, JsScope("block", qualname, scope, scope.cls), READ))
        return True

    def own_scope(
        self, node: Node, name: Node | None, scope: JsScope, qualname: str,
        push: Push,
    ) -> None:  # fmt: skip
        """An interface, namespace, enum or type alias: its parts, in a scope of its own."""
        kind = "class" if node.type == "interface_declaration" else "block"
        inner = JsScope(kind, qualname, scope, qualname if kind == "class" else scope.cls)
        context = READ if node.type == "internal_module" else TYPE
        for child in reversed(node.named_children):
            if name is not None and child.id == name.id:
                continue
            if child.type == "extends_type_clause":
                for base in reversed(child.named_children):
                    push((base, scope, INHERIT))
            else:
                push((child, inner, context))

    def function(
        self, node: Node, scope: JsScope, qualname: str, cls: str | None,
        push: Push,
    ) -> None:  # fmt: skip
        inner = JsScope("function", qualname, scope, cls)
        if node.type == "arrow_function":
            inner.cls = (
                scope.cls
            )  # `this` is the enclosing function's, whatever the arrow is bound to
        else:
            inner.names["this"] = (VAR, None)  # its own (`Bindings.this`), not an outer one's
        body = node.child_by_field_name("body")
        if body is not None:
            parts = body.named_children if body.type == "statement_block" else [body]
            for part in reversed(parts):
                push((part, inner, READ))
        for field in ("return_type", "type_parameters"):
            found = node.child_by_field_name(field)
            if found is not None:
                push((found, inner, TYPE))
        single = node.child_by_field_name("parameter")
        array = iterated(node)
        passed = None if array is not None else passed_to(node)
        if single is not None:
            inner.declare(text(single), *untyped_as(array, passed, 0))
        params = node.child_by_field_name("parameters")
        for index, param in enumerate(params.named_children if params is not None else ()):
            untyped = untyped_as(array, passed, index) if array is None or index == 0 else None
            self.parameter(param, inner, push, untyped)
        for decorator in node.children_by_field_name("decorator"):
            push((decorator, scope, READ))

    def parameter(
        self, param: Node, inner: JsScope, push: Push, untyped: tuple[str, object] | None = None
    ) -> None:
        """Declare a parameter's names; ``untyped``: what an unannotated one is known as."""
        typed = parameter_type(param) if param.type.endswith("_parameter") else None
        pattern = param.child_by_field_name("pattern")
        if pattern is not None and pattern.type == "this":  # `function (this: Foo)`
            inner.names["this"] = (PARAM, known_type(typed))
        for name, _ in pattern_names(param):
            first = param.named_children[0] if param.named_children else None
            if untyped is not None and typed is None and first is not None and name.id == first.id:
                inner.declare(text(name), *untyped)  # `xs.map((x) => ...)`, `f((x) => ...)`
            else:
                inner.declare(text(name), PARAM, typed)
        annotation = param.child_by_field_name("type")
        if annotation is not None:
            push((annotation, inner, TYPE))
        default = param.child_by_field_name("value") or param.child_by_field_name("right")
        if default is not None:
            push((default, inner, READ))
        pattern = param.child_by_field_name("pattern") or param
        if pattern.type in ("object_pattern", "array_pattern", "assignment_pattern"):
            self._pattern_defaults(pattern, inner, push)
        if param.id in self.defined and pattern is not None:  # a parameter property
            self.fix(pattern, text(pattern), DEF_SITE, inner, f"d:{self.defined[param.id]}")
        modifier = any(c.type == "accessibility_modifier" for c in param.children)
        constructor = inner.cls and inner.qualname.endswith(".constructor")
        if modifier and typed is not None and constructor and inner.cls:
            self.members.append((inner.cls, text(pattern), typed, inner))
            self.field_types[(inner.cls, text(pattern))] = (typed, inner)

    def _pattern_defaults(self, pattern: Node, scope: JsScope, push: Push) -> None:
        for child in pattern.named_children:
            if child.type in ("assignment_pattern", "object_assignment_pattern"):
                right = child.child_by_field_name("right")
                if right is not None:
                    push((right, scope, READ))

    def class_(self, node: Node, scope: JsScope, qualname: str, push: Push) -> None:
        inner = JsScope("class", qualname, scope, qualname)
        body = node.child_by_field_name("body")
        for part in reversed(body.named_children if body is not None else []):
            push((part, inner, READ))
        for child in node.named_children:
            if child.type == "class_heritage":
                for clause in child.named_children:
                    for base in reversed(clause.named_children):
                        push((base, scope, INHERIT))
            elif child.type == "type_parameters":
                push((child, inner, TYPE))
        for decorator in node.children_by_field_name("decorator"):
            push((decorator, scope, READ))

    # -- handlers -------------------------------------------------------------------------

    def _identifier(self, node: Node, scope: JsScope, kind: str, push: Push) -> None:
        if kind == TYPE:
            return  # a name in a type that is no type (an index signature's key)
        self.site(node, kind if kind in (CALL, WRITE, INHERIT) else READ, scope)

    def _type_identifier(self, node: Node, scope: JsScope, kind: str, push: Push) -> None:
        self.site(node, INHERIT if kind == INHERIT else TYPE, scope)

    def _shorthand(self, node: Node, scope: JsScope, kind: str, push: Push) -> None:
        self.site(node, READ, scope)

    def _member(self, node: Node, scope: JsScope, kind: str, push: Push) -> None:
        obj = node.child_by_field_name("object")
        prop = node.child_by_field_name("property")
        if prop is not None and prop.type in ("property_identifier", "private_property_identifier"):
            self.site(prop, kind if kind in (CALL, WRITE, INHERIT) else READ, scope, obj)
        elif prop is not None:
            push((prop, scope, READ))
        if obj is not None:
            push((obj, scope, READ))

    def _nested_type(self, node: Node, scope: JsScope, kind: str, push: Push) -> None:
        parts = node.named_children
        if len(parts) < 2:
            return
        obj, name = parts[0], parts[-1]
        self.site(name, INHERIT if kind == INHERIT else TYPE, scope, obj)
        if obj.type == "identifier":
            self.site(obj, TYPE, scope)
        else:
            push((obj, scope, kind))

    def _call(self, node: Node, scope: JsScope, kind: str, push: Push) -> None:
        fn = node.child_by_field_name("function") or node.child_by_field_name("constructor")
        args = node.child_by_field_name("arguments")
        if args is not None:
            push((args, scope, READ))
        if require_specifier(node) is not None or fn is None or fn.type == "import":
            return
        push((fn, scope, CALL))

    def _assignment(self, node: Node, scope: JsScope, kind: str, push: Push) -> None:
        left = node.child_by_field_name("left")
        right = node.child_by_field_name("right")
        if right is not None:
            push((right, scope, READ))
        if left is None:
            return
        if left.type == "member_expression" and right is not None:
            self._exported_member(left, node)
            obj = left.child_by_field_name("object")
            value = unwrap(right)
            if (
                obj is not None
                and obj.type == "this"
                and scope.cls
                and value is not None
                and value.type in ("new_expression", "call_expression")
            ):
                self.members.append(
                    (scope.cls, text(left.child_by_field_name("property")), value, scope)
                )
        if left.type == "identifier" and right is not None and node.type == "assignment_expression":
            holder = self._holder(text(left), scope)
            if holder is not None and holder.names[text(left)][0] == VAR:
                value = unwrap(right)
                if value is not None and value.type == "new_expression":
                    holder.names[text(left)] = (VAR, value)
        if left.type in ("object_pattern", "array_pattern"):
            for name, _ in pattern_names(left):
                self.site(name, WRITE, scope)
            return
        push((left, scope, WRITE))

    def _holder(self, name: str, scope: JsScope) -> JsScope | None:
        current: JsScope | None = scope
        while current is not None:
            if name in current.names:
                return current
            current = current.parent
        return None

    def _declarator(self, node: Node, scope: JsScope, kind: str, push: Push) -> None:
        target = node.child_by_field_name("name")
        value = node.child_by_field_name("value")
        holder = scope.function_scope() if is_var(node) else scope
        spec = require_specifier(value)
        if spec is not None and not any(c in spec for c in BAD):
            if target is not None and target.type == "identifier":
                holder.declare(text(target), IMPORT, f"i:{spec}:*")
            for name, prop in pattern_names(target) if target is not None else ():
                if prop is not None:
                    holder.declare(text(name), IMPORT, f"i:{spec}:{prop}")
                    self.fix(name, prop, IMPORT_KIND, scope, f"i:{spec}:{prop}")
            return
        if value is not None:
            push((value, scope, READ))
        annotation = node.child_by_field_name("type")
        if annotation is not None:
            push((annotation, scope, TYPE))
        if target is None:
            return
        if target.type == "identifier":
            shown = unwrap(value)
            typed = known_type(parameter_type(node))
            if typed is not None:
                holder.declare(text(target), PARAM, typed)
            elif shown is not None and shown.type in (
                "new_expression", "call_expression", "member_expression", "identifier"
            ):  # fmt: skip
                holder.declare(text(target), VAR, shown)
            else:
                holder.declare(text(target), VAR, None)
            return
        for name, prop in pattern_names(target):
            holder.declare(text(name), VAR, (value, prop) if prop and value is not None else None)
        self._pattern_defaults(target, scope, push)

    def _field(self, node: Node, scope: JsScope, kind: str, push: Push) -> None:
        name = node.child_by_field_name("name") or node.child_by_field_name("property")
        value = node.child_by_field_name("value")
        annotation = node.child_by_field_name("type")
        typed = parameter_type(node)
        inner = JsScope("function", scope.qualname, scope, scope.cls)
        if scope.cls and name is not None:
            shown = unwrap(value)
            typed = known_type(typed)
            if typed is not None:
                self.members.append((scope.cls, text(name), typed, inner))
                self.field_types[(scope.cls, text(name))] = (typed, inner)
            elif shown is not None and shown.type in ("new_expression", "call_expression"):
                self.members.append((scope.cls, text(name), shown, inner))
        if annotation is not None:
            push((annotation, scope, TYPE))
        if value is not None:
            push((value, inner, READ))
        for decorator in node.children_by_field_name("decorator"):
            push((decorator, scope, READ))

    def _property(self, node: Node, scope: JsScope, qualname: str, push: Push) -> None:
        """An interface's property: its type, followed for its members like a field's."""
        annotation = node.child_by_field_name("type")
        typed = known_type(parameter_type(node))
        if scope.cls and typed is not None:
            self.field_types[(scope.cls, qualname.rsplit(".", 1)[-1])] = (typed, scope)
        if annotation is not None:
            push((annotation, scope, TYPE))

    def _generic(self, node: Node, scope: JsScope, kind: str, push: Push) -> None:
        """``Base<T>``: the name keeps the site's kind (``implements Observer<T>`` inherits);
        the arguments are types."""
        for child in reversed(node.named_children):
            named = child.id == (node.child_by_field_name("name") or child).id
            push((child, scope, kind if named and kind == INHERIT else TYPE))

    def _jsx(self, node: Node, scope: JsScope, kind: str, push: Push) -> None:
        name = node.child_by_field_name("name")
        if name is not None and name.type == "identifier" and text(name)[:1].isupper():
            self.site(name, READ, scope)
        elif name is not None and name.type == "member_expression":
            push((name, scope, READ))
        for child in node.named_children:
            if child.type == "jsx_attribute":
                for part in child.named_children[1:]:
                    push((part, scope, READ))
            elif child.type == "jsx_expression":
                push((child, scope, READ))

    def _for_in(self, node: Node, scope: JsScope, kind: str, push: Push) -> None:
        inner = JsScope("block", scope.qualname, scope, scope.cls)
        left = node.child_by_field_name("left")
        declared = any(c.type in ("const", "let", "var") for c in node.children)
        of = (
            node.child_by_field_name("right")
            if any(c.type == "of" for c in node.children)
            else None
        )
        for part in reversed(node.named_children):
            if part == left:
                if declared and left is not None and left.type == "identifier" and of is not None:
                    inner.declare(text(left), ELEMENT, of)  # `for (const x of xs)`
                elif declared:
                    for name, _ in pattern_names(left):
                        inner.declare(text(name), VAR, None)
                else:
                    push((left, inner, WRITE))
            else:
                push((part, inner, READ))

    def _catch(self, node: Node, scope: JsScope, kind: str, push: Push) -> None:
        inner = JsScope("block", scope.qualname, scope, scope.cls)
        param = node.child_by_field_name("parameter")
        for name, _ in pattern_names(param):
            inner.declare(text(name), VAR, None)
        body = node.child_by_field_name("body")
        for part in reversed(body.named_children if body is not None else []):
            push((part, inner, READ))

    def _type_parameter(self, node: Node, scope: JsScope, kind: str, push: Push) -> None:
        name = node.child_by_field_name("name")
        if name is not None:
            scope.declare(text(name), VAR, None)
        for field in ("constraint", "value"):
            found = node.child_by_field_name(field)
            if found is not None:
                push((found, scope, TYPE))

    def _type_query(self, node: Node, scope: JsScope, kind: str, push: Push) -> None:
        for child in node.named_children:
            push((child, scope, READ))

    def _pair(self, node: Node, scope: JsScope, kind: str, push: Push) -> None:
        key = node.child_by_field_name("key")
        value = node.child_by_field_name("value")
        if value is not None:
            push((value, scope, READ))
        if key is not None and key.type == "computed_property_name":
            push((key, scope, READ))

    def _skip(self, node: Node, scope: JsScope, kind: str, push: Push) -> None:
        return


_Handler = Callable[[_Binder, Node, JsScope, str, Push], None]
_HANDLERS: dict[str, _Handler] = {
    "identifier": _Binder._identifier,
    "type_identifier": _Binder._type_identifier,
    "shorthand_property_identifier": _Binder._shorthand,
    "member_expression": _Binder._member,
    "nested_type_identifier": _Binder._nested_type,
    "nested_identifier": _Binder._nested_type,
    "generic_type": _Binder._generic,
    "call_expression": _Binder._call,
    "new_expression": _Binder._call,
    "assignment_expression": _Binder._assignment,
    "augmented_assignment_expression": _Binder._assignment,
    "variable_declarator": _Binder._declarator,
    "import_statement": _Binder._import,
    "export_statement": _Binder._export,
    "public_field_definition": _Binder._field,
    "field_definition": _Binder._field,
    "jsx_opening_element": _Binder._jsx,
    "jsx_self_closing_element": _Binder._jsx,
    "jsx_closing_element": _Binder._skip,
    "for_in_statement": _Binder._for_in,
    "catch_clause": _Binder._catch,
    "type_parameter": _Binder._type_parameter,
    "type_query": _Binder._type_query,
    "pair": _Binder._pair,
    "property_identifier": _Binder._skip,
    "statement_identifier": _Binder._skip,
    "comment": _Binder._skip,
    "string": _Binder._skip,
    "this": _Binder._skip,
    "super": _Binder._skip,
}


def bind_js(root: Node, data: bytes, defined: dict[int, str]) -> JsBound:
    """The file's reference sites (sorted), what it exports and its attributes' values."""
    binder = _Binder(data, defined)
    binder.walk(root)
    return JsBound(binder.refs(), binder.export_entries(), binder.member_bindings())
