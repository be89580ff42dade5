"""What `jsbind` keeps per JS/TS scope while it walks a file, and the declarations it reads."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from tree_sitter import Node

from aegisd_codemap.treesitter import text

#: what a declared name is: a definition (its qualname), an import (its binding head), a
#: variable (the node of its value, or None), a parameter (its type annotation, or None)
DEF, IMPORT, VAR, PARAM = "def", "import", "var", "param"
#: an element of an array (``for (const x of xs)``, ``xs.map((x) => ...)``): the node of ``xs``
ELEMENT = "element"
#: a callback's parameter typed by its callee: (the callee's node, argument index, parameter index)
CALLBACK = "callback"

#: nodes whose body is a function scope; a ``function``'s ``this`` is its own
FUNCTIONS = frozenset(
    {
        "function_declaration",
        "generator_function_declaration",
        "function_expression",
        "function",
        "generator_function",
        "arrow_function",
        "method_definition",
    }
)
BLOCKS = frozenset({"statement_block", "for_statement", "for_in_statement", "catch_clause"})
#: wrappers that leave a value what it is
TRANSPARENT = frozenset(
    {
        "parenthesized_expression",
        "as_expression",
        "satisfies_expression",
        "non_null_expression",
        "type_assertion",
        "await_expression",
    }
)


class JsScope:
    """A module, function, class or block scope: its names, filled in during the walk."""

    __slots__ = ("cls", "kind", "names", "parent", "qualname")

    def __init__(
        self, kind: str, qualname: str, parent: JsScope | None, cls: str | None = None
    ) -> None:
        self.kind = kind  # module, function, class, block
        self.qualname = qualname  # of the definition the sites are charged to ("" at top)
        self.parent = parent
        self.cls = cls  # the class ``this`` is an instance of (methods, fields, arrows in them)
        self.names: dict[str, tuple[str, object]] = {}

    def declare(self, name: str, what: str, detail: object = None) -> None:
        if name and (name not in self.names or what in (DEF, IMPORT)):
            self.names[name] = (what, detail)

    def function_scope(self) -> JsScope:
        """Where ``var`` and function declarations land."""
        scope = self
        while scope.kind == "block" and scope.parent is not None:
            scope = scope.parent
        return scope


def unwrap(node: Node | None) -> Node | None:
    while node is not None and node.type in TRANSPARENT:
        node = node.named_children[0] if node.named_children else None
    return node


def string_value(node: Node | None) -> str | None:
    if node is None or node.type != "string":
        return None
    return text(node)[1:-1]


def require_specifier(node: Node | None) -> str | None:
    """``'x'`` of ``require('x')``."""
    node = unwrap(node)
    if node is None or node.type != "call_expression":
        return None
    fn = node.child_by_field_name("function")
    args = node.child_by_field_name("arguments")
    if fn is None or fn.type != "identifier" or text(fn) != "require" or args is None:
        return None
    first = args.named_children[0] if args.named_children else None
    return string_value(first)


def pattern_names(pattern: Node | None) -> Iterator[tuple[Node, str | None]]:
    """The names a binding pattern declares, each with the property it takes from the value
    (``{a, b: c}`` → (a, "a"), (c, "b"); ``[x]`` and plain names → None)."""
    if pattern is None:
        return
    kind = pattern.type
    if kind in ("identifier", "shorthand_property_identifier_pattern"):
        yield pattern, text(pattern) if kind != "identifier" else None
    elif kind == "object_pattern":
        for part in pattern.named_children:
            if part.type == "shorthand_property_identifier_pattern":
                yield part, text(part)
            elif part.type == "pair_pattern":
                key = part.child_by_field_name("key")
                value = part.child_by_field_name("value")
                if value is not None and value.type == "identifier":
                    yield value, text(key)
                else:
                    for node, _ in pattern_names(value):
                        yield node, None
            elif part.type == "object_assignment_pattern":
                left = part.child_by_field_name("left")
                for node, prop in pattern_names(left):
                    yield node, prop
            elif part.type == "rest_pattern":
                inner = part.named_children[0] if part.named_children else None
                for node, _ in pattern_names(inner):
                    yield node, None
    elif kind in ("array_pattern", "rest_pattern"):
        for part in pattern.named_children:
            for node, _ in pattern_names(part):
                yield node, None
    elif kind == "assignment_pattern":
        yield from pattern_names(pattern.child_by_field_name("left"))
    elif kind in ("required_parameter", "optional_parameter"):
        yield from pattern_names(pattern.child_by_field_name("pattern"))


def parameter_type(parameter: Node) -> Node | None:
    """The type a TS parameter, variable or field is annotated with, as written (``p: Foo |
    null`` → ``Foo | null``; `type_names` and `element_types` read it)."""
    annotation = parameter.child_by_field_name("type")
    if annotation is None or not annotation.named_children:
        return None
    return annotation.named_children[0]


#: types that hold no members of the workspace's: ``x: Foo | null`` is a ``Foo``
_EMPTY_TYPES = frozenset({"literal_type", "predefined_type"})
#: generic types whose argument is the type of their elements
_ARRAYS = frozenset({"Array", "ReadonlyArray"})


def known_type(written: Node | None) -> Node | None:
    """``written`` when it names a type whose members or elements may be followed."""
    return written if type_names(written) or element_types(written) else None


def type_names(written: Node | None) -> list[Node]:
    """The named types a written type stands for: each part of a union (``null``,
    ``undefined`` and other literal or predefined types dropped), a generic's name."""
    found: list[Node] = []
    stack = [written] if written is not None else []
    while stack:
        node = stack.pop()
        if node.type in ("union_type", "parenthesized_type"):
            stack += reversed(node.named_children)
        elif node.type == "generic_type":
            name = node.child_by_field_name("name")
            if name is not None:
                found.append(name)
        elif node.type in ("type_identifier", "nested_type_identifier"):
            found.append(node)
    return found


