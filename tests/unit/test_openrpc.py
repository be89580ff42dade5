"""rpc.discover validates against the OpenRPC meta-schema and covers the registry."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from aiohttp.test_utils import TestClient
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from tests.conftest import REPO

FIXTURES = REPO / "tests/fixtures/core"
META_SCHEMA = json.loads((FIXTURES / "openrpc-meta-schema.json").read_text())
JSON_SCHEMA_META = json.loads((FIXTURES / "json-schema-tools-meta-schema.json").read_text())
REGISTRY: Registry = Registry().with_resource(
    "https://meta.json-schema.tools", Resource.from_contents(JSON_SCHEMA_META, DRAFT7)
)


async def call(client: TestClient[Any, Any], method: str, params: Any = None) -> Any:
    body: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": 1}
    if params is not None:
        body["params"] = params
    response = await client.post("/rpc", json=body)
    return (await response.json())["result"]


async def test_discover_is_a_valid_openrpc_document(rpc_client: TestClient[Any, Any]) -> None:
    doc = await call(rpc_client, "rpc.discover")
    validator = jsonschema.Draft7Validator(META_SCHEMA, registry=REGISTRY)
    validator.validate(doc)
    broken = {**doc, "methods": [{**doc["methods"][0], "params": [{"schema": {}}]}]}
    assert not validator.is_valid(broken)  # the check can fail: a param without a name
    names = [m["name"] for m in doc["methods"]]
    assert names == sorted(names)
    assert {"daemon.health", "workspace.open", "settings.update", "rpc.discover"} <= set(names)
    update = next(m for m in doc["methods"] if m["name"] == "settings.update")
    params = {p["name"]: p for p in update["params"]}
    assert params["settings"]["required"] is True and params["workspace"]["required"] is False
    assert {e["message"] for e in update["errors"]} == {"INVALID_PARAMS", "NOT_FOUND"}
    assert update["result"]["schema"]["properties"]["clock"]["type"] == "integer"


async def test_every_ref_resolves(rpc_client: TestClient[Any, Any]) -> None:
    doc = await call(rpc_client, "rpc.discover")
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc["methods"])
    for ref in refs:
        name = ref.rsplit("/", 1)[1]
        assert name in doc["components"]["schemas"], ref
