"""The API document (`rpc.discover`) tells the truth about a live daemon with every plugin:
the errors a method answers with are the ones it declares, results are described down to their
fields, params are listed as OpenRPC requires, and positional params follow that order."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DaemonProcess, start_daemon
from tests.e2e.apidoc_support import (
    accepts,
    copy_shop,
    example_params,
    methods,
    wait_until_ready,
    walk_objects,
)

OUTSIDE = "../../outside.py"
MISSING = "no/such/file.py"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DaemonProcess, Path]]:
    tmp = tmp_path_factory.mktemp("api-document")
    root = copy_shop(tmp)
    d = start_daemon(tmp, "--root", str(root), env={"AEGISD_RATE_LIMITS__ENABLED": "false"})
    wait_until_ready(d)
    yield d, root
    d.stop(signal.SIGKILL)


def bad_values(param: dict[str, Any], doc: dict[str, Any]) -> list[Any]:
    """Values of the right JSON type that name nothing real, or point outside the root."""
    name = param["name"]
    if name == "workspace":
        return ["/no/such/workspace", "nosuchid"]
    values: list[Any] = []
    if accepts(param["schema"], "string", doc):
        values += [OUTSIDE, MISSING, ""]
    if accepts(param["schema"], "array", doc):
        values += [[OUTSIDE], [MISSING], []]
    if accepts(param["schema"], "integer", doc):
        values += [0, -1, 999_999]
    return values


def test_every_error_a_method_answers_with_is_declared(shop: tuple[DaemonProcess, Path]) -> None:
    d, root = shop
    doc = d.call("rpc.discover")
    undeclared: set[str] = set()
    seen: dict[str, set[str]] = {}
    for method in doc["methods"]:
        name = method["name"]
        declared = {e["message"] for e in method["errors"]}
        base = {} if name == "daemon.shutdown" else example_params(method, root)
        calls = [{**base, "no_such_param": 1}]
        if name != "daemon.shutdown":
            for param in method["params"]:
                calls += [{**base, param["name"]: value} for value in bad_values(param, doc)]
        for params in calls:
            message = {"jsonrpc": "2.0", "method": name, "params": params, "id": 1}
            _, answer, _ = d.post(json.dumps(message))
            if "error" not in answer:
                continue
            code = answer["error"]["data"]["code"]
            seen.setdefault(name, set()).add(code)
            if code not in declared:
                undeclared.add(f"{name} {json.dumps(params)[:120]} -> {code} ({declared})")
    assert not undeclared, "\n".join(sorted(undeclared))
    # The check can fail: these answer with errors beyond INVALID_PARAMS.
    assert "NOT_FOUND" in seen["index.search"] and "INVALID_PATH" in seen["index.file"]
    assert "NOT_FOUND" in seen["audit.get_run"]


def test_results_are_described_down_to_their_fields(shop: tuple[DaemonProcess, Path]) -> None:
    d, _ = shop
    doc = d.call("rpc.discover")
    bare = []
    schemas = {f"{m['name']} result": m["result"]["schema"] for m in doc["methods"]}
    schemas.update({f"components {k}": v for k, v in doc["components"]["schemas"].items()})
    for where, schema in schemas.items():
        for path, node in walk_objects(schema):
            typed_map = isinstance(node.get("additionalProperties"), dict)
            if node.get("type") == "object" and not node.get("properties") and not typed_map:
                bare.append(f"{where}{path}")
    assert not bare, "objects with no properties:\n" + "\n".join(bare)


def test_params_are_listed_required_first_and_taken_so_by_position(
    shop: tuple[DaemonProcess, Path],
) -> None:
    d, _ = shop
    doc = d.call("rpc.discover")
    for method in doc["methods"]:
        flags = [p["required"] for p in method["params"]]
        assert flags == sorted(flags, reverse=True), method["name"]
    assert [p["name"] for p in methods(doc)["index.file"]["params"]] == ["path", "workspace"]
    message = {"jsonrpc": "2.0", "method": "index.file", "params": ["shop/cart.py"], "id": 1}
    _, answer, _ = d.post(json.dumps(message))
    assert answer["result"]["path"] == "shop/cart.py"


def test_methods_carry_their_rate_limit_and_the_document_its_notifications(
    shop: tuple[DaemonProcess, Path],
) -> None:
    d, _ = shop
    doc = d.call("rpc.discover")
    by_name = methods(doc)
    assert by_name["lint.run"]["x-rate-limit"] == {
        "class": "heavy",
        "enabled": False,  # this daemon runs unlimited
        "rate_per_s": 0.5,
        "burst": 3.0,
    }
    assert by_name["index.search"]["x-rate-limit"]["class"] == "read"
    notes = {n["name"] for n in doc["x-notifications"]}
    assert {"files.changed", "index.updated", "lint.updated", "progress"} <= notes
    assert all(m["examples"] for m in doc["methods"])
