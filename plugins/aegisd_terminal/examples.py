"""Examples of each `terminal.*` method for the API document (run by the tests: the id
`term-example` stands for the session the terminal.open example starts)."""

from __future__ import annotations

from aegisd.rpc.registry import EXAMPLE_ROOT, Example

SESSION = "term-example"

EXAMPLES: dict[str, list[Example]] = {
    "terminal.open": [
        Example(
            {"workspace": EXAMPLE_ROOT, "argv": ["cat"], "cols": 100, "rows": 30},
            summary="Start cat on a 100x30 PTY in the workspace root",
        ),
    ],
    "terminal.input": [Example({"id": SESSION, "data": "echo hi\r"})],
    "terminal.resize": [Example({"id": SESSION, "cols": 120, "rows": 40})],
    "terminal.attach": [Example({"id": SESSION, "since_seq": 0})],
    "terminal.list": [Example({})],
    "terminal.recording": [Example({"id": SESSION})],
    "terminal.close": [Example({"id": SESSION})],
}
