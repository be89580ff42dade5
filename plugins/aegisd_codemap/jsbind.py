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
from aegisd_codemap.jsglobals import JS_GLOBALS
from aegisd_codemap.jsscope import (
    BLOCKS,
    DEF,
    FUNCTIONS,
    IMPORT,
    PARAM,
    VAR,
    JsScope,
    parameter_type,
    pattern_names,
    require_specifier,
    string_value,
    unwrap,
)
from aegisd_codemap.pybind import CALL, INHERIT, READ, TYPE, UNKNOWN, WRITE, Ref
from aegisd_codemap.pybind import IMPORT as IMPORT_KIND
from aegisd_codemap.treesitter import text

DEF_SITE = "def"
_CLASSES = frozenset({"class_declaration", "abstract_class_declaration", "class"})
_SIGNATURES = frozenset({"method_signature", "abstract_method_signature", "function_signature"})
_NAME_FIELDS = {"pair": "key", "field_definition": "property"}
_OWN_SCOPES = frozenset(
    {"interface_declaration", "internal_module", "enum_declaration", "type_alias_declaration"}
)
_NESTED_LIMIT = 64
_BAD = ("\t", "\n", ">")

#: (line, byte column, name, kind, scope, the object of a member access or None)
_Site = tuple[int, int, str, str, JsScope, Node | None]
_Item = tuple[Node, JsScope, str]


class JsBound(NamedTuple):
    refs: list[Ref]
    exports: tuple[str, ...]
    members: tuple[tuple[str, str, str], ...]


def _name_node(node: Node) -> Node | None:
    if node.type == "assignment_expression":
        left = node.child_by_field_name("left")
        right = unwrap(node.child_by_field_name("right"))
        if left is not None and text(left).replace(" ", "") == "module.exports":
            return right.child_by_field_name("name") if right is not None else None
        return left.child_by_field_name("property") if left is not None else None
    return node.child_by_field_name(_NAME_FIELDS.get(node.type, "name"))


