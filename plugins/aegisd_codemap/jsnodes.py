"""Small readings of JS/TS tree-sitter nodes the binder (`jsbind`) makes: a definition's name
node, the class ``this`` is in a function, a callback's array or callee, a ``var``."""

from __future__ import annotations

from tree_sitter import Node

from aegisd_codemap.jsscope import CALLBACK, ELEMENT, PARAM, JsScope, unwrap
from aegisd_codemap.treesitter import text

SIGNATURES = frozenset({"method_signature", "abstract_method_signature", "function_signature"})
_NAME_FIELDS = {"pair": "key", "field_definition": "property"}
#: array methods whose callback's first parameter is an element of the array
_ELEMENT_CALLBACKS = frozenset(
    {"every", "filter", "find", "findIndex", "findLast", "findLastIndex", "flatMap", "forEach",
     "map", "some"}
)  # fmt: skip


def name_node(node: Node) -> Node | None:
    """The node holding a definition's name: an assignment's property (``app.use =``), the
    function or class ``module.exports =`` is, a pair's key, else the ``name`` field."""
    if node.type == "assignment_expression":
        left = node.child_by_field_name("left")
        right = unwrap(node.child_by_field_name("right"))
        if left is not None and text(left).replace(" ", "") == "module.exports":
            return right.child_by_field_name("name") if right is not None else None
        return left.child_by_field_name("property") if left is not None else None
    return node.child_by_field_name(_NAME_FIELDS.get(node.type, "name"))


def this_class(node: Node, owner: str | None, scope: JsScope) -> str | None:
    """The class ``this`` is an instance of in a function defined by ``node``: a class
    method's class, ``X`` for ``X.prototype.y = function``, none in an object's method."""
    if owner == "this":
        return scope.cls
    if owner:
        return f"{scope.qualname}.{owner}" if scope.qualname else owner
    parent = node.parent
    if node.type in SIGNATURES or (parent is not None and parent.type == "class_body"):
        return scope.cls
    if node.type in ("public_field_definition", "field_definition"):
        return scope.cls
    return None


def iterated(fn: Node) -> Node | None:
    """``xs`` when ``fn`` is the callback of ``xs.map(fn)`` (`_ELEMENT_CALLBACKS`)."""
    args = fn.parent
    if args is None or args.type != "arguments" or args.named_children[0].id != fn.id:
        return None
    call = args.parent
    if call is None or call.type != "call_expression":
        return None
    callee = call.child_by_field_name("function")
    if callee is None or callee.type != "member_expression":
        return None
    method = callee.child_by_field_name("property")
    if method is None or text(method) not in _ELEMENT_CALLBACKS:
        return None
    return callee.child_by_field_name("object")


def passed_to(fn: Node) -> tuple[Node, int] | None:
    """(the callee, the argument's index) when ``fn`` is passed to a call: ``f(a, (x) => ...)``."""
    args = fn.parent
    call = args.parent if args is not None and args.type == "arguments" else None
    if args is None or call is None or call.type not in ("call_expression", "new_expression"):
        return None
    callee = call.child_by_field_name("function") or call.child_by_field_name("constructor")
    if callee is None or callee.type not in ("identifier", "member_expression"):
        return None
    index = next(i for i, arg in enumerate(args.named_children) if arg.id == fn.id)
    return callee, index


def untyped_as(
    array: Node | None, passed: tuple[Node, int] | None, index: int
) -> tuple[str, object]:
    """How an unannotated parameter ``index`` of a callback is declared: an element of the
    array it iterates, the type the callee declares for it, else unknown."""
    if array is not None:
        return ELEMENT, array
    if passed is not None:
        return CALLBACK, (*passed, index)
    return PARAM, None


def is_var(declarator: Node) -> bool:
    """A ``var`` declarator (function-scoped), not a ``let``/``const`` one."""
    parent = declarator.parent
    return parent is not None and parent.type == "variable_declaration"
