"""What `jsbind` reads from a module's imports and exports: ES ``import``/``export`` (default,
named, aliased, namespace, re-exports, ``export *``, TS ``export =``) and CommonJS
(``module.exports =``, ``exports.f =``)."""

from __future__ import annotations

from tree_sitter import Node

from aegisd_codemap.jsscope import BAD, IMPORT, JsScope, Push, pattern_names, string_value, unwrap
from aegisd_codemap.jsvalues import Bindings
from aegisd_codemap.sites import IMPORT as IMPORT_KIND
from aegisd_codemap.sites import READ
from aegisd_codemap.treesitter import text


class ModuleBindings(Bindings):
    """Imports declared in the module's scope, export entries, CommonJS assignments."""

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
                self.exports.append((key_of(part), "head", f"g:{self.defined[part.id]}"))
            elif part.type == "pair":
                value = part.child_by_field_name("value")
                if value is not None:
                    self.exports.append((key_of(part), "value", value))

    def _import(self, node: Node, scope: JsScope, kind: str, push: Push) -> None:
        spec = string_value(node.child_by_field_name("source"))
        for clause in node.named_children:
            if clause.type == "import_require_clause":
                spec = string_value(clause.child_by_field_name("source"))
        if spec is None or any(c in spec for c in BAD):
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

    def _export(self, node: Node, scope: JsScope, kind: str, push: Push) -> None:
        spec = string_value(node.child_by_field_name("source"))
        default = any(c.type == "default" for c in node.children)
        if spec is not None and any(c in spec for c in BAD):
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
            for local in declared(declaration, self.defined):
                self.exports.append(("default" if default else local, "local", local))
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


def key_of(node: Node) -> str:
    key = node.child_by_field_name("key") or node.child_by_field_name("name")
    name = text(key)
    return name[1:-1] if key is not None and key.type == "string" else name


def declared(declaration: Node, defined: dict[int, str]) -> list[str]:
    """The names an exported declaration declares."""
    if declaration.type == "ambient_declaration":  # `export declare function f(): T;`
        return [n for part in declaration.named_children for n in declared(part, defined)]
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
