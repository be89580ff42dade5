"""The shape of `rpc.discover`'s answer: the part of OpenRPC 1.3.2 the daemon's document uses,
plus its `x-` extensions, as a JSON Schema (the document describes itself like any result)."""

from __future__ import annotations

from typing import Any

from aegisd.rpc.schemas import FREE_FORM_KEY

_TEXT = {"type": "string"}
_JSON_SCHEMA = {"type": "object", "description": "A JSON Schema (draft 7).", FREE_FORM_KEY: True}
_CONTENT_DESCRIPTOR = {
    "type": "object",
    "required": ["name", "schema"],
    "properties": {
        "name": _TEXT,
        "description": _TEXT,
        "required": {"type": "boolean"},
        "schema": _JSON_SCHEMA,
    },
}
_EXAMPLE = {
    "type": "object",
    "required": ["name", "value"],
    "properties": {"name": _TEXT, "value": {"description": "Any JSON value."}},
}
_EXAMPLE_PAIRING = {
    "type": "object",
    "required": ["name", "params"],
    "properties": {
        "name": _TEXT,
        "summary": _TEXT,
        "params": {"type": "array", "items": _EXAMPLE},
        "result": _EXAMPLE,
    },
}
_ERROR = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "integer", "description": "The JSON-RPC `error.code`."},
        "message": {"type": "string", "description": "The `error.data.code` name."},
    },
}
_RATE_LIMIT = {
    "type": "object",
    "description": "The method's cost class and that class's token bucket per client.",
    "required": ["class"],
    "properties": {
        "class": {"type": "string", "enum": ["read", "write", "heavy"]},
        "enabled": {"type": "boolean"},
        "rate_per_s": {"type": "number", "description": "Tokens added per second."},
        "burst": {"type": "number", "description": "Bucket size: calls allowed at once."},
    },
}
_METHOD = {
    "type": "object",
    "required": ["name", "params", "result"],
    "properties": {
        "name": _TEXT,
        "summary": _TEXT,
        "paramStructure": {"type": "string", "enum": ["by-position", "by-name", "either"]},
        "params": {"type": "array", "items": _CONTENT_DESCRIPTOR},
        "result": _CONTENT_DESCRIPTOR,
        "errors": {"type": "array", "items": _ERROR},
        "examples": {"type": "array", "items": _EXAMPLE_PAIRING},
        "x-rate-limit": _RATE_LIMIT,
    },
}
_NOTIFICATION = {
    "type": "object",
    "description": "A notification pushed to WebSocket subscribers of its name "
    "(`events.subscribe`).",
    "required": ["name", "params"],
    "properties": {
        "name": _TEXT,
        "summary": _TEXT,
        "params": {"type": "array", "items": _CONTENT_DESCRIPTOR},
        "examples": {"type": "array", "items": _EXAMPLE_PAIRING},
    },
}
_ERROR_ROW = {
    "type": "object",
    "required": ["name", "code", "meaning"],
    "properties": {"name": _TEXT, "code": {"type": "integer"}, "meaning": _TEXT},
}
DOCUMENT_PROPERTIES: dict[str, Any] = {
    "openrpc": {"type": "string", "description": "The OpenRPC version the document follows."},
    "info": {
        "type": "object",
        "required": ["title", "version"],
        "properties": {"title": _TEXT, "version": _TEXT, "description": _TEXT},
    },
    "methods": {"type": "array", "items": _METHOD},
    "components": {
        "type": "object",
        "properties": {
            "schemas": {
                "type": "object",
                "description": "Named schemas the others refer to (`$ref`).",
                "additionalProperties": _JSON_SCHEMA,
            }
        },
    },
    "x-notifications": {"type": "array", "items": _NOTIFICATION},
    "x-errors": {
        "type": "array",
        "description": "Every error the daemon answers with.",
        "items": _ERROR_ROW,
    },
}


def document_schema(schema: dict[str, Any]) -> None:
    """`json_schema_extra` of the discover result: the hand-written shape above."""
    schema["properties"] = DOCUMENT_PROPERTIES
    schema["required"] = ["openrpc", "info", "methods", "components"]
    schema["additionalProperties"] = False
