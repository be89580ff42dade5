"""What `pybind` keeps per scope while it walks a file, and the small AST readings it uses."""

from __future__ import annotations

import ast

from aegisd_codemap.scope import Scope

#: the outline scope of a walk that builds no outline (never read)
UNCOUNTED = Scope(None, False, None)


class BindScope:
    """A scope's names, filled in during the walk and read once it is over."""

    __slots__ = (
        "annotated", "assigned", "attrs", "class_self", "cls", "defs", "globals", "imports",
        "instances", "kind",
        "nonlocals", "outline", "parent", "qualname", "self_name",
    )  # fmt: skip

    def __init__(self, kind: str, qualname: str, parent: BindScope | None) -> None:
        self.kind = kind  # module, class, function
        self.qualname = qualname  # of the definition ("" for the module)
        self.parent = parent
        self.defs: set[str] = set()
        self.imports: dict[str, str] = {}
        self.assigned: set[str] = set()
        self.instances: dict[str, ast.expr | None] = {}  # name -> callee (None: mixed)
        self.annotated: dict[str, ast.expr] = {}
        #: `obj.attr = Foo()` outside obj's class: (obj, attr) -> the value (None: mixed)
        self.attrs: dict[tuple[str, str], ast.expr | None] = {}
        self.globals: set[str] = set()
        self.nonlocals: set[str] = set()
        self.self_name: str | None = None  # a method's first parameter
        self.cls: str | None = None  # that method's class qualname
        #: the first parameter is the class, not an instance (a classmethod, `__new__`):
        #: calling it constructs one
        self.class_self = False
        #: the outline's scope its nodes are charged to (when the walk builds the outline too)
        self.outline: Scope = UNCOUNTED

    def child(self, name: str) -> str:
        return f"{self.qualname}.{name}" if self.qualname else name

    def binds(self, name: str) -> bool:
        return (
            name in self.defs
            or name in self.imports
            or name in self.assigned
            or name == self.self_name
            or name in self.annotated
        )


def import_head(level: int, module: str, name: str) -> str:
    return f"i:{level}:{module}:{name}"


def annotation_class(node: ast.expr | None) -> ast.expr | None:
    """The class an annotation names: ``Foo``, ``mod.Foo``, ``Foo | None``, ``Optional[Foo]``."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        for side in (node.left, node.right):
            if not (isinstance(side, ast.Constant) and side.value is None):
                return annotation_class(side)
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name | ast.Attribute):
        if last_name(node.value) == "Optional":
            return annotation_class(node.slice)
        return None
    return node if isinstance(node, ast.Name | ast.Attribute) else None


def last_name(node: ast.expr) -> str:
    return node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")


def shape(node: ast.expr) -> str:
    """What an instance assignment calls, to compare two of them."""
    return ast.dump(node.func if isinstance(node, ast.Call) else node)


def strings(node: ast.expr | None) -> list[str] | None:
    """The strings of a literal list or tuple, or None when it is anything else."""
    if not isinstance(node, ast.List | ast.Tuple):
        return None
    found = []
    for item in node.elts:
        if not (isinstance(item, ast.Constant) and isinstance(item.value, str)):
            return None
        found.append(item.value)
    return found


# Fields that never hold child nodes worth visiting: identifiers, flags, operators, contexts.
_SKIP_FIELDS = frozenset(
    {"id", "attr", "arg", "name", "names", "module", "asname", "kwd_attrs", "rest"}
    | {"level", "kind", "is_async", "conversion", "simple", "tag", "lineno"}
    | {"ctx", "op", "ops", "type_comment", "type_ignores"}
)
FIELDS: dict[type[ast.AST], tuple[str, ...]] = {ast.MatchSingleton: (), ast.Constant: ()}


def fields(cls: type[ast.AST]) -> tuple[str, ...]:
    """The fields of a node type that may hold child nodes (cached in FIELDS)."""
    found = FIELDS.get(cls)
    if found is None:
        found = FIELDS[cls] = tuple(f for f in cls._fields if f not in _SKIP_FIELDS)
    return found
