"""Python name binding: every reference site of a file and what its name is bound to there.

Runs in the parse workers beside `pyextract`, on the same tree: one walk builds the scopes
(module, class, function, lambda, comprehension; `global`/`nonlocal`, parameters, imports,
definitions, simple instance flow `x = Foo()` and annotated names) and notes each site;
`bindnames` works out the sites' bindings once every scope is complete. A binding is a short
string that
`navresolve` resolves at query time against the whole workspace:

    binding := head ('>' attr)*             a head or attr ending in `()` is called: the
                                             value is what the call returns
    head    := 'g:' name                     a module-level name of this file (its definitions,
                                             its imports, `from x import *`)
             | 'd:' qualname                 a definition of this file (nested, or a class)
             | 'i:' level ':' module ':' name  an import (an empty name: the module itself)
             | 'p:' qualname                 the bases of this file's class (`super()`)
             | 'b:' name                     a builtin
             | 'u'                           not known here (a parameter's or a call's value)

Reads of plain local variables and of builtins are not sites (nothing to navigate to); calls
always are (a call graph lists what it cannot resolve).
"""

from __future__ import annotations

import ast
import os
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, Protocol

from aegisd_codemap.bindnames import SiteBindings
from aegisd_codemap.bindscope import (
    FIELDS,
    BindScope,
    annotation_class,
    fields,
    import_head,
    last_name,
    shape,
    strings,
)
from aegisd_codemap.scope import Scope
from aegisd_codemap.sites import CALL, IMPORT, INHERIT, READ, REF_KINDS, TYPE, WRITE, Ref

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
_STATIC = frozenset({"staticmethod"})
#: methods whose first parameter is the class: declared so, or implicitly
_CLASS_SELF = frozenset({"classmethod"})
_CLASS_SELF_METHODS = frozenset({"__new__", "__init_subclass__", "__class_getitem__"})
#: `AEGIS_CODEMAP_BINDINGS=0` turns binding off (the benchmark's same-run baseline; not
#: `AEGISD_`: those are the daemon's configuration)
BINDINGS_ENV = "AEGIS_CODEMAP_BINDINGS"


def binding_enabled() -> bool:
    """Whether workers bind names (read per file: the pool's workers inherit the daemon's
    environment)."""
    return os.environ.get(BINDINGS_ENV, "1") != "0"


class OutlineHooks(Protocol):
    """What the outline (`pyextract.Outline`) does during the binder's walk, so one walk
    serves both: definitions, calls, and the node types in ``counted`` (branch points)."""

    counted: frozenset[type[ast.AST]]

    def define(self, node: Any, scope: Scope) -> Scope: ...
    def call(self, node: ast.Call, scope: Scope) -> None: ...
    def count(self, node: ast.AST, scope: Scope) -> None: ...


_Function = ast.FunctionDef | ast.AsyncFunctionDef
_Assignment = ast.Assign | ast.AnnAssign | ast.AugAssign
_Push = Callable[[tuple[ast.AST, BindScope, str]], None]


