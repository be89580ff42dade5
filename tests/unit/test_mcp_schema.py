"""MCP tool schemas from the OpenRPC document the registry generates."""

from __future__ import annotations

import json
from typing import Any, Literal

from jsonschema import Draft202012Validator
from pydantic import BaseModel, Field

from aegisd.mcp_schema import input_schema
from aegisd.mcp_tools import TOOLS, available_tools
from aegisd.rpc.openrpc import build_openrpc
from aegisd.rpc.registry import Registry, Result, RpcMethod, WorkspaceParams


class Span(BaseModel):
    start: int = Field(ge=1)
    end: int | None = None


class Tree(BaseModel):
    name: str
    children: list[Tree] = Field(default_factory=list)


class ProbeParams(WorkspaceParams):
    path: str = Field(description="A file")
    span: Span | None = None
    tree: Tree | None = None
    mode: Literal["fast", "full"] = "fast"
    since: int | str = 0


class ProbeResult(Result):
    ok: bool


async def probe(params: ProbeParams, ctx: Any) -> ProbeResult:
    return ProbeResult(ok=True)


def discover(*names: str) -> dict[str, Any]:
    registry = Registry()
    for name in names:
        registry.add(RpcMethod(name, ProbeParams, probe), "test")
    return build_openrpc(registry, "aegisd", "0")


def test_schema_is_self_contained_valid_and_compact() -> None:
    doc = discover("probe.run")
    schema = input_schema(doc["methods"][0], doc["components"]["schemas"])
    Draft202012Validator.check_schema(schema)
    assert "$ref" not in json.dumps(schema) and '"title"' not in json.dumps(schema)
    props = schema["properties"]
    assert schema["required"] == ["path"] and schema["additionalProperties"] is False
    # `Span | None = None` is an optional Span, inlined.
    assert props["span"]["type"] == "object"
    assert props["span"]["properties"]["start"] == {"minimum": 1, "type": "integer"}
    assert props["span"]["properties"]["end"] == {"type": "integer"}
    # A recursive model is inlined once; the recursion point accepts anything.
    assert props["tree"]["properties"]["children"]["items"] == {}
    assert props["mode"] == {"default": "fast", "enum": ["fast", "full"], "type": "string"}
    assert props["since"]["anyOf"] == [{"type": "integer"}, {"type": "string"}]
    validator = Draft202012Validator(schema)
    assert validator.is_valid({"path": "a.py", "span": {"start": 2}, "tree": {"name": "x"}})
    assert not validator.is_valid({"path": "a.py", "span": {"start": 0}})
    assert not validator.is_valid({"path": "a.py", "typo": 1})


def test_fields_optional_descriptions_and_extra() -> None:
    doc = discover("probe.run")
    schema = input_schema(
        doc["methods"][0],
        doc["components"]["schemas"],
        fields=("workspace", "path"),
        optional=("path",),
        descriptions={"path": "Which file"},
        extra={"run": {"type": "boolean"}},
    )
    assert schema == {
        "type": "object",
        "properties": {
            "workspace": {
                "type": "string",
                "description": "Workspace root path or id; may be omitted when exactly one "
                "workspace is open.",
            },
            "path": {"type": "string", "description": "Which file"},
            "run": {"type": "boolean"},
        },
        "additionalProperties": False,
    }


def test_tools_light_up_with_their_methods() -> None:
    assert len(TOOLS) <= 15
    assert available_tools(discover("daemon.health")) == []
    tools = available_tools(discover("index.search", "lint.report", "graph.imports"))
    assert [t.name for t in tools] == ["search_symbols", "import_cycles", "lint"]
    # lint's own `run` flag needs lint.run; import_cycles exposes only workspace and path.
    assert "run" not in tools[2].schema["properties"]
    assert list(tools[1].schema["properties"]) == ["path", "workspace"]  # required first
    with_run = available_tools(discover("lint.report", "lint.run"))[0]
    assert with_run.schema["properties"]["run"]["type"] == "boolean"
    workspace = tools[0].schema["properties"]["workspace"]["description"]
    assert workspace.endswith("(default: the project this server runs in)")
