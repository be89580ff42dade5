"""rpc.discover validates against the OpenRPC meta-schema and covers the registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
from aiohttp.test_utils import TestClient
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from aegisd import hookimpl
from aegisd.daemon import Daemon
from aegisd.events import OVERFLOW, TOPICS
from aegisd.rpc.openrpc import build_openrpc
from aegisd.rpc.registry import (
    Example,
    Notification,
    NotificationParams,
    WorkspaceParams,
    positional_names,
)
from aegisd.rpc.schemas import refs_in, unroll_recursion
from tests.conftest import REPO, make_config

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
    # Declared, plus what every method (INVALID_PARAMS, RATE_LIMITED) or every
    # workspace-scoped one (NOT_FOUND) can answer.
    assert {e["message"] for e in update["errors"]} == {
        "INVALID_PARAMS",
        "NOT_FOUND",
        "RATE_LIMITED",
    }
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


async def test_hook_aegisd_notifications(tmp_path: Path) -> None:
    class Pinger:
        @hookimpl
        def aegisd_notifications(self) -> list[Notification]:
            """One notification of a third-party plugin."""
            return [Notification("ping.sent", PingParams, "A ping", (Example({"count": 2}),))]

    daemon = Daemon(make_config(tmp_path))
    daemon.host.register(Pinger(), "pinger")
    await daemon.start()
    try:
        doc = build_openrpc(daemon.registry, "aegisd", "0")
        notes = {n["name"]: n for n in doc["x-notifications"]}
        assert notes["ping.sent"]["params"][0]["name"] == "count"
        assert notes["ping.sent"]["examples"][0]["params"] == [{"name": "count", "value": 2}]
        # Every topic a client may subscribe to is described, and so is the overflow notice.
        assert {*TOPICS, OVERFLOW} <= set(notes)
        for note in doc["x-notifications"]:
            schema = {
                "type": "object",
                "properties": {p["name"]: p["schema"] for p in note["params"]},
                "required": [p["name"] for p in note["params"] if p["required"]],
                "additionalProperties": False,
                "components": doc["components"],
            }
            for example in note["examples"]:
                value = {p["name"]: p["value"] for p in example["params"]}
                jsonschema.validate(value, schema)
        # A blocked plugin's notifications leave with its methods.
        daemon.registry.remove_plugin("pinger")
        assert "ping.sent" not in {n.name for n in daemon.registry.notifications()}
    finally:
        await daemon.stop()


class PingParams(NotificationParams):
    count: int


def test_recursive_schemas_are_unrolled_for_tools_that_cannot_follow_them() -> None:
    components = {
        "Node": {
            "type": "object",
            "properties": {
                "kids": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}
            },
        }
    }
    unroll_recursion(components, depth=3)
    assert set(components) == {"Node", "Node_2", "Node_3"}
    assert components["Node"]["properties"]["kids"]["items"] == {
        "$ref": "#/components/schemas/Node_2"
    }
    assert "$ref" not in json.dumps(components["Node_3"])
    assert not refs_in(components["Node_3"]) and components["Node_3"]["x-recursion-of"] == "Node"
    deep = {"kids": [{"kids": [{"kids": [{"kids": []}]}]}]}
    assert jsonschema.Draft7Validator(
        {"$ref": "#/components/schemas/Node", "components": {"schemas": components}}
    ).is_valid(deep)


def test_params_are_listed_required_first_and_taken_so_by_position() -> None:
    class SearchParams(WorkspaceParams):
        query: str
        limit: int = 5

    assert positional_names(SearchParams) == ("query", "workspace", "limit")