class _Binder(SiteBindings):
    """The walk: scopes and sites (their bindings: `bindnames.SiteBindings`)."""

    def __init__(self, lines: list[bytes], outline: OutlineHooks | None = None) -> None:
        super().__init__(lines)
        self.outline = outline
        self._counted = outline.counted if outline is not None else frozenset()
        self.exports: list[str] | None = []
        self.has_all = False
        self._typed: set[int] = set()  # targets of `x = Foo()`: bound by `assignment`

    # -- the walk ------------------------------------------------------------------------

    def walk(self, tree: ast.Module) -> BindScope:
        """Every node once, from an explicit stack of (node, scope, kind): a node's own handler
        (one dict lookup), else its children. Inlined, as `pyextract._Walker.walk` is: this
        loop runs for every node of every file (about 2.4 million a stdlib pass)."""
        module = BindScope("module", "", None)
        if self.outline is not None:
            module.outline = Scope(None, False, None)
        stack: list[tuple[Any, BindScope, str]] = [  # Any: read by type, as `cls` says
            (s, module, READ) for s in reversed(tree.body)
        ]
        push, pop = stack.append, stack.pop
        handlers, counted, cached_fields = _HANDLERS, self._counted, FIELDS
        name, sites, load, attribute = self.name, self.sites.append, ast.Load, ast.Attribute
        constant = ast.Constant
        while stack:
            node, scope, kind = pop()
            cls = type(node)
            if cls is ast.Name:  # the most common node: no handler call
                if type(node.ctx) is load:
                    sites((node.lineno, node.col_offset, node.id, kind, scope, None))
                else:
                    name(node, scope, kind)
                continue
            if cls is attribute:  # the next most common: `_attribute`, inlined
                if type(node.ctx) is not load:
                    kind = WRITE
                attr, value = node.attr, node.value
                sites(
                    (node.end_lineno or node.lineno, (node.end_col_offset or 0) - len(attr),
                     attr, kind, scope, value)
                )  # fmt: skip
                if type(value) is not constant:
                    push((value, scope, TYPE if kind == TYPE else READ))
                continue
            handler = handlers.get(cls)
            if handler is not None and handler(self, node, scope, kind, push):
                continue
            if cls in counted:
                self.outline.count(node, scope.outline)  # type: ignore[union-attr]  # counted: has one
            child_kind = TYPE if kind == TYPE else READ
            for field in cached_fields.get(cls) or fields(cls):
                value = getattr(node, field)
                if type(value) is list:
                    for child in value:
                        if child is not None and type(child) is not constant:
                            push((child, scope, child_kind))
                elif value is not None and type(value) is not constant:
                    push((value, scope, child_kind))
        return module

    # Handlers: True when the node is done, False to visit its children as well.

    def _call(self, node: ast.Call, scope: BindScope, kind: str, push: _Push) -> bool:
        constant = ast.Constant  # a third of the arguments: nothing to visit
        for part in node.args:
            if type(part) is not constant:
                push((part, scope, READ))
        for keyword in node.keywords:
            if type(keyword.value) is not constant:
                push((keyword.value, scope, READ))
        push((node.func, scope, CALL))
        if self.outline is not None and scope.outline.calls is not None:
            self.outline.call(node, scope.outline)
        return True

    def _function(self, node: _Function, scope: BindScope, kind: str, push: _Push) -> bool:
        self.function(node, scope, push)
        return True

    def _class(self, node: ast.ClassDef, scope: BindScope, kind: str, push: _Push) -> bool:
        self.class_def(node, scope, push)
        return True

    def _lambda(self, node: ast.Lambda, scope: BindScope, kind: str, push: _Push) -> bool:
        inner = BindScope("function", scope.qualname, scope)
        inner.outline = scope.outline  # their branches count for the definition around them
        self.parameters(node.args, inner, scope, push)
        push((node.body, inner, READ))
        return True

    def _comprehension(self, node: ast.expr, scope: BindScope, kind: str, push: _Push) -> bool:
        inner = BindScope("function", scope.qualname, scope)
        inner.outline = scope.outline  # their branches count for the definition around them
        for generator in node.generators:  # type: ignore[attr-defined]
            push((generator, inner, READ))
        parts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]  # type: ignore[attr-defined]
        for part in parts:
            push((part, inner, READ))
        return True

    def _import(
        self, node: ast.Import | ast.ImportFrom, scope: BindScope, kind: str, push: _Push
    ) -> bool:
        self.import_(node, scope)
        return True

    def _global(self, node: ast.Global, scope: BindScope, kind: str, push: _Push) -> bool:
        scope.globals.update(node.names)
        return True

    def _nonlocal(self, node: ast.Nonlocal, scope: BindScope, kind: str, push: _Push) -> bool:
        scope.nonlocals.update(node.names)
        return True

    def _assignment(self, node: _Assignment, scope: BindScope, kind: str, push: _Push) -> bool:
        self.assignment(node, scope, push)
        return True

    def _bound_name(self, node: ast.AST, scope: BindScope, kind: str, push: _Push) -> bool:
        """`except E as name`, `case x`, `case [*rest]`: a local name, then the children."""
        name = getattr(node, "name", None) or getattr(node, "rest", None)
        if name:
            scope.assigned.add(name)
        return False

    def _subscript(self, node: ast.Subscript, scope: BindScope, kind: str, push: _Push) -> bool:
        if kind not in (INHERIT, TYPE):
            return False
        push((node.slice, scope, TYPE if kind == TYPE else READ))
        push((node.value, scope, kind))  # `Generic[T]` inherits from Generic
        return True

    def name(self, node: ast.Name, scope: BindScope, kind: str) -> None:
        if type(node.ctx) is not ast.Load:
            name = node.id
            if id(node) not in self._typed:
                self._bind_local(scope, name)
            if scope.kind != "module" and name not in scope.globals:
                return  # a local (or class) variable's assignment: never a site
            kind = WRITE
        self.sites.append((node.lineno, node.col_offset, node.id, kind, scope, None))

    def _bind_local(self, scope: BindScope, name: str) -> None:
        if name in scope.globals or name in scope.nonlocals:
            return
        scope.assigned.add(name)
        scope.instances[name] = None  # unless an `x = Foo()` says otherwise (`assignment`)

    def function(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: BindScope, push: _Push
    ) -> None:
        scope.defs.add(node.name)
        inner = BindScope("function", scope.child(node.name), scope)
        if self.outline is not None:
            inner.outline = self.outline.define(node, scope.outline)
        decorators = {last_name(d) for d in node.decorator_list if isinstance(d, ast.Name)}
        positional = node.args.posonlyargs + node.args.args
        if scope.kind == "class" and positional and not decorators & _STATIC:
            inner.self_name, inner.cls = positional[0].arg, scope.qualname
            inner.class_self = bool(decorators & _CLASS_SELF) or node.name in _CLASS_SELF_METHODS
        for statement in reversed(node.body):
            push((statement, inner, READ))
        if node.returns is not None:
            push((node.returns, scope, TYPE))
        self.parameters(node.args, inner, scope, push)
        for decorator in reversed(node.decorator_list):
            push((decorator, scope, READ))

    def parameters(
        self, args: ast.arguments, inner: BindScope, outer: BindScope, push: _Push
    ) -> None:
        every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
        every += [a for a in (args.vararg, args.kwarg) if a is not None]
        for arg in every:
            inner.assigned.add(arg.arg)
            annotated = annotation_class(arg.annotation)
            if annotated is not None and arg.arg != inner.self_name:
                inner.annotated[arg.arg] = annotated
            if arg.annotation is not None:
                push((arg.annotation, outer, TYPE))
        for default in [*args.defaults, *(d for d in args.kw_defaults if d is not None)]:
            push((default, outer, READ))

    def class_def(self, node: ast.ClassDef, scope: BindScope, push: _Push) -> None:
        scope.defs.add(node.name)
        inner = BindScope("class", scope.child(node.name), scope)
        if self.outline is not None:
            inner.outline = self.outline.define(node, scope.outline)
        for statement in reversed(node.body):
            push((statement, inner, READ))
        for keyword in node.keywords:
            push((keyword.value, scope, READ))
        for base in reversed(node.bases):
            push((base, scope, INHERIT))
        for decorator in reversed(node.decorator_list):
            push((decorator, scope, READ))

    def import_(self, node: ast.Import | ast.ImportFrom, scope: BindScope) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    scope.imports[alias.asname] = import_head(0, alias.name, "")
                else:
                    top = alias.name.split(".", 1)[0]
                    scope.imports[top] = import_head(0, top, "")
            return
        module, level = node.module or "", node.level
        for alias in node.names:
            if alias.name == "*":
                continue
            head = import_head(level, module, alias.name)
            scope.imports[alias.asname or alias.name] = head
            line = getattr(alias, "lineno", node.lineno)
            self.imports.append(self._ref(line, alias.col_offset, alias.name, IMPORT, scope, head))

    def assignment(
        self, node: ast.Assign | ast.AnnAssign | ast.AugAssign, scope: BindScope, push: _Push
    ) -> None:
        targets: list[ast.expr] = (
            list(node.targets) if isinstance(node, ast.Assign) else [node.target]
        )
        if scope.kind == "module":
            self._exports(node, targets)
        value = node.value
        if isinstance(node, ast.AnnAssign):
            push((node.annotation, scope, TYPE))
        if value is not None and type(value) is not ast.Constant:
            push((value, scope, READ))
        for target in reversed(targets):
            push((target, scope, WRITE))
        if len(targets) == 1 and not isinstance(node, ast.AugAssign):
            self._member(targets[0], node, scope)
        if len(targets) != 1 or not isinstance(targets[0], ast.Name):
            return
        name = targets[0].id
        if name in scope.globals or name in scope.nonlocals:
            return
        callee: ast.expr | None = None
        if isinstance(node, ast.AnnAssign):
            callee = annotation_class(node.annotation)
        elif isinstance(value, ast.Call) and isinstance(value.func, ast.Name | ast.Attribute):
            callee = value  # its value: `expr_binding` marks the call
        if callee is None or isinstance(node, ast.AugAssign):
            return
        self._typed.add(id(targets[0]))
        known = scope.instances.get(name, callee)
        scope.assigned.add(name)
        same = known is callee or (known is not None and shape(known) == shape(callee))
        scope.instances[name] = callee if same else None
        scope.annotated.pop(name, None)

    def _member(self, target: ast.expr, node: ast.Assign | ast.AnnAssign, scope: BindScope) -> None:
        """``self.x = Foo()`` or ``self.x: Foo`` in a method, ``x: Foo`` or ``x = Foo()`` in a
        class body: what the class's attribute holds."""
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
            if target.value.id != scope.self_name or scope.cls is None:
                self._attribute_value(target.value.id, target.attr, node, scope)
                return
            owner, attr = scope.cls, target.attr
        elif isinstance(target, ast.Name) and scope.kind == "class":
            owner, attr = scope.qualname, target.id
        else:
            return
        if isinstance(node, ast.AnnAssign):
            value = annotation_class(node.annotation)
        else:
            value = node.value if isinstance(node.value, ast.Call) else None
        if value is not None:
            self.members.append((owner, attr, value, scope))

    def _attribute_value(
        self, name: str, attr: str, node: ast.Assign | ast.AnnAssign, scope: BindScope
    ) -> None:
        """``obj.attr = Foo()`` (or ``: Foo``) outside obj's class: what ``obj.attr`` holds
        where ``obj`` is seen from this scope (the same value wherever it is assigned here)."""
        if isinstance(node, ast.AnnAssign):
            value = annotation_class(node.annotation)
        else:
            value = node.value if isinstance(node.value, ast.Call) else None
        key = (name, attr)
        known = scope.attrs.get(key, value)
        same = known is value or (
            known is not None and value is not None and shape(known) == shape(value)
        )
        scope.attrs[key] = value if same else None

    def _exports(self, node: ast.stmt, targets: list[ast.expr]) -> None:
        if not any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            return
        self.has_all = True
        value = getattr(node, "value", None)
        names = strings(value)
        if names is None or self.exports is None:
            self.exports = None  # computed: not known here
        elif isinstance(node, ast.AugAssign):
            self.exports += names
        else:
            self.exports = names