class _Binder:
    def __init__(self, data: bytes, defined: dict[int, str]) -> None:
        self.lines = data.split(b"\n")
        self.defined = defined
        self.sites: list[_Site] = []
        self.fixed: list[
            tuple[Node, str, str, JsScope, str]
        ] = []  # node, name, kind, scope, binding
        self.exports: list[tuple[str, str, object]] = []  # (name, how, what)
        self.members: list[tuple[str, str, Node, JsScope]] = []
        self._memo: dict[tuple[int, str], tuple[str | None, bool]] = {}
        self.module = JsScope("module", "", None)

    # -- the walk ------------------------------------------------------------------------

    def walk(self, root: Node) -> None:
        stack: list[_Item] = [(c, self.module, READ) for c in reversed(root.named_children)]
        while stack:
            node, scope, kind = stack.pop()
            self.visit(node, scope, kind, stack.append)

    def visit(self, node: Node, scope: JsScope, kind: str, push: Callable[[_Item], None]) -> None:
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

    def site(self, node: Node, kind: str, scope: JsScope, obj: Node | None = None) -> None:
        row, col = node.start_point
        self.sites.append((row + 1, col, text(node), kind, scope, obj))

    def fix(self, node: Node, name: str, kind: str, scope: JsScope, binding: str) -> None:
        self.fixed.append((node, name, kind, scope, binding))

    # -- definitions ----------------------------------------------------------------------

    def definition(self, node: Node, scope: JsScope, push: Callable[[_Item], None]) -> bool:
        found = definition(node, node.type)
        if found is None:
            return False
        qualname = self.defined[node.id]
        name = _name_node(node)
        if name is not None:
            self.fix(name, found.name, DEF_SITE, scope, f"d:{qualname}")
        if node.type == "variable_declarator":
            holder = scope.function_scope() if _is_var(node) else scope
            holder.declare(found.name, DEF, qualname)
        elif node.type not in (
            "pair",
            "method_definition",
            "public_field_definition",
            "field_definition",
            "assignment_expression",
            "method_signature",
            "abstract_method_signature",
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
        elif defining.type in FUNCTIONS or defining.type in _SIGNATURES:
            self.function(defining, scope, qualname, _this_class(node, found.owner, scope), push)
        elif defining.type in _OWN_SCOPES:
            self.own_scope(defining, name, scope, qualname, push)
        else:  # a value built from code: its sites are charged to it
            push((defining, JsScope("block", qualname, scope, scope.cls), READ))
        return True

    def own_scope(
        self, node: Node, name: Node | None, scope: JsScope, qualname: str,
        push: Callable[[_Item], None],
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
        push: Callable[[_Item], None],
    ) -> None:  # fmt: skip
        if node.type == "arrow_function":
            cls = cls or scope.cls
        inner = JsScope("function", qualname, scope, cls)
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
        if single is not None:
            inner.declare(text(single), PARAM, None)
        params = node.child_by_field_name("parameters")
        for param in params.named_children if params is not None else ():
            self.parameter(param, inner, push)
        for decorator in node.children_by_field_name("decorator"):
            push((decorator, scope, READ))

    def parameter(self, param: Node, inner: JsScope, push: Callable[[_Item], None]) -> None:
        typed = parameter_type(param) if param.type.endswith("_parameter") else None
        for name, _ in pattern_names(param):
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
        modifier = any(c.type == "accessibility_modifier" for c in param.children)
        if modifier and typed is not None and inner.cls and inner.qualname.endswith(".constructor"):
            self.members.append((inner.cls, text(pattern), typed, inner))

    def _pattern_defaults(
        self, pattern: Node, scope: JsScope, push: Callable[[_Item], None]
    ) -> None:
        for child in pattern.named_children:
            if child.type in ("assignment_pattern", "object_assignment_pattern"):
                right = child.child_by_field_name("right")
                if right is not None:
                    push((right, scope, READ))

    def class_(
        self, node: Node, scope: JsScope, qualname: str, push: Callable[[_Item], None]
    ) -> None:
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

    def _identifier(
        self, node: Node, scope: JsScope, kind: str, push: Callable[[_Item], None]
    ) -> None:
        if kind == TYPE:
            return  # a name in a type that is no type (an index signature's key)
        self.site(node, kind if kind in (CALL, WRITE, INHERIT) else READ, scope)

    def _type_identifier(
        self, node: Node, scope: JsScope, kind: str, push: Callable[[_Item], None]
    ) -> None:
        self.site(node, INHERIT if kind == INHERIT else TYPE, scope)

    def _shorthand(
        self, node: Node, scope: JsScope, kind: str, push: Callable[[_Item], None]
    ) -> None:
        self.site(node, READ, scope)

    def _member(self, node: Node, scope: JsScope, kind: str, push: Callable[[_Item], None]) -> None:
        obj = node.child_by_field_name("object")
        prop = node.child_by_field_name("property")
        if prop is not None and prop.type in ("property_identifier", "private_property_identifier"):
            self.site(prop, kind if kind in (CALL, WRITE, INHERIT) else READ, scope, obj)
        elif prop is not None:
            push((prop, scope, READ))
        if obj is not None:
            push((obj, scope, READ))

    def _nested_type(
        self, node: Node, scope: JsScope, kind: str, push: Callable[[_Item], None]
    ) -> None:
        parts = node.named_children
        if len(parts) < 2:
            return
        obj, name = parts[0], parts[-1]
        self.site(name, INHERIT if kind == INHERIT else TYPE, scope, obj)
        if obj.type == "identifier":
            self.site(obj, TYPE, scope)
        else:
            push((obj, scope, kind))

    def _call(self, node: Node, scope: JsScope, kind: str, push: Callable[[_Item], None]) -> None:
        fn = node.child_by_field_name("function") or node.child_by_field_name("constructor")
        args = node.child_by_field_name("arguments")
        if args is not None:
            push((args, scope, READ))
        if require_specifier(node) is not None or fn is None or fn.type == "import":
            return
        push((fn, scope, CALL))

    def _assignment(
        self, node: Node, scope: JsScope, kind: str, push: Callable[[_Item], None]
    ) -> None:
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

    def _exported_member(self, left: Node, node: Node) -> None:
        """``module.exports = x``, ``module.exports.f = x``, ``exports.f = x``."""
        target = "".join(text(left).split())
        value = node.child_by_field_name("right")
        if value is None:
            return
        if target == "module.exports":
            obj = unwrap(value)
            if obj is not None and obj.type == "object":
                self._exported_object(obj)
            else:
                self.exports.append(("=", "value", value))
            return
        for prefix in ("module.exports.", "exports."):
            rest = target.removeprefix(prefix)
            if rest != target and rest.isidentifier():
                how = "head" if node.id in self.defined else "value"
                what = f"g:{self.defined[node.id]}" if how == "head" else value
                self.exports.append((rest, how, what))
                return

    def _exported_object(self, obj: Node) -> None:
        for part in obj.named_children:
            if part.type == "shorthand_property_identifier":
                self.exports.append((text(part), "local", text(part)))
            elif part.id in self.defined:
                self.exports.append((_key(part), "head", f"g:{self.defined[part.id]}"))
            elif part.type == "pair":
                value = part.child_by_field_name("value")
                if value is not None:
                    self.exports.append((_key(part), "value", value))

    def _declarator(
        self, node: Node, scope: JsScope, kind: str, push: Callable[[_Item], None]
    ) -> None:
        target = node.child_by_field_name("name")
        value = node.child_by_field_name("value")
        holder = scope.function_scope() if _is_var(node) else scope
        spec = require_specifier(value)
        if spec is not None and not any(c in spec for c in _BAD):
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
            typed = parameter_type(node)
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

    def _import(self, node: Node, scope: JsScope, kind: str, push: Callable[[_Item], None]) -> None:
        spec = string_value(node.child_by_field_name("source"))
        for clause in node.named_children:
            if clause.type == "import_require_clause":
                spec = string_value(clause.child_by_field_name("source"))
        if spec is None or any(c in spec for c in _BAD):
            return
        for clause in node.named_children:
            if clause.type == "import_require_clause" and clause.named_children:
                self.module.declare(text(clause.named_children[0]), IMPORT, f"i:{spec}:*")
            if clause.type != "import_clause":
                continue
            for part in clause.named_children:
                if part.type == "identifier":
                    head = f"i:{spec}:default"
                    self.module.declare(text(part), IMPORT, head)
                    self.fix(part, "default", IMPORT_KIND, scope, head)
                elif part.type == "namespace_import" and part.named_children:
                    self.module.declare(text(part.named_children[0]), IMPORT, f"i:{spec}:*")
                elif part.type == "named_imports":
                    for spec_node in part.named_children:
                        name = spec_node.child_by_field_name("name")
                        alias = spec_node.child_by_field_name("alias") or name
                        if name is None or alias is None:
                            continue
                        head = f"i:{spec}:{text(name)}"
                        self.module.declare(text(alias), IMPORT, head)
                        self.fix(name, text(name), IMPORT_KIND, scope, head)

    def _export(self, node: Node, scope: JsScope, kind: str, push: Callable[[_Item], None]) -> None:
        spec = string_value(node.child_by_field_name("source"))
        default = any(c.type == "default" for c in node.children)
        if spec is not None and any(c in spec for c in _BAD):
            return
        clauses = [
            c for c in node.named_children if c.type in ("export_clause", "namespace_export")
        ]
        if spec is not None and not clauses:
            self.exports.append(("*", "head", f"i:{spec}:*"))
        for clause in clauses:
            if clause.type == "namespace_export" and spec is not None:
                inner = clause.named_children[0] if clause.named_children else None
                self.exports.append((text(inner), "head", f"i:{spec}:*"))
                continue
            for spec_node in clause.named_children:
                name = spec_node.child_by_field_name("name")
                alias = spec_node.child_by_field_name("alias") or name
                if name is None or alias is None:
                    continue
                if spec is not None:
                    head = f"i:{spec}:{text(name)}"
                    self.fix(name, text(name), IMPORT_KIND, scope, head)
                    self.exports.append((text(alias), "head", head))
                else:
                    self.site(name, READ, scope)
                    self.exports.append((text(alias), "local", text(name)))
        declaration = node.child_by_field_name("declaration")
        if declaration is not None:
            for declared in _declared(declaration, self.defined):
                self.exports.append(("default" if default else declared, "local", declared))
            push((declaration, scope, READ))
        value = node.child_by_field_name("value")
        if value is None and any(c.type == "=" for c in node.children):
            value = node.named_children[-1] if node.named_children else None
        if value is not None:
            key = "default" if default else "="
            if value.id in self.defined:
                self.exports.append((key, "head", f"g:{self.defined[value.id]}"))
            elif value.type == "identifier":
                self.exports.append((key, "local", text(value)))
            else:
                self.exports.append((key, "value", value))
            push((value, scope, READ))

    def _field(self, node: Node, scope: JsScope, kind: str, push: Callable[[_Item], None]) -> None:
        name = node.child_by_field_name("name") or node.child_by_field_name("property")
        value = node.child_by_field_name("value")
        annotation = node.child_by_field_name("type")
        typed = parameter_type(node)
        inner = JsScope("function", scope.qualname, scope, scope.cls)
        if scope.cls and name is not None:
            shown = unwrap(value)
            if typed is not None:
                self.members.append((scope.cls, text(name), typed, inner))
            elif shown is not None and shown.type in ("new_expression", "call_expression"):
                self.members.append((scope.cls, text(name), shown, inner))
        if annotation is not None:
            push((annotation, scope, TYPE))
        if value is not None:
            push((value, inner, READ))
        for decorator in node.children_by_field_name("decorator"):
            push((decorator, scope, READ))

    def _jsx(self, node: Node, scope: JsScope, kind: str, push: Callable[[_Item], None]) -> None:
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

    def _for_in(self, node: Node, scope: JsScope, kind: str, push: Callable[[_Item], None]) -> None:
        inner = JsScope("block", scope.qualname, scope, scope.cls)
        left = node.child_by_field_name("left")
        declared = any(c.type in ("const", "let", "var") for c in node.children)
        for part in reversed(node.named_children):
            if part == left:
                if declared:
                    for name, _ in pattern_names(left):
                        inner.declare(text(name), VAR, None)
                else:
                    push((left, inner, WRITE))
            else:
                push((part, inner, READ))

    def _catch(self, node: Node, scope: JsScope, kind: str, push: Callable[[_Item], None]) -> None:
        inner = JsScope("block", scope.qualname, scope, scope.cls)
        param = node.child_by_field_name("parameter")
        for name, _ in pattern_names(param):
            inner.declare(text(name), VAR, None)
        body = node.child_by_field_name("body")
        for part in reversed(body.named_children if body is not None else []):
            push((part, inner, READ))

    def _type_parameter(
        self, node: Node, scope: JsScope, kind: str, push: Callable[[_Item], None]
    ) -> None:
        name = node.child_by_field_name("name")
        if name is not None:
            scope.declare(text(name), VAR, None)
        for field in ("constraint", "value"):
            found = node.child_by_field_name(field)
            if found is not None:
                push((found, scope, TYPE))

    def _type_query(
        self, node: Node, scope: JsScope, kind: str, push: Callable[[_Item], None]
    ) -> None:
        for child in node.named_children:
            push((child, scope, READ))

    def _pair(self, node: Node, scope: JsScope, kind: str, push: Callable[[_Item], None]) -> None:
        key = node.child_by_field_name("key")
        value = node.child_by_field_name("value")
        if value is not None:
            push((value, scope, READ))
        if key is not None and key.type == "computed_property_name":
            push((key, scope, READ))

    def _skip(self, node: Node, scope: JsScope, kind: str, push: Callable[[_Item], None]) -> None:
        return

    # -- bindings, once every scope is complete -----------------------------------------

    def bound(self, name: str, scope: JsScope) -> tuple[str | None, bool]:
        """(binding, whether ``name`` is a variable: its value's binding, no reference)."""
        key = (id(scope), name)
        found = self._memo.get(key)
        if found is None:
            self._memo[key] = (None, True)  # `x = x.y`: no loop
            found = self._memo[key] = self._bound(name, scope)
        return found

    def _bound(self, name: str, scope: JsScope) -> tuple[str | None, bool]:
        current: JsScope | None = scope
        while current is not None:
            if current.kind != "class" and name in current.names:
                what, detail = current.names[name]
                top = current.kind == "module"
                if what == DEF:
                    return (f"g:{name}" if top else f"d:{detail}"), False
                if what == IMPORT:
                    return (f"g:{name}" if top else str(detail)), False
                if what == PARAM:
                    typed = detail if isinstance(detail, Node) else None
                    return (None if typed is None else self.expr(typed, current)), True
                if isinstance(detail, tuple):
                    held = self.expr(detail[0], current)
                    return (None if held is None else f"{held}>{detail[1]}"), True
                return (None if detail is None else self.expr(detail, current)), True  # type: ignore[arg-type]
            current = current.parent
        return (f"b:{name}" if name in JS_GLOBALS else f"g:{name}"), False

    def expr(self, node: Node, scope: JsScope) -> str | None:
        """The binding of a name, member chain or call chain (a called step marked ``()``)."""
        steps: list[str] = []
        called = False
        head: str | None = None
        for _ in range(_NESTED_LIMIT):
            found = unwrap(node)
            if found is None:
                return None
            node = found
            kind = node.type
            if kind == "member_expression":
                prop = node.child_by_field_name("property")
                obj = node.child_by_field_name("object")
                if prop is None or obj is None:
                    return None
                steps.append(text(prop) + "()" * called)
                called = False
                node = obj
            elif kind in ("nested_type_identifier", "nested_identifier"):
                parts = node.named_children
                if len(parts) < 2:
                    return None
                steps.append(text(parts[-1]))
                node = parts[0]
            elif kind in ("call_expression", "new_expression"):
                spec = require_specifier(node)
                if spec is not None:
                    head = None if any(c in spec for c in _BAD) else f"i:{spec}:*"
                    break
                fn = node.child_by_field_name("function") or node.child_by_field_name("constructor")
                if fn is None:
                    return None
                called = True
                node = fn
            elif kind in ("identifier", "type_identifier", "shorthand_property_identifier"):
                head = self.bound(text(node), scope)[0]
                if head is not None and called:
                    head += "()"
                break
            elif kind == "this":
                cls = scope.cls
                head = None if cls is None else f"d:{cls}" + "()" * called
                break
            elif kind == "super":
                head = None if scope.cls is None else f"p:{scope.cls}"
                break
            else:
                return None
        else:
            return None
        if head is None:
            return None
        return head + "".join(f">{step}" for step in reversed(steps))

    def refs(self) -> list[Ref]:
        found: list[Ref] = []
        for node, name, kind, scope, fixed in self.fixed:
            row, col = node.start_point
            found.append(self._ref(row + 1, col, name, kind, scope, fixed))
        for line, offset, name, kind, scope, obj in self.sites:
            binding: str | None
            if obj is None:
                binding, variable = self.bound(name, scope)
                if variable:
                    binding = None
                if kind == WRITE and not (binding or "").startswith(("g:", "d:")):
                    continue
                if binding is None or binding.startswith("b:"):
                    if kind != CALL:
                        continue
                    binding = binding or UNKNOWN
            else:
                held = self.expr(obj, scope)
                if held is None or held.startswith("b:"):
                    if kind != CALL:
                        continue
                    binding = UNKNOWN if held is None else f"{held}>{name}"
                else:
                    binding = f"{held}>{name}"
            found.append(self._ref(line, offset, name, kind, scope, binding))
        found.sort()
        return found

    def _ref(
        self, line: int, offset: int, name: str, kind: str, scope: JsScope, binding: str
    ) -> Ref:
        data = self.lines[line - 1] if 0 < line <= len(self.lines) else b""
        column = offset if data.isascii() else len(data[:offset].decode("utf-8", "replace"))
        return Ref(line, column + 1, name, kind, scope.qualname, binding)

    def export_entries(self) -> tuple[str, ...]:
        entries: list[str] = []
        for name, how, what in self.exports:
            if not name or any(c in name for c in _BAD):
                continue
            if how == "head":
                binding: str | None = str(what)
            elif how == "local":
                binding = self.bound(str(what), self.module)[0] or f"g:{what}"
            else:
                binding = self.expr(what, self.module) if isinstance(what, Node) else None
            entries.append(f"{name}\t{binding or UNKNOWN}")
        return tuple(dict.fromkeys(entries))

    def member_bindings(self) -> tuple[tuple[str, str, str], ...]:
        found: dict[tuple[str, str], str | None] = {}
        for owner, attr, value, scope in self.members:
            binding = self.expr(value, scope)
            key = (owner, attr)
            found[key] = binding if found.get(key, binding) == binding else None
        return tuple((o, a, b) for (o, a), b in found.items() if b)


def _this_class(node: Node, owner: str | None, scope: JsScope) -> str | None:
    """The class ``this`` is an instance of in a function defined by ``node``: a class
    method's class, ``X`` for ``X.prototype.y = function``, none in an object's method."""
    if owner == "this":
        return scope.cls
    if owner:
        return f"{scope.qualname}.{owner}" if scope.qualname else owner
    parent = node.parent
    if node.type in _SIGNATURES or (parent is not None and parent.type == "class_body"):
        return scope.cls
    if node.type in ("public_field_definition", "field_definition"):
        return scope.cls
    return None


def _key(node: Node) -> str:
    key = node.child_by_field_name("key") or node.child_by_field_name("name")
    name = text(key)
    return name[1:-1] if key is not None and key.type == "string" else name


def _is_var(declarator: Node) -> bool:
    parent = declarator.parent
    return parent is not None and parent.type == "variable_declaration"


def _declared(declaration: Node, defined: dict[int, str]) -> list[str]:
    """The names an exported declaration declares."""
    if declaration.type == "ambient_declaration":  # `export declare function f(): T;`
        return [n for part in declaration.named_children for n in _declared(part, defined)]
    if declaration.type in ("lexical_declaration", "variable_declaration"):
        names = []
        for declarator in declaration.named_children:
            target = declarator.child_by_field_name("name")
            names += [text(n) for n, _ in pattern_names(target)]
        return names
    name = declaration.child_by_field_name("name")
    if name is None and declaration.id in defined:
        return [defined[declaration.id]]
    return [text(name)] if name is not None else []


_Handler = Callable[[_Binder, Node, JsScope, str, Callable[[_Item], None]], None]
_HANDLERS: dict[str, _Handler] = {
    "identifier": _Binder._identifier,
    "type_identifier": _Binder._type_identifier,
    "shorthand_property_identifier": _Binder._shorthand,
    "member_expression": _Binder._member,
    "nested_type_identifier": _Binder._nested_type,
    "nested_identifier": _Binder._nested_type,
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
