"""Examples of the linters' methods for the API document (run against a small workspace by
`tests/e2e/test_api_examples.py`)."""

from __future__ import annotations

from aegisd.rpc.registry import Example

EXAMPLES: dict[str, tuple[Example, ...]] = {
    "lint.tools": (Example({}, summary="Which tools run, their versions"),),
    "lint.run": (
        Example(
            {"tools": ["ruff"], "paths": ["shop/cart.py"]},
            summary="Lint one file with one tool now (cached results are reused)",
        ),
    ),
    "lint.report": (
        Example({"path": "shop/cart.py"}, summary="The current issues of one file"),
        Example({"min_severity": "medium"}, name="worst issues"),
    ),
    "lint.history": (Example({"limit": 5}),),
}
