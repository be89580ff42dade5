"""`rpc.discover`: an OpenRPC 1.3 document generated from the registry's pydantic models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from aegisd.rpc.errors import ERRORS_BY_NAME

if TYPE_CHECKING:
    from aegisd.rpc.registry import Registry

OPENRPC_VERSION = "1.3.2"
REF = "#/components/schemas/{model}"


def _schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=REF)
    components.update(schema.pop("$defs", {}))
    return schema


def build_openrpc(registry: Registry, title: str, version: str) -> dict[str, Any]:
    components: dict[str, Any] = {}
    methods = []
    for method in registry:
        spec = method.spec
        params_schema = _schema(spec.params, components)
        required = set(params_schema.get("required", []))
        params = [
            {"name": name, "required": name in required, "schema": prop}
            for name, prop in params_schema.get("properties", {}).items()
        ]
        result_schema = _schema(method.result, components)
        errors = [
            {"code": ERRORS_BY_NAME[code].rpc_code, "message": code}
            for code in spec.errors
            if code in ERRORS_BY_NAME
        ]
        entry: dict[str, Any] = {
            "name": spec.name,
            "summary": spec.summary or spec.name,
            "paramStructure": "either",
            "params": params,
            "result": {"name": method.result.__name__, "schema": result_schema},
        }
        if errors:
            entry["errors"] = errors
        methods.append(entry)
    return {
        "openrpc": OPENRPC_VERSION,
        "info": {"title": title, "version": version},
        "methods": methods,
        "components": {"schemas": components},
    }
