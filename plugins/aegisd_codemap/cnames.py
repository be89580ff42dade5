"""Reading C/C++ names off tree-sitter nodes (shared by `cextract` and `cbind`)."""

from __future__ import annotations

from tree_sitter import Node

from aegisd_codemap.treesitter import squeeze, text

#: declarator wrappers around the declared name
WRAPPERS = frozenset(
    {
        "pointer_declarator", "reference_declarator", "array_declarator", "init_declarator",
        "parenthesized_declarator", "attributed_declarator", "function_declarator",
    }
)  # fmt: skip


def name_parts(name: Node) -> list[str]:
    """``a::B<T>::m`` → ``["a", "B", "m"]``: scopes lose their template arguments (``::``
    inside them cuts nothing); ``operator T`` is a conversion operator's name."""
    parts: list[str] = []
    while name.type == "qualified_identifier":
        scope = name.child_by_field_name("scope")
        if scope is not None and scope.type == "template_type":
            scope = scope.child_by_field_name("name")
        if scope is not None:
            parts.append(squeeze(text(scope)))
        inner = name.child_by_field_name("name")
        if inner is None:
            break
        name = inner
    if name.type == "operator_cast":
        parts.append(f"operator {squeeze(text(name.child_by_field_name('type')))}")
    elif name.type == "nested_namespace_specifier":  # namespace a::b {
        parts += (part.strip() for part in text(name).split("::"))
    elif name.type != "qualified_identifier":
        parts.append(squeeze(text(name)))
    return [part for part in parts if part]


def written_name(node: Node) -> str:
    """``a::B<T>::c`` → ``a.B.c``; ``::x`` → ``.x``; a template's name without arguments."""
    parts: list[str] = []
    glob = False
    current: Node | None = node
    while current is not None and current.type == "qualified_identifier":
        scope = current.child_by_field_name("scope")
        if scope is None:
            glob = glob or not parts
        else:
            if scope.type == "template_type":
                scope = scope.child_by_field_name("name")
            parts.extend(text(scope).replace(" ", "").split("::"))
        current = current.child_by_field_name("name")
    if current is not None:
        if current.type in ("template_type", "template_function"):
            current = current.child_by_field_name("name")
        parts.append(text(current))
    written = ".".join(p for p in parts if p)
    return "." + written if glob else written


def last_name(node: Node) -> Node | None:
    """The node of the last name of a possibly qualified or templated name."""
    current: Node | None = node
    while current is not None and current.type == "qualified_identifier":
        current = current.child_by_field_name("name")
    if current is not None and current.type in ("template_type", "template_function"):
        current = current.child_by_field_name("name")
    return current


def declared_name(declarator: Node | None) -> Node | None:
    """The identifier a declarator declares, under pointers, references and initializers."""
    while declarator is not None and declarator.type in WRAPPERS:
        inner = declarator.child_by_field_name("declarator")
        if inner is None:
            inner = next((c for c in declarator.named_children if c.type != "comment"), None)
        declarator = inner
    return declarator
