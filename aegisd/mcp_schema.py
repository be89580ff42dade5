"""Tool input schemas from the daemon's OpenRPC document (`rpc.discover`).

The document holds each method's params as pydantic generated them, with `$ref`s into
`components.schemas`. A tool schema must stand alone and be cheap to send to a model, so refs are
inlined, `title`s dropped (they repeat the property names) and `X | None = None` becomes an
optional `X`: leaving an argument out means the same as sending null.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from aegisd.rpc.registry import INT64_MAX, INT64_MIN
from aegisd.rpc.schemas import RECURSION_KEY

REF_PREFIX = "#/components/schemas/"
# Keywords whose value is one schema, a list of schemas, or a mapping of names to schemas.
_ONE = ("items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else")
_MANY = ("anyOf", "oneOf", "allOf", "prefixItems")
_NAMED = ("properties", "patternProperties", "dependentSchemas")
# Dropped: titles repeat names; OpenAPI's discriminator names refs that no longer exist; the
# document's own extensions mean nothing to a model.
_DROPPED = ("title", "discriminator", RECURSION_KEY)


def _inline(node: Any, components: Mapping[str, Any], seen: tuple[str, ...]) -> Any:
    """`node` with refs replaced by copies of their targets (a recursive ref becomes `{}`: the
    document unrolls recursive schemas, and a level repeating one already inlined counts)."""
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(REF_PREFIX):
        name = ref[len(REF_PREFIX) :]
        target = components.get(name)
        repeats = target.get(RECURSION_KEY) if isinstance(target, dict) else None
        if target is not None and name not in seen and repeats not in seen:
            out.update(_inline(target, components, (*seen, name)))
    for key, value in node.items():
        if key == "$ref" or key in _DROPPED or _default_bound(key, value):
            continue
        if key in _ONE:
            out[key] = _inline(value, components, seen)
        elif key in _MANY and isinstance(value, list):
            out[key] = [_inline(v, components, seen) for v in value]
        elif key in _NAMED and isinstance(value, dict):
            out[key] = {k: _inline(v, components, seen) for k, v in value.items()}
        else:
            out[key] = value
    return _unwrap_optional(out)


def _default_bound(key: str, value: Any) -> bool:
    """The 64-bit bounds every integer param has (`aegisd.rpc.registry.Int64Model`): true of
    any integer an agent would send, so not worth its tokens."""
    return (key == "maximum" and value == INT64_MAX) or (key == "minimum" and value == INT64_MIN)


def _unwrap_optional(node: dict[str, Any]) -> dict[str, Any]:
    """`{"anyOf": [X, {"type": "null"}], "default": null}` as plain `X`."""
    branches = node.get("anyOf")
    if "default" not in node or node["default"] is not None or not isinstance(branches, list):
        return node
    kept = [b for b in branches if b != {"type": "null"}]
    if len(kept) != 1 or len(branches) != 2:
        return node
    rest = {k: v for k, v in node.items() if k not in ("anyOf", "default")}
    return {**kept[0], **rest}


def input_schema(
    method: Mapping[str, Any],
    components: Mapping[str, Any],
    *,
    fields: Collection[str] | None = None,
    optional: Collection[str] = (),
    descriptions: Mapping[str, str] | None = None,
    extra: Mapping[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A self-contained JSON Schema for the params of one OpenRPC `method` entry.

    `fields` limits the properties (None: all), `optional` names required params the caller
    fills in itself, `descriptions` replaces property descriptions and `extra` adds properties
    that are the tool's own. Params models forbid unknown keys, so the schema does too.
    """
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in method.get("params", []):
        name = param["name"]
        if fields is not None and name not in fields:
            continue
        prop = _inline(param.get("schema", {}), components, ())
        if descriptions and name in descriptions:
            prop["description"] = descriptions[name]
        properties[name] = prop
        if param.get("required") and name not in optional:
            required.append(name)
    properties.update(extra or {})
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    return schema
