"""Text renderings of MCP tool results."""

from __future__ import annotations

from aegisd import mcp_render as render


def test_freshness_says_when_to_distrust_a_result() -> None:
    assert render.freshness({"clock": 7, "pending": False}) == "[clock 7, fresh]"
    assert render.freshness({"clock": 8, "pending": True}).startswith("[clock 8, PENDING")
    assert render.freshness({"id": 1}) == ""
    text = render.generic({"clock": 3, "pending": True, "issues": [1]}, {})
    assert text.splitlines()[1] == '{"issues":[1]}' and "PENDING" in text.splitlines()[0]


def test_clip_says_how_much_was_left_out() -> None:
    assert render.clip("abc", 5) == "abc"
    assert render.clip("abcdefgh", 5) == "abcde\n[... 3 more characters: narrow the request]"


def test_error_lists_field_errors_and_details() -> None:
    data = {
        "code": "INVALID_PARAMS",
        "timestamp": "t",
        "method": "index.search",
        "request_id": "r",
        "errors": [{"loc": ["params", "limit"], "msg": "too small", "type": "x"}],
        "retry_after_ms": 50,
    }
    assert render.error("INVALID_PARAMS", "Invalid params", data) == (
        "INVALID_PARAMS: Invalid params\n- limit: too small\n(retry_after_ms=50)"
    )


def test_cycles_render_their_path_of_imports() -> None:
    result = {
        "clock": 3,
        "pending": False,
        "cycles": [["a.py", "b.py", "c.py"], ["x.py", "y.py"]],
        "cycle_paths": [
            [
                {"source": "a.py", "target": "b.py", "line": 2},
                {"source": "b.py", "target": "a.py", "line": 7},
            ],
            [],
        ],
    }
    assert render.cycles(result, {}).splitlines() == [
        "2 import cycles (file:line imports the next file) [clock 3, fresh]",
        "a.py:2 -> b.py:7 -> a.py (and 1 more files in this cycle)",
        "x.py <-> y.py",
    ]
