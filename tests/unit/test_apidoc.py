"""docs/api.md is generated from the API document and kept current."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from aegisd.apidoc import REGENERATE, build_document, main, render, type_of
from tests.conftest import REPO

API_MD = REPO / "docs" / "api.md"


def test_docs_api_md_is_current() -> None:
    expected = render(build_document())
    current = API_MD.read_text() if API_MD.exists() else ""
    assert current == expected, (
        f"docs/api.md is out of date: regenerate it with `{REGENERATE}` "
        "(from a git worktree: `PYTHONPATH=.:plugins python -m aegisd.apidoc`) and commit it"
    )


async def test_the_page_documents_what_rpc_discover_serves(
    rpc_client: TestClient[Any, Any],
) -> None:
    response = await rpc_client.post(
        "/rpc", json={"jsonrpc": "2.0", "method": "rpc.discover", "id": 1}
    )
    served = (await response.json())["result"]
    assert served == json.loads(json.dumps(build_document()))


def test_the_page_covers_methods_errors_limits_notifications_and_examples() -> None:
    text = render(build_document())
    assert "### `index.search`" in text and "Cost class: **read** (500/s, burst 1000)." in text
    assert "| `RATE_LIMITED` | -32004 |" in text
    assert "### `files.changed`" in text and '"method": "files.changed"' in text
    assert '"method": "index.search"' in text and "Answer:" in text
    assert "| `query` | string | yes |" in text
    assert "### OutlineNode\n" in text and "### OutlineNode_2" not in text


def test_types_are_short_and_linked() -> None:
    ref = {"$ref": "#/components/schemas/OutlineNode_2"}
    assert type_of({"type": "array", "items": ref}, {"OutlineNode_2": "OutlineNode"}) == (
        "list[[OutlineNode](#outlinenode)]"
    )
    assert type_of({"anyOf": [{"type": "integer"}, {"type": "null"}]}) == "integer \\| null"
    assert type_of({"type": "object", "additionalProperties": {"type": "integer"}}) == (
        "map[string, integer]"
    )


def test_check_mode_names_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "api.md"
    assert main(["--output", str(page)]) == 0
    assert main(["--check", "--output", str(page)]) == 0
    page.write_text(page.read_text() + "edited by hand\n")
    assert main(["--check", "--output", str(page)]) == 1
    assert REGENERATE in capsys.readouterr().err
