"""Examples of the insights plugin's methods for the API document (run against a small
workspace by `tests/e2e/test_api_examples.py`)."""

from __future__ import annotations

from aegisd.rpc.registry import Example

EXAMPLES: dict[str, tuple[Example, ...]] = {
    "insights.list": (Example({"limit": 20}),),
    "insights.stage": (Example({}),),
    "insights.ollama_status": (Example({}),),
    "insights.generate": (
        Example({"focus": "refactors"}, summary="Advice from the local model (cost class heavy)"),
    ),
}
