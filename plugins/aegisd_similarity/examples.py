"""Examples of the similarity plugin's methods for the API document (run against a small
workspace by `tests/e2e/test_api_examples.py`)."""

from __future__ import annotations

from aegisd.rpc.registry import Example

_SNIPPET = """def total(self, discount=0):
    amount = 0.0
    for price, quantity in self.items.values():
        if quantity <= 0:
            continue
        amount += price * quantity
    return apply_discount(amount, discount)
"""

EXAMPLES: dict[str, tuple[Example, ...]] = {
    "similarity.status": (Example({}),),
    "similarity.report": (
        Example({"paths": ["shop"], "limit": 10}, summary="Clones touching the shop package"),
    ),
    "similarity.check": (
        Example({"code": _SNIPPET, "language": "python"}, summary="Does this snippet exist?"),
        Example({"path": "shop/orders.py"}, name="of a file"),
    ),
}
