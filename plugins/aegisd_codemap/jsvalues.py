"""The bindings of `jsbind`'s sites, worked out once every scope of the file is complete."""

from __future__ import annotations

from typing import cast

from tree_sitter import Node

from aegisd_codemap.jsglobals import JS_GLOBALS
from aegisd_codemap.jsscope import (
    BAD,
    CALLBACK,
    DEF,
    ELEMENT,
    IMPORT,
    PARAM,
    BinderState,
    JsScope,
    element_types,
    require_specifier,
    type_names,
    unwrap,
)
from aegisd_codemap.sites import CALL, UNKNOWN, WRITE, Ref
from aegisd_codemap.treesitter import text

_NESTED_LIMIT = 64  # chained members/calls followed for one binding
#: array methods whose result is one of the array's elements
_ELEMENT_CALLS = frozenset({"at", "find", "findLast", "pop", "shift"})


def extend(binding: str, suffix: str) -> str:
    """``binding`` followed by ``suffix`` (``>attr``, ``()``), in each alternative of a union."""
    return "|".join(part + suffix for part in binding.split("|"))


def _union(bindings: list[str | None]) -> str | None:
    """One binding for several alternatives (a union-typed value), None when none is known."""
    known = list(dict.fromkeys(part for b in bindings if b for part in b.split("|")))
    return "|".join(known) if known else None


class Bindings(BinderState):
    """Names to bindings: scopes searched outwards, values of variables, member chains."""

    def bound(self, name: str, scope: JsScope) -> tuple[str | None, bool]:
        """(binding, whether ``name`` is a variable: its value's binding, no reference)."""
        key = (id(scope), name)
        found = self.memo.get(key)
        if found is None:
            self.memo[key] = (None, True)  # `x = x.y`: no loop
            found = self.memo[key] = self._bound(name, scope)
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
                    return self.typed(typed, current), True
                if what == ELEMENT:
                    return self.element(detail, current), True  # type: ignore[arg-type]
                if what == CALLBACK:
                    callee, argument, index = cast(tuple[Node, int, int], detail)
                    held = self.expr(callee, current)
                    return (None if held is None else extend(held, f">@{argument}.{index}")), True
                if isinstance(detail, tuple):
                    held = self.expr(detail[0], current)
                    return (None if held is None else extend(held, f">{detail[1]}")), True
                return (None if detail is None else self.expr(detail, current)), True  # type: ignore[arg-type]
            current = current.parent
        return (f"b:{name}" if name in JS_GLOBALS else f"g:{name}"), False

    def typed(self, written: Node | None, scope: JsScope) -> str | None:
        """The binding of a value of a written type: each named type of a union."""
        return _union([self.expr(name, scope) for name in type_names(written)])

    def element(self, array: Node, scope: JsScope) -> str | None:
        """The binding of an element of ``array`` (a name or ``this.x`` of an array type)."""
        written = self.written_type(array, scope)
        if written is None:
            return None
        return _union([self.expr(name, written[1]) for name in element_types(written[0])])

    def written_type(self, node: Node, scope: JsScope) -> tuple[Node, JsScope] | None:
        """The type ``node`` (a name, or ``this.x`` of this file's class) is declared with."""
        node = unwrap(node) or node
        if node.type == "identifier":
            holder: JsScope | None = scope
            while holder is not None:
                if holder.kind != "class" and text(node) in holder.names:
                    what, detail = holder.names[text(node)]
                    ok = what == PARAM and isinstance(detail, Node)
                    return (detail, holder) if ok else None  # type: ignore[return-value]
                holder = holder.parent
            return None
        obj = node.child_by_field_name("object") if node.type == "member_expression" else None
        prop = node.child_by_field_name("property") if obj is not None else None
        if obj is not None and prop is not None and obj.type == "this" and scope.cls:
            return self.field_types.get((scope.cls, text(prop)))
        return None

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
                    head = None if any(c in spec for c in BAD) else f"i:{spec}:*"
                    break
                fn = node.child_by_field_name("function") or node.child_by_field_name("constructor")
                if fn is None:
                    return None
                taken = self._taken_element(fn, scope)
                if taken is not None:  # `xs.shift()`: an element of a typed array
                    head = taken + "()" * called
                    break
                called = True
                node = fn
            elif kind == "subscript_expression":
                obj = node.child_by_field_name("object")
                index = node.child_by_field_name("index")
                if obj is None or (index is not None and index.type == "string"):
                    return None
                head = self.element(obj, scope)
                if head is not None and called:
                    head = extend(head, "()")
                break
            elif kind in ("identifier", "type_identifier", "shorthand_property_identifier"):
                head = self.bound(text(node), scope)[0]
                if head is not None and called:
                    head = extend(head, "()")
                break
            elif kind == "this":
                head = self.this(scope)
                if head is not None and called:
                    head = extend(head, "()")
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
        return extend(head, "".join(f">{step}" for step in reversed(steps)))

    def this(self, scope: JsScope) -> str | None:
        """What ``this`` is: a ``function``'s ``this:`` parameter's type, else the class."""
        current: JsScope | None = scope
        while current is not None:
            declared = current.names.get("this") if current.kind == "function" else None
            if declared is not None:
                typed = declared[1] if isinstance(declared[1], Node) else None
                if typed is not None:
                    return self.typed(typed, current)
                break
            current = current.parent
        return None if scope.cls is None else f"d:{scope.cls}"

    def _taken_element(self, fn: Node, scope: JsScope) -> str | None:
        if fn.type != "member_expression":
            return None
        prop = fn.child_by_field_name("property")
        obj = fn.child_by_field_name("object")
        if prop is None or obj is None or text(prop) not in _ELEMENT_CALLS:
            return None
        return self.element(obj, scope)

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
                    binding = UNKNOWN if held is None else extend(held, f">{name}")
                else:
                    binding = extend(held, f">{name}")
            found.append(self._ref(line, offset, name, kind, scope, binding))
        found.sort()
        return found

    def _ref(
        self, line: int, offset: int, name: str, kind: str, scope: JsScope, binding: str
    ) -> Ref:
        data = self.lines[line - 1] if 0 < line <= len(self.lines) else b""
        column = offset if data.isascii() else len(data[:offset].decode("utf-8", "replace"))
        return Ref(line, column + 1, name, kind, scope.qualname, binding)

    def member_bindings(self) -> tuple[tuple[str, str, str], ...]:
        """What each attribute of a class holds: its declared type, else its one value."""
        found: dict[tuple[str, str], str | None] = {}
        for key, (written, scope) in self.field_types.items():
            found[key] = self.typed(written, scope)
        for owner, attr, value, scope in self.members:
            key = (owner, attr)
            if key in self.field_types:
                continue
            binding = self.expr(value, scope)
            found[key] = binding if found.get(key, binding) == binding else None
        return tuple((o, a, b) for (o, a), b in found.items() if b)

    def export_entries(self) -> tuple[str, ...]:
        entries: list[str] = []
        for name, how, what in self.exports:
            if not name or any(c in name for c in BAD):
                continue
            if how == "head":
                binding: str | None = str(what)
            elif how == "local":
                binding = self.bound(str(what), self.module)[0] or f"g:{what}"
                if self.module.names.get(str(what), ("", None))[0] == PARAM:
                    # `export const config: Config`: a value of the type, no other name of it
                    binding = extend(binding, "()")
            else:
                binding = self.expr(what, self.module) if isinstance(what, Node) else None
            entries.append(f"{name}\t{binding or UNKNOWN}")
        return tuple(dict.fromkeys(entries))
