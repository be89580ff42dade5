"""JSON columns: a value too deep to read back, or too large, is refused before it is written;
one stored before that rule is served cut rather than failing every read."""

from __future__ import annotations

import pytest

from aegisd.rpc.errors import InvalidParams, TooLarge
from aegisd.store.jsonfield import MAX_DEPTH, dumps, json_depth, loads_readable


def nested(depth: int) -> list[object]:
    value: list[object] = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_json_columns_are_checked_for_depth_and_size() -> None:
    assert json_depth(None) == 0 and json_depth({"a": [1]}) == 2
    assert json_depth(nested(100_000)) == MAX_DEPTH + 1  # stops counting, no recursion
    assert dumps(nested(MAX_DEPTH), "x") == "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert dumps(["[[[[" * 100], "x") == '["' + "[[[[" * 100 + '"]'  # brackets in strings
    with pytest.raises(InvalidParams, match=r"params\.payload is nested more than 64 levels"):
        dumps(nested(MAX_DEPTH + 1), "params.payload")
    with pytest.raises(InvalidParams):
        dumps(nested(100_000), "params.payload")  # past json's own recursion limit
    with pytest.raises(TooLarge):
        dumps({"a": "é" * 600}, "settings", max_bytes=1000, ensure_ascii=False)
    assert dumps({"a": "é" * 400}, "settings", max_bytes=1000, ensure_ascii=False)


def test_a_value_stored_before_depths_were_checked_is_served_cut() -> None:
    deep = "[" * 300 + "]" * 300
    value, readable = loads_readable(deep)
    assert not readable and value == {"truncated_json": deep, "original_bytes": 600}
    very_deep = "[" * 100_000 + "]" * 100_000
    assert not loads_readable(very_deep)[1]
    assert loads_readable('{"a": [1, 2]}') == ({"a": [1, 2]}, True)
