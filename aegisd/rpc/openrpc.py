"""`rpc.discover`: an OpenRPC 1.3 document generated from the registry's pydantic models.

Besides what OpenRPC defines, the document carries, as specification extensions:
- `x-rate-limit` on each method: its cost class and that class's token bucket;
- `x-notifications`: what the daemon pushes to WebSocket subscribers, shaped like methods
  without a result (OpenRPC has no place for server-to-client messages);
- `x-errors`: the error table, every `data.code` with its JSON-RPC code and meaning.

Each method's `errors` holds what it declares plus what every method of its kind can return
(INVALID_PARAMS and RATE_LIMITED for all; NOT_FOUND for workspace-scoped ones: the workspace).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from aegisd.rpc.errors import ERROR_CLASSES, ERRORS_BY_NAME
from aegisd.rpc.registry import Example, Notification, RpcMethod, positional_names
from aegisd.rpc.schemas import build_components

if TYPE_CHECKING:
    from aegisd.config import RateLimitsConfig
    from aegisd.rpc.registry import Registry

OPENRPC_VERSION = "1.3.2"
#: returned by any method: its params are validated, and every call takes a rate-limit token
COMMON_ERRORS = ("INVALID_PARAMS", "RATE_LIMITED")
#: returned by any workspace-scoped method: the named workspace is not open
WORKSPACE_ERRORS = ("NOT_FOUND",)

ERROR_MEANINGS = {
    "PARSE_ERROR": "The body is not JSON.",
    "INVALID_REQUEST": "Not a JSON-RPC 2.0 request object (also an empty batch or a body over "
    "the size limit).",
    "METHOD_NOT_FOUND": "Unknown method; `data.suggestions` lists close names.",
    "INVALID_PARAMS": "Params fail validation; `data.errors` lists each field's problem.",
    "INTERNAL_ERROR": "A bug: logged with its traceback, never detailed to the client.",
    "NOT_FOUND": "A workspace, file, run, report, ... that does not exist.",
    "INVALID_PATH": "A path outside the workspace root (after resolving symlinks) or unusable.",
    "CONFLICT": "The request contradicts the current state, e.g. logging to a closed run.",
    "RATE_LIMITED": "Over the client's budget for the method's cost class; "
    "`data.retry_after_ms` says when to retry.",
    "UNAVAILABLE": "A dependency is down (store circuit open, Ollama, a missing tool); "
    "`data.retry_after_ms` when known.",
    "TIMEOUT": "A tool or upstream took longer than its limit.",
    "TOO_LARGE": "A file or result over a limit.",
    "UNSUPPORTED": "Binary file, unknown language, a method the transport cannot serve, ...",
}


def method_errors(spec: RpcMethod) -> list[str]:
    """Every error code name `spec` may answer with, in the error table's order."""
    names = set(spec.errors) | set(COMMON_ERRORS)
    if spec.workspace_scoped:
        names |= set(WORKSPACE_ERRORS)
    return [cls.code_name for cls in ERROR_CLASSES if cls.code_name in names]


def _params(model: type[BaseModel], schema: Mapping[str, Any]) -> list[dict[str, Any]]:
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    params = []
    for name in positional_names(model):
        prop = properties[name]
        entry: dict[str, Any] = {"name": name, "required": name in required, "schema": prop}
        if "description" in prop:
            entry["description"] = prop["description"]
        params.append(entry)
    return params


def _examples(
    model: type[BaseModel], examples: tuple[Example, ...], result_name: str | None
) -> list[dict[str, Any]]:
    order = positional_names(model)
    pairings = []
    for example in examples:
        unknown = set(example.params) - set(order)
        if unknown:
            raise ValueError(f"example {example.name!r} names unknown params {sorted(unknown)}")
        pairing: dict[str, Any] = {
            "name": example.name,
            "params": [
                {"name": name, "value": example.params[name]}
                for name in order
                if name in example.params
            ],
        }
        if example.summary:
            pairing["summary"] = example.summary
        if example.result is not None and result_name is not None:
            pairing["result"] = {"name": result_name, "value": dict(example.result)}
        pairings.append(pairing)
    return pairings


def _rate_limit(cost: str, limits: RateLimitsConfig | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"class": cost}
    if limits is None:
        return entry
    entry["enabled"] = limits.enabled
    bucket = getattr(limits, cost, limits.read)
    entry["rate_per_s"] = bucket.rate
    entry["burst"] = bucket.burst
    return entry


def _notification(note: Notification, schema: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": note.name,
        "summary": note.summary,
        "params": _params(note.params, schema),
        "examples": _examples(note.params, note.examples, None),
    }


def build_openrpc(
    registry: Registry,
    title: str,
    version: str,
    limits: RateLimitsConfig | None = None,
    late: Mapping[str, type[BaseModel]] | None = None,
) -> dict[str, Any]:
    """The OpenRPC document of every registered method and declared notification; `late`
    gives the models of late-bound schemas (`aegisd.rpc.schemas.late_bound`)."""
    methods = list(registry)
    notifications = registry.notifications()
    models: list[type[BaseModel]] = []
    for method in methods:
        models += [method.spec.params, method.result]
    models += [note.params for note in notifications]
    own, components = build_components(models, late)
    entries = []
    for method in methods:
        spec = method.spec
        result_name = method.result.__name__
        entry: dict[str, Any] = {
            "name": spec.name,
            "summary": spec.summary or spec.name,
            "paramStructure": "either",
            "params": _params(spec.params, own[spec.params]),
            "result": {"name": result_name, "schema": own[method.result]},
            "errors": [
                {"code": ERRORS_BY_NAME[name].rpc_code, "message": name}
                for name in method_errors(spec)
            ],
            "examples": _examples(spec.params, spec.examples, result_name),
            "x-rate-limit": _rate_limit(spec.cost, limits),
        }
        entries.append(entry)
    return {
        "openrpc": OPENRPC_VERSION,
        "info": {
            "title": title,
            "version": version,
            "description": "A per-user daemon keeping a live model of each open codebase. "
            "Requests go to POST /rpc or the GET /rpc/ws WebSocket on the daemon's Unix socket.",
        },
        "methods": entries,
        "components": {"schemas": dict(sorted(components.items()))},
        "x-notifications": [_notification(n, own[n.params]) for n in notifications],
        "x-errors": [
            {
                "name": cls.code_name,
                "code": cls.rpc_code,
                "meaning": ERROR_MEANINGS.get(cls.code_name, ""),
            }
            for cls in ERROR_CLASSES
        ],
    }
