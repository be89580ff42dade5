"""Which JS/TS nodes define a symbol, of what kind and under what name.

Besides declarations and class members: functions assigned to members (``app.use = function``,
``X.prototype.y = function``, ``exports.f = ...``), object-literal methods (``{ get() {} }``,
``{ run: () => ... }``), and values outside functions built from a function or an object with
methods (``const X = memo(() => ...)``, ``const api = { get() {} }``): ``constant`` for ``const``,
``variable`` for ``let``/``var``; class fields (``field``: declared in the class body, or
parameter properties ``constructor(private x: X)``), interface properties (``property``); and
functions their author named while passing or returning
them (``on('mount', function onmount() {...})``). Values in parentheses or casts (``(() => 1)
as F``) count as what they wrap.
"""

from __future__ import annotations

from typing import NamedTuple

from tree_sitter import Node

from aegisd_codemap.treesitter import text

FUNCTION_DECLS = frozenset(
    {"function_declaration", "generator_function_declaration", "function_signature"}
)
FUNCTION_VALUES = frozenset(
    {"arrow_function", "function_expression", "function", "generator_function"}
)
#: declarations without a body: the overload signatures of an implementation beside them
SIGNATURES = frozenset({"function_signature", "method_signature"})
_CLASS_DECLS = frozenset({"class_declaration", "abstract_class_declaration"})
_OWN_KINDS = {
    "interface_declaration": "interface",
    "enum_declaration": "enum",
    "type_alias_declaration": "type",
}
_METHODS = frozenset({"method_definition", "method_signature", "abstract_method_signature"})
_FIELDS = {"public_field_definition": "name", "field_definition": "property"}  # TS, JS
_MEMBER_PARENTS = frozenset({"class_body", "interface_body"})
_PARAMETERS = frozenset({"required_parameter", "optional_parameter"})
#: wrappers that leave a value what it is: ``(x)``, ``x as T``, ``x satisfies T``, ``x!``, ``<T>x``
_TRANSPARENT = frozenset(
    {
        "parenthesized_expression",
        "as_expression",
        "satisfies_expression",
        "non_null_expression",
        "type_assertion",
    }
)
#: where a named function or class expression is a definition of its own name
_NAMING_PARENTS = frozenset({"ERROR", "arguments", "return_statement"})
#: a member assignment of its own, or chained: ``res.contentType = res.type = function ...``
_ASSIGNMENT_PARENTS = frozenset({"expression_statement", "assignment_expression"})
_KEYS = frozenset({"property_identifier", "string", "number", "private_property_identifier"})
_CALLS = frozenset({"call_expression", "new_expression"})
_FACTORY_DEPTH = 3
#: where a member assignment names the module's exports rather than an object
_EXPORTS = ("module.exports.", "exports.")


class Found(NamedTuple):
    """A definition: its kind and name, the node whose children are its body, the dotted
    object it is a member of (``X`` for ``X.prototype.y = ...``), and whether it is exported."""

    kind: str
    name: str
    defining: Node
    owner: str | None = None
    exported: bool = False


def unwrap(value: Node | None) -> Node | None:
    """The value inside parentheses and type casts."""
    while value is not None and value.type in _TRANSPARENT:
        value = value.named_children[0] if value.named_children else None
    return value


def _key(node: Node | None) -> str | None:
    if node is None or node.type not in _KEYS:
        return None
    name = text(node)
    return name[1:-1] if node.type == "string" else name


def _has_methods(obj: Node) -> bool:
    """Whether an object literal holds a method or a function-valued property."""
    for member in obj.named_children:
        if member.type == "method_definition":
            return True
        if member.type == "pair":
            value = unwrap(member.child_by_field_name("value"))
            if value is not None and value.type in FUNCTION_VALUES:
                return True
    return False


def _built_from_code(value: Node, depth: int = 0) -> bool:
    """A call whose arguments hold a function or an object with methods (``f(() => ...)``,
    ``connect(a)(View)``'s inner call, ``memo(forwardRef(...))``)."""
    if depth > _FACTORY_DEPTH or value.type not in _CALLS:
        return False
    callee = value.child_by_field_name("function") or value.child_by_field_name("constructor")
    if callee is not None and _built_from_code(callee, depth + 1):
        return True
    args = value.child_by_field_name("arguments")
    for argument in args.named_children if args is not None else ():
        arg = unwrap(argument)
        if arg is None:
            continue
        if arg.type in FUNCTION_VALUES or arg.type == "class":
            return True
        if (arg.type == "object" and _has_methods(arg)) or _built_from_code(arg, depth + 1):
            return True
    return False


