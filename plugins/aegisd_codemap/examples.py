"""Examples of the code map's methods for the API document (run against a small workspace by
`tests/e2e/test_api_examples.py`)."""

from __future__ import annotations

from aegisd.rpc.registry import Example

EXAMPLES: dict[str, tuple[Example, ...]] = {
    "index.status": (Example({}),),
    "index.tree": (Example({"depth": 2}, summary="The root's files and directories, two levels"),),
    "index.file": (Example({"path": "shop/cart.py"}, summary="Outline, errors and metrics"),),
    "index.search": (
        Example(
            {"query": "apply_disc", "limit": 5},
            summary="Definitions whose name matches, best first",
            result={
                "clock": 42,
                "pending": False,
                "hits": [
                    {
                        "name": "apply_discount",
                        "qualname": "apply_discount",
                        "kind": "function",
                        "path": "shop/pricing.py",
                        "line": 4,
                        "end_line": 8,
                        "score": 0.8,
                        "match": "prefix",
                        "signature": "(amount: float, percent: float) -> float",
                    }
                ],
            },
        ),
        Example({"query": "Cart", "kind": "class"}, name="by kind"),
        Example(
            {"query": "shop.pricing.apply_discount"},
            name="module-qualified",
            summary="A module path and a name in it",
        ),
    ),
    "index.preview": (
        Example(
            {"path": "shop/pricing.py", "start_line": 4, "end_line": 5},
            summary="Lines 4-5 of a file",
        ),
    ),
    "index.rebuild": (Example({}, summary="Parse every file again"),),
    "graph.imports": (
        Example({}, summary="Every import edge, and cycles of imports that run as modules load"),
        Example(
            {"cycle_kinds": ["top_level", "conditional", "deferred"]},
            name="every kind",
            summary="Cycles through imports under if/try and inside functions too",
        ),
    ),
    "graph.dependents": (
        Example({"path": "shop/pricing.py", "transitive": True}, summary="Who imports it"),
        Example(
            {"path": "shop/pricing.py", "symbol": "apply_discount"},
            name="symbol",
            summary="Who references one of its definitions",
        ),
    ),
    "index.symbol_at": (
        Example({"path": "shop/cart.py", "line": 14}, summary="The method spanning line 14"),
    ),
    "index.definition": (
        Example(
            {"path": "shop/cart.py", "line": 22, "column": 16},
            summary="Where the function called there is defined (through its import)",
        ),
    ),
    "index.references": (
        Example({"name": "apply_discount"}, summary="Every use of a function, resolved"),
        Example(
            {"path": "shop/pricing.py", "line": 4, "column": 5},
            name="by position",
            summary="The name at a position (here its definition)",
        ),
        Example(
            {"name": "Cart.total", "include_overrides": True},
            name="with overrides",
            summary="A method's uses and the methods overriding it in subclasses (kind inherit)",
        ),
    ),
    "graph.calls": (
        Example({"name": "Order.total"}, summary="What a method calls, three levels deep"),
        Example(
            {"name": "apply_discount", "direction": "callers"},
            name="callers",
            summary="Who calls a function",
        ),
    ),
    "graph.classes": (Example({}),),
}