_Handler = Callable[[_Binder, Any, BindScope, str, _Push], bool]
_HANDLERS: dict[type[ast.AST], _Handler] = {
    ast.Call: _Binder._call,
    ast.FunctionDef: _Binder._function,
    ast.AsyncFunctionDef: _Binder._function,
    ast.ClassDef: _Binder._class,
    ast.Lambda: _Binder._lambda,
    **dict.fromkeys(_COMPREHENSIONS, _Binder._comprehension),
    ast.Import: _Binder._import,
    ast.ImportFrom: _Binder._import,
    ast.Global: _Binder._global,
    ast.Nonlocal: _Binder._nonlocal,
    ast.Assign: _Binder._assignment,
    ast.AnnAssign: _Binder._assignment,
    ast.AugAssign: _Binder._assignment,
    ast.ExceptHandler: _Binder._bound_name,
    ast.MatchAs: _Binder._bound_name,
    ast.MatchStar: _Binder._bound_name,
    ast.MatchMapping: _Binder._bound_name,
    ast.Subscript: _Binder._subscript,
    ast.Constant: lambda *_: True,
}


class Bound(NamedTuple):
    refs: list[Ref]
    exports: tuple[str, ...] | None  # ``__all__`` (None: none, or computed at run time)
    members: tuple[tuple[str, str, str], ...]  # (class, attribute, binding of its value)


def bind_python(tree: ast.Module, data: bytes, outline: OutlineHooks | None = None) -> Bound:
    """The file's reference sites (sorted by position), ``__all__`` and attribute values."""
    binder = _Binder(data.split(b"\n"), outline)
    binder.walk(tree)
    refs = binder.refs()
    exports = binder.exports if binder.has_all else None
    return Bound(refs, None if exports is None else tuple(exports), binder.member_bindings())


def site_kinds(refs: Iterable[Ref]) -> dict[str, int]:
    """How many sites of each kind (for tests and the benchmark)."""
    counts = dict.fromkeys(REF_KINDS, 0)
    for ref in refs:
        counts[ref.kind] += 1
    return counts
