import json

import pytest
from aegisd_audit.limits import (
    DETAIL_MAX_BYTES,
    PAYLOAD_MAX_BYTES,
    TITLE_MAX_CHARS,
    TitleTooLongError,
    cap_detail,
    cap_payload,
    cap_text,
    check_title,
)


def _size(value: object) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def test_title_over_200_characters_is_an_error_not_a_cut() -> None:
    assert TITLE_MAX_CHARS == 200
    assert check_title("é" * 200) == "é" * 200
    with pytest.raises(TitleTooLongError, match="201 characters"):
        check_title("x" * 201)


def test_detail_within_the_cap_is_unchanged() -> None:
    assert cap_detail(None) == (None, False)
    assert cap_detail("x" * DETAIL_MAX_BYTES) == ("x" * DETAIL_MAX_BYTES, False)


def test_detail_over_the_cap_is_cut_at_a_character_boundary_and_flagged() -> None:
    assert DETAIL_MAX_BYTES == 16 * 1024
    text, truncated = cap_detail("é" * DETAIL_MAX_BYTES)  # 2 bytes each
    assert truncated
    assert text == "é" * (DETAIL_MAX_BYTES // 2)
    assert cap_text("aé", 2) == ("a", True)  # never half a character


def test_payload_within_the_cap_is_the_same_object() -> None:
    payload = {"a": [1, 2, 3], "b": "x" * 1000}
    assert cap_payload(payload) == (payload, False)
    assert cap_payload(None) == (None, False)


def test_large_strings_are_shortened_keeping_the_shape() -> None:
    payload = {"tool_name": "Write", "tool_input": {"file_path": "a.py", "content": "x" * 100_000}}
    capped, truncated = cap_payload(payload)
    assert truncated
    assert capped is not None
    assert _size(capped) <= PAYLOAD_MAX_BYTES == 64 * 1024
    assert capped["tool_name"] == "Write"
    assert capped["tool_input"]["file_path"] == "a.py"
    assert capped["tool_input"]["content"] == "x" * 4096 + "…[truncated 95904 chars]"


def test_long_lists_are_shortened_with_a_marker() -> None:
    capped, truncated = cap_payload({"items": list(range(50_000))}, max_bytes=2048)
    assert truncated
    assert capped == {"items": [*range(256), "…[truncated 49744 items]"]}


def test_payload_that_cannot_shrink_becomes_a_json_prefix() -> None:
    payload = {f"key{i}": i for i in range(20_000)}
    capped, truncated = cap_payload(payload, max_bytes=1000)
    assert truncated
    assert capped is not None
    assert capped["original_bytes"] == _size(payload)
    assert capped["truncated_json"].startswith('{"key0":0,"key1":1,')
    assert 950 < _size(capped) <= 1000
