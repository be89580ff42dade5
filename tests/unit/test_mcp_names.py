"""`mcp_names`: lone surrogates in answers shown as `\\xNN`, taken back in path arguments."""

from __future__ import annotations

import os

from hypothesis import given
from hypothesis import strategies as st

from aegisd.mcp_names import shown, taken


def test_answers_show_each_byte_and_leave_the_rest() -> None:
    name = os.fsdecode(b"dir/caf\xe9.py")
    result = {"hits": [{"path": name, "line": 1}], "clock": 3, name: [name, "plain"]}
    assert shown(result) == {
        "hits": [{"path": "dir/caf\\xe9.py", "line": 1}],
        "clock": 3,
        "dir/caf\\xe9.py": ["dir/caf\\xe9.py", "plain"],
    }
    assert shown("\ud800 alone") == "\\ud800 alone"  # no byte stands for it: its code point


def test_path_arguments_take_the_shown_form_back_and_others_are_left() -> None:
    args = {"path": "caf\\xe9.py", "paths": ["a\\xff", "b"], "query": "caf\\xe9", "line": 2}
    assert taken(args) == {
        "path": os.fsdecode(b"caf\xe9.py"),
        "paths": [os.fsdecode(b"a\xff"), "b"],
        "query": "caf\\xe9",
        "line": 2,
    }
    assert taken({"path": "a\\x41.py"})["path"] == "a\\x41.py"  # ASCII: not a byte of ours


@given(st.binary(min_size=1, max_size=40).filter(lambda b: b"\\" not in b))
def test_any_file_name_round_trips(raw: bytes) -> None:
    name = os.fsdecode(raw)
    shown_name = shown(name)
    shown_name.encode("utf-8")  # what the SDK writes must encode
    assert taken({"path": shown_name})["path"] == name
