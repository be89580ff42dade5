"""What each reference site's name is bound to in its file, once the walk (`pybind`) is over.

Every scope is complete by then, so a name read before its assignment or import further down
still finds it. A site's binding is a string in `pybind`'s grammar; `navresolve` resolves it
against the whole workspace at query time.
"""

from __future__ import annotations

import ast
import builtins

from aegisd_codemap.bindscope import BindScope
from aegisd_codemap.sites import CALL, UNKNOWN, WRITE, Ref

_BUILTINS = frozenset(dir(builtins))
_NESTED_LIMIT = 64  # chained attributes/calls followed for one binding
_UNKNOWN = object()  # not worked out yet


#: a site noted during the walk: (line, UTF-8 byte offset as ast gives it, name, kind, scope,
#: an attribute's object or None for a name); a plain tuple (made ~150,000 times a stdlib pass)
Site = tuple[int, int, str, str, BindScope, ast.expr | None]


class SiteBindings:
    """The walk's findings (filled in by `pybind`'s walker) and their bindings."""

    def __init__(self, lines: list[bytes]) -> None:
        self.lines = lines
        self.sites: list[Site] = []
        self.imports: list[Ref] = []
        #: instance and class attributes with a known value: (class, attr, value, scope)
        self.members: list[tuple[str, str, ast.expr, BindScope]] = []
        # Keyed by the scope itself, not its id: a scope gone after the walk (a class holding
        # only an import) would hand its id, and its entries, to a later one.
        self._owners: dict[BindScope, str] = {}  # scope -> the qualname its sites are in
        self._memo: dict[tuple[BindScope, str], tuple[str | None, bool]] = {}
        self._exprs: dict[int, str | None] = {}  # attribute node -> its binding
        self._holding: set[tuple[BindScope, str, str]] = set()  # `_attribute_held` under way
        self._ascii: set[int] = set()  # lines known to be ASCII (a byte offset is a column)

    def member_bindings(self) -> tuple[tuple[str, str, str], ...]:
        """(class, attribute, binding) of the attributes whose value is known and the same
        wherever it is assigned."""
        found: dict[tuple[str, str], str | None] = {}
        for owner, attr, value, scope in self.members:
            binding = self.expr_binding(value, scope)
            key = (owner, attr)
            found[key] = binding if found.get(key, binding) == binding else None
        return tuple((o, a, b) for (o, a), b in found.items() if b)

    def refs(self) -> list[Ref]:
        """Every site with its binding, sorted by position. Hot (about 730,000 sites a stdlib
        pass): `site_binding`, `expr_binding` of a plain name and `_ref` are inlined."""
        found = list(self.imports)
        append, new = found.append, tuple.__new__
        lines, owners, ascii_lines, memo = self.lines, self._owners, self._ascii, self._memo
        for line, offset, name, kind, scope, base in reversed(self.sites):  # inner chains first
            if base is None:
                bound = memo.get((scope, name)) or self._bound(name, scope)
                binding = None if bound[1] else bound[0]
                if kind == WRITE and not (binding or "").startswith(("g:", "d:")):
                    continue  # a module variable's assignment
                if binding is None or binding.startswith("b:"):
                    if kind != CALL:
                        continue
                    binding = binding or self._constructed(name, scope) or UNKNOWN
            else:
                if type(base) is ast.Name:  # `expr_binding` of a name: its `name_binding`
                    held = (memo.get((scope, base.id)) or self._bound(base.id, scope))[0]
                else:
                    held = self.expr_binding(base, scope)
                if held is None:
                    if kind != CALL:
                        continue
                    binding = UNKNOWN
                else:
                    binding = f"{held}>{name}"
            column = offset
            if line not in ascii_lines:
                text = lines[line - 1] if 0 < line <= len(lines) else b""
                if text.isascii():
                    ascii_lines.add(line)
                else:
                    column = len(text[:offset].decode("utf-8", "replace"))
            owner = owners.get(scope)
            if owner is None:
                owner = self._owner(scope)
            append(new(Ref, (line, column + 1, name, kind, owner, binding)))
        found.sort()
        return found

    def _ref(
        self, line: int, offset: int, name: str, kind: str, scope: BindScope, binding: str
    ) -> Ref:
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else b""
        column = offset if text.isascii() else len(text[:offset].decode("utf-8", "replace"))
        owner = self._owners.get(scope)
        return Ref(
            line, column + 1, name, kind, self._owner(scope) if owner is None else owner, binding
        )

    def _owner(self, scope: BindScope) -> str:
        """The qualname of the definition a scope's sites are in (a lambda's or a
        comprehension's: their definition's)."""
        current = scope
        while current.parent is not None and current.qualname == current.parent.qualname:
            current = current.parent
        owner = self._owners[scope] = current.qualname
        return owner

    def _constructed(self, name: str, scope: BindScope) -> str | None:
        """The class a call of ``name`` constructs when ``name`` is a classmethod's ``cls``
        (``cls(...)``: the class's constructor; ``self(...)`` would be ``__call__``)."""
        current: BindScope | None = scope
        while current is not None and current.kind != "module":
            if name in current.globals or name in current.nonlocals:
                return None
            if current.binds(name):
                if name == current.self_name and current.class_self and name not in current.defs:
                    return f"d:{current.cls}"
                return None
            current = current.parent
            while current is not None and current.kind == "class":
                current = current.parent
        return None

    def name_binding(self, name: str, scope: BindScope) -> str | None:
        """What ``name`` read in ``scope`` is bound to (None: a plain local variable)."""
        return self._bound(name, scope)[0]

    def site_binding(self, name: str, scope: BindScope) -> str | None:
        """The binding of a name as a reference site: a variable (``self``, ``x = Foo()``,
        an annotated parameter) has its value's binding, but is no reference to it."""
        binding, variable = self._bound(name, scope)
        return None if variable else binding

    def _bound(self, name: str, scope: BindScope) -> tuple[str | None, bool]:
        key = (scope, name)
        found = self._memo.get(key)
        if found is None:
            self._memo[key] = (None, True)  # `x = x()` and the like: no loop
            found = self._memo[key] = self._name_binding(name, scope)
        return found

    def _name_binding(self, name: str, scope: BindScope) -> tuple[str | None, bool]:
        current: BindScope | None = scope
        while current is not None and current.kind != "module":
            if name in current.globals:
                break
            if name not in current.nonlocals and current.binds(name):
                return self._local(name, current)
            current = current.parent
            while current is not None and current.kind == "class":
                current = current.parent  # functions do not see their class's names
        module = scope
        while module.parent is not None:
            module = module.parent
        if name in module.defs or name in module.imports:
            return f"g:{name}", False
        if name in module.assigned:
            callee = module.instances.get(name)
            return (None if callee is None else self.expr_binding(callee, module)), True
        return (f"b:{name}" if name in _BUILTINS else f"g:{name}"), False

    def _local(self, name: str, scope: BindScope) -> tuple[str | None, bool]:
        if name in scope.defs:
            return f"d:{scope.child(name)}", False
        if name in scope.imports:
            return scope.imports[name], False
        if name == scope.self_name:
            return f"d:{scope.cls}", True
        annotated = scope.annotated.get(name)
        if annotated is not None:
            return self.expr_binding(annotated, scope.parent or scope), True
        callee = scope.instances.get(name)
        return (None if callee is None else self.expr_binding(callee, scope)), True

    def expr_binding(self, node: ast.expr, scope: BindScope) -> str | None:
        """The binding of a name, attribute chain or call chain; a step that is called is
        marked ``()`` (its value: an instance of a class, or what a function's return
        annotation names). An attribute chain's binding is kept: ``a.b.c``'s sites ask for
        ``a.b`` and ``a``'s again (`refs` asks inner ones first)."""
        top, exprs = node, self._exprs
        steps: list[str] = []
        called = False
        head: str | None
        for _ in range(_NESTED_LIMIT):
            if isinstance(node, ast.Attribute):
                known = exprs.get(id(node), _UNKNOWN) if node is not top else _UNKNOWN
                if known is not _UNKNOWN:
                    if known is None:
                        return None
                    head = str(known) + "()" * called
                    break
                if not called and isinstance(node.value, ast.Name):
                    held = self._attribute_held(node.value.id, node.attr, scope)
                    if held is not None:  # `obj.attr = Foo()` seen: what it holds
                        head = held
                        break
                steps.append(node.attr + "()" * called)
                called = False
                node = node.value
            elif isinstance(node, ast.Call):
                if isinstance(node.func, ast.Name) and node.func.id == "super":
                    head = self._super(scope)
                    break
                called = True
                node = node.func
            elif isinstance(node, ast.Subscript):
                node = node.value
            elif isinstance(node, ast.Name):
                head = self.name_binding(node.id, scope)
                if head is not None and called:
                    head += "()"
                break
            else:
                head = None
                break
        else:
            head = None
        found = None if head is None else head + "".join(f">{step}" for step in reversed(steps))
        if top is not node and isinstance(top, ast.Attribute):
            exprs[id(top)] = found
        return found

    def _attribute_held(self, name: str, attr: str, scope: BindScope) -> str | None:
        """The binding of what ``name.attr`` was assigned (`pybind._attribute_value`) in the
        scope ``name`` is seen from, or None."""
        current: BindScope | None = scope
        while current is not None:
            found = current.attrs.get((name, attr), _UNKNOWN)
            if found is not _UNKNOWN:
                key = (current, name, attr)
                if found is None or key in self._holding:
                    return None  # mixed, or `x.a = f(x.a)`: its own value, no loop
                self._holding.add(key)
                try:
                    return self.expr_binding(found, current)  # type: ignore[arg-type]
                finally:
                    self._holding.discard(key)
            if current.kind == "module" or (
                current.binds(name)
                and name not in current.globals
                and name not in current.nonlocals
            ):
                return None
            current = current.parent
            while current is not None and current.kind == "class":
                current = current.parent
        return None

    def _super(self, scope: BindScope) -> str | None:
        current: BindScope | None = scope
        while current is not None:
            if current.cls is not None:
                return f"p:{current.cls}"
            current = current.parent
        return None
