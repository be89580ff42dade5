"""Shared by the tests that hold the API document to what the daemon does: the example
workspace, schema validation against the document, and walking params by type."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema

from aegisd.rpc.registry import EXAMPLE_ROOT
from tests.conftest import TESTS, DaemonProcess

SHOP = TESTS / "fixtures" / "core" / "shop"


def copy_shop(tmp: Path) -> Path:
    """A fresh copy of the example workspace (`tests/fixtures/core/shop`)."""
    root = tmp / "shop"
    shutil.copytree(SHOP, root)
    return root


def substitute(value: Any, root: Path) -> Any:
    """An example's params with the documented root replaced by the real one."""
    text = json.dumps(value).replace(EXAMPLE_ROOT, str(root))
    return json.loads(text)


def closed(node: Any) -> Any:
    """A copy of a schema where objects listing properties admit no others: a documented
    example must not show a key the schema does not describe."""
    if isinstance(node, list):
        return [closed(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: closed(value) for key, value in node.items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def validator(
    doc: dict[str, Any], schema: dict[str, Any], strict: bool = False
) -> jsonschema.Draft7Validator:
    """Validates against `schema`, its refs resolved in the document's components."""
    full = {**schema, "components": doc["components"]}
    return jsonschema.Draft7Validator(closed(full) if strict else full)


def schema_errors(
    doc: dict[str, Any], schema: dict[str, Any], value: Any, strict: bool = False
) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}"
        for e in validator(doc, schema, strict).iter_errors(value)
    ]


def methods(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in doc["methods"]}


def example_params(method: dict[str, Any], root: Path) -> dict[str, Any]:
    """The first example's params by name (root substituted), or {}."""
    for example in method.get("examples", []):
        return substitute({p["name"]: p["value"] for p in example["params"]}, root)  # type: ignore[no-any-return]
    return {}


def accepts(schema: dict[str, Any], kind: str, doc: dict[str, Any]) -> bool:
    """Whether `schema` (a param's) admits a JSON value of `kind` ("integer", "string", ...)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return accepts(doc["components"]["schemas"][name], kind, doc)
    if "anyOf" in schema:
        return any(accepts(branch, kind, doc) for branch in schema["anyOf"])
    declared = schema.get("type")
    kinds = declared if isinstance(declared, list) else [declared]
    return kind in kinds


def wait_until_ready(d: DaemonProcess, timeout: float = 60) -> None:
    """The code map and the clone index have taken in the whole workspace."""
    deadline = time.monotonic() + timeout
    while True:
        index = d.call("index.status")
        clones = d.call("similarity.status")
        if index["ready"] and not index["pending"] and clones["ready"]:
            return
        assert time.monotonic() < deadline, (index, clones)
        time.sleep(0.1)


def walk_objects(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema object under `node`, with where it is; free-form parts are skipped."""
    if isinstance(node, dict):
        if node.get("x-free-form"):
            return
        yield path, node
        for key, value in node.items():
            yield from walk_objects(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk_objects(value, f"{path}/{index}")
