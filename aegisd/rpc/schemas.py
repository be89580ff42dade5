"""JSON Schemas for the API document, from the registry's pydantic models.

All params and result models go through one `models_json_schema` call, so two plugins' models
of the same name get distinct component names instead of one silently replacing the other.
Two markers a model field may carry in `json_schema_extra`:

- `FREE_FORM`: the value is whatever the client stored (an audit payload, a JSON Schema), so
  the object has no properties to list; the document says so instead of looking unfinished.
- `late_bound(name)`: the shape is only known at run time (the settings object, which every
  plugin extends); the document refers to `components.schemas[name]`, given when it is built.

Recursive schemas are unrolled to `MAX_NESTING` levels: JSON Schema allows a schema to refer
to itself, but common tooling does not cope (`@open-rpc/schema-utils-js` ran out of memory
dereferencing the code map's recursive outline node).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

REF_PREFIX = "#/components/schemas/"
FREE_FORM_KEY = "x-free-form"
LATE_BOUND_KEY = "x-schema"
#: on the unrolled levels of a recursive schema: the component they repeat
RECURSION_KEY = "x-recursion-of"
FREE_FORM: dict[str, Any] = {FREE_FORM_KEY: True}
#: levels of a recursive schema spelled out (an outline node's children's children ...)
MAX_NESTING = 8


def late_bound(name: str) -> dict[str, Any]:
    """`json_schema_extra` of a field whose schema is `components.schemas[name]`, known only
    when the document is built (`build_components(..., late=...)`)."""
    return {LATE_BOUND_KEY: name}


def build_components(
    models: Iterable[type[BaseModel]], late: Mapping[str, type[BaseModel]] | None = None
) -> tuple[dict[type[BaseModel], dict[str, Any]], dict[str, Any]]:
    """Each model's own schema (with refs into the components) and the components.

    Top-level models are inlined by the caller, so they stay out of the components unless
    another schema refers to them.
    """
    late = dict(late or {})
    unique = list(dict.fromkeys([*models, *late.values()]))
    keys, generated = models_json_schema(
        [(model, "validation") for model in unique], ref_template=REF_PREFIX + "{model}"
    )
    components: dict[str, Any] = generated.get("$defs", {})
    late_refs = {name: keys[(model, "validation")]["$ref"] for name, model in late.items()}
    components = {name: _bind(schema, late_refs) for name, schema in components.items()}
    own: dict[type[BaseModel], dict[str, Any]] = {}
    for model in unique:
        name = _ref_name(keys[(model, "validation")]["$ref"])
        own[model] = components[name]
    referenced = _referenced(components, skip={_ref_name(r) for r in late_refs.values()})
    for model in unique:
        name = _ref_name(keys[(model, "validation")]["$ref"])
        if model not in late.values() and name not in referenced:
            components.pop(name, None)  # models of one schema share a name
    unroll_recursion(components)
    return own, components


def _ref_name(ref: str) -> str:
    return ref[len(REF_PREFIX) :]


def _bind(node: Any, late_refs: Mapping[str, str]) -> Any:
    """`node` with each late-bound field replaced by a ref to its component."""
    if isinstance(node, list):
        return [_bind(item, late_refs) for item in node]
    if not isinstance(node, dict):
        return node
    name = node.get(LATE_BOUND_KEY)
    if isinstance(name, str) and name in late_refs:
        bound: dict[str, Any] = {"$ref": late_refs[name]}
        if "description" in node:
            bound["description"] = node["description"]
        return bound
    return {key: _bind(value, late_refs) for key, value in node.items()}


def refs_in(node: Any) -> set[str]:
    """Names of the components `node` refers to."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and ref.startswith(REF_PREFIX):
                found.add(_ref_name(ref))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _referenced(components: Mapping[str, Any], skip: set[str]) -> set[str]:
    """Components some other component (or a late-bound one) refers to."""
    found: set[str] = set(skip)
    for name, schema in components.items():
        found |= refs_in(schema) - {name}
    return found


def _cyclic(components: Mapping[str, Any]) -> set[str]:
    """Components that can reach themselves through refs."""
    graph = {name: refs_in(schema) & set(components) for name, schema in components.items()}
    cyclic: set[str] = set()
    for start in graph:
        seen: set[str] = set()
        stack = list(graph[start])
        while stack:
            name = stack.pop()
            if name == start:
                cyclic.add(start)
                break
            if name not in seen:
                seen.add(name)
                stack.extend(graph[name])
    return cyclic


def unroll_recursion(components: dict[str, Any], depth: int = MAX_NESTING) -> None:
    """Make recursive components finite, in place: `Node` keeps its name as level 1, and its
    refs to recursive components lead to copies named `Node_2` ... `Node_<depth>`; the last
    level's refs become an open schema saying the shape repeats."""
    cyclic = _cyclic(components)
    if not cyclic:
        return
    originals = {name: components[name] for name in cyclic}

    def level(node: Any, at: int) -> Any:
        if isinstance(node, list):
            return [level(item, at) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and _ref_name(ref) in cyclic:
            target = _ref_name(ref)
            if at >= depth:
                return {
                    "description": f"Nested deeper than {depth} levels: the shape of {target} "
                    "repeats (not spelled out, for tools that cannot follow recursive schemas)."
                }
            return {**node, "$ref": f"{REF_PREFIX}{target}_{at + 1}"}
        return {key: level(value, at) for key, value in node.items()}

    for name, schema in originals.items():
        components[name] = level(copy.deepcopy(schema), 1)
        for at in range(2, depth + 1):
            copied = level(copy.deepcopy(schema), at)
            if isinstance(copied, dict):
                copied[RECURSION_KEY] = name
                if "title" in copied:
                    copied["title"] = f"{copied['title']} (level {at})"
            components[f"{name}_{at}"] = copied