def element_types(written: Node | None) -> list[Node]:
    """The named types of the elements of an array type (``Foo[]``, ``Array<Foo>``,
    ``ReadonlyArray<A | B>``, each part of a union of such)."""
    found: list[Node] = []
    stack = [written] if written is not None else []
    while stack:
        node = stack.pop()
        if node.type in ("union_type", "parenthesized_type"):
            stack += reversed(node.named_children)
        elif node.type == "array_type" and node.named_children:
            found += type_names(node.named_children[0])
        elif node.type == "readonly_type" and node.named_children:
            stack.append(node.named_children[0])
        elif node.type == "generic_type":
            name = node.child_by_field_name("name")
            args = node.child_by_field_name("type_arguments")
            if name is not None and text(name) in _ARRAYS and args is not None:
                found += [t for arg in args.named_children[:1] for t in type_names(arg)]
    return found


#: (line, byte column, name, kind, scope, the object of a member access or None)
Site = tuple[int, int, str, str, "JsScope", Node | None]
#: a node to visit, the scope it is in and the kind of site its names make
Item = tuple[Node, "JsScope", str]
Push = Callable[[Item], None]
#: characters a specifier or name in a binding cannot hold
#: (``|`` separates the alternatives of a union-typed value)
BAD = ("\t", "\n", ">", "|")


class BinderState:
    """What one file's walk collects: sites whose binding is worked out at the end, sites
    whose binding is known at once (imports, definitions), exports and attribute values."""

    def __init__(self, data: bytes, defined: dict[int, str]) -> None:
        self.lines = data.split(b"\n")
        self.defined = defined  # Node.id -> qualname (`jsextract`)
        self.sites: list[Site] = []
        self.fixed: list[tuple[Node, str, str, JsScope, str]] = []  # + name, kind, binding
        self.exports: list[tuple[str, str, object]] = []  # (name, how, what)
        self.members: list[tuple[str, str, Node, JsScope]] = []
        #: (class, field) -> the type it is declared with and the scope it is written in
        self.field_types: dict[tuple[str, str], tuple[Node, JsScope]] = {}
        self.memo: dict[tuple[int, str], tuple[str | None, bool]] = {}
        self.module = JsScope("module", "", None)

    def site(self, node: Node, kind: str, scope: JsScope, obj: Node | None = None) -> None:
        row, col = node.start_point
        self.sites.append((row + 1, col, text(node), kind, scope, obj))

    def fix(self, node: Node, name: str, kind: str, scope: JsScope, binding: str) -> None:
        self.fixed.append((node, name, kind, scope, binding))
