"""The bindings of `jsbind`'s sites, worked out once every scope of the file is complete."""

from __future__ import annotations

from tree_sitter import Node

from aegisd_codemap.jsglobals import JS_GLOBALS
from aegisd_codemap.jsscope import (
    BAD,
    DEF,
    IMPORT,
    PARAM,
    BinderState,
    JsScope,
    require_specifier,
    unwrap,
)
from aegisd_codemap.sites import CALL, UNKNOWN, WRITE, Ref
from aegisd_codemap.treesitter import text

_NESTED_LIMIT = 64  # chained members/calls followed for one binding


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
                    head = None if any(c in spec for c in BAD) else f"i:{spec}:*"
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

    def member_bindings(self) -> tuple[tuple[str, str, str], ...]:
        found: dict[tuple[str, str], str | None] = {}
        for owner, attr, value, scope in self.members:
            binding = self.expr(value, scope)
            key = (owner, attr)
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
            else:
                binding = self.expr(what, self.module) if isinstance(what, Node) else None
            entries.append(f"{name}\t{binding or UNKNOWN}")
        return tuple(dict.fromkeys(entries))