def _in_function(node: Node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.type in FUNCTION_VALUES or parent.type in FUNCTION_DECLS:
            return True
        if parent.type in _METHODS:
            return True
        parent = parent.parent
    return False


def _variable(node: Node) -> Found | None:
    name = node.child_by_field_name("name")
    value = unwrap(node.child_by_field_name("value"))
    if name is None or name.type != "identifier" or value is None:
        return None
    if value.type in FUNCTION_VALUES:
        return Found("function", text(name), value)
    if value.type == "class":
        return Found("class", text(name), value)
    built = (value.type == "object" and _has_methods(value)) or _built_from_code(value)
    if not built or _in_function(node):
        return None
    declaration = node.parent
    const = declaration is not None and any(c.type == "const" for c in declaration.children)
    return Found("constant" if const else "variable", text(name), value)


def _member_assignment(node: Node) -> Found | None:
    """``a.b.c = function ...`` (a statement, or the last of a chain): ``c``, a member of ``a.b``."""
    target = node.child_by_field_name("left")
    value = unwrap(node.child_by_field_name("right"))
    if target is None or value is None or target.type != "member_expression":
        return None
    if node.parent is None or node.parent.type not in _ASSIGNMENT_PARENTS:
        return None
    is_class = value.type == "class"
    if value.type not in FUNCTION_VALUES and not is_class:
        return None
    path = "".join(text(target).split())
    name = text(target.child_by_field_name("property"))
    if not name or not all(part.isidentifier() for part in path.replace("$", "_").split(".")):
        return None  # computed or optional members: a[k] = ..., a?.b = ...
    if path == "module.exports":
        own = value.child_by_field_name("name")
        return (
            Found("class" if is_class else "function", text(own), value, exported=True)
            if own
            else None
        )
    if path.startswith(_EXPORTS) and path.count(".") == path.startswith("module.") + 1:
        return Found("class" if is_class else "function", name, value, exported=True)
    # "this": a member of the enclosing definition (its class, for a constructor)
    owner = path.rsplit(".", 1)[0].removesuffix(".prototype")
    return Found("class" if is_class else "method", name, value, owner)


def _object_member(node: Node) -> Found | None:
    """A method or a function-valued property of an object literal."""
    obj = node.parent
    if obj is None or obj.type != "object":
        return None
    if node.type == "method_definition":
        name, defining = _key(node.child_by_field_name("name")), node
    else:
        value = unwrap(node.child_by_field_name("value"))
        if value is None or value.type not in FUNCTION_VALUES:
            return None
        name, defining = _key(node.child_by_field_name("key")), value
    if not name:
        return None
    if exports_object(obj):
        return Found("function", name, defining, exported=True)
    return Found("method", name, defining)


def _parameter_property(node: Node) -> Found | None:
    if not any(c.type == "accessibility_modifier" or c.type == "readonly" for c in node.children):
        return None
    name = node.child_by_field_name("pattern")
    params = node.parent
    method = params.parent if params is not None else None
    if name is None or name.type != "identifier" or method is None:
        return None
    if (
        method.type != "method_definition"
        or text(method.child_by_field_name("name")) != "constructor"
    ):
        return None
    return Found("field", text(name), node, owner="this")


def exports_object(obj: Node) -> bool:
    """``module.exports = { ... }``."""
    assignment = obj.parent
    if assignment is None or assignment.type != "assignment_expression":
        return False
    target = assignment.child_by_field_name("left")
    return target is not None and "".join(text(target).split()) == "module.exports"


def prototype_owner(node: Node) -> str | None:
    """``X`` for ``X.prototype = { ... }`` (a statement of its own), whose methods are X's."""
    if node.parent is None or node.parent.type != "expression_statement":
        return None
    target = node.child_by_field_name("left")
    value = unwrap(node.child_by_field_name("right"))
    if target is None or value is None or value.type != "object":
        return None
    path = "".join(text(target).split())
    owner = path.removesuffix(".prototype")
    return owner if owner != path and owner.replace(".", "").isidentifier() else None


def definition(node: Node, kind: str) -> Found | None:
    """The definition ``node`` makes, else None."""
    if kind in FUNCTION_DECLS:
        return Found("function", text(node.child_by_field_name("name")), node)
    if kind in _CLASS_DECLS:
        return Found("class", text(node.child_by_field_name("name")), node)
    if kind in _OWN_KINDS:
        return Found(_OWN_KINDS[kind], text(node.child_by_field_name("name")), node)
    if kind == "internal_module":
        return Found("namespace", text(node.child_by_field_name("name")), node)
    if kind in _METHODS:
        parent = node.parent
        if parent is not None and parent.type in _MEMBER_PARENTS:
            return Found("method", text(node.child_by_field_name("name")), node)
        return _object_member(node) if kind == "method_definition" else None
    if kind == "pair":
        return _object_member(node)
    if kind in _FIELDS:  # ``handle = () => ...`` in a class body: a method; else a field
        value = unwrap(node.child_by_field_name("value"))
        if value is not None and value.type in FUNCTION_VALUES:
            return Found("method", text(node.child_by_field_name(_FIELDS[kind])), value)
        field = _key(node.child_by_field_name(_FIELDS[kind]))
        parent = node.parent
        if field is None or parent is None or parent.type != "class_body":
            return None
        return Found("field", field, node)
    if kind == "property_signature":  # ``next: (v: T) => void`` in an interface
        parent = node.parent
        prop = _key(node.child_by_field_name("name"))
        if prop is None or parent is None or parent.type != "interface_body":
            return None
        return Found("property", prop, node)
    if kind in _PARAMETERS:  # ``constructor(private store: Store)``: a field of the class
        return _parameter_property(node)
    if kind == "variable_declarator":
        return _variable(node)
    if kind == "assignment_expression":
        return _member_assignment(node)
    if kind in FUNCTION_VALUES or kind == "class":
        parent = node.parent
        name = node.child_by_field_name("name")
        if parent is not None and parent.type == "export_statement":
            return Found("class" if kind == "class" else "function", text(name) or "default", node)
        if parent is not None and parent.type in _NAMING_PARENTS and name is not None:
            # A declaration the parser could not place, or a function its author named
            # while passing or returning it (``on('mount', function onmount() {...})``).
            return Found("class" if kind == "class" else "function", text(name), node)
    return None
