"""File names that are not UTF-8, across MCP. The daemon carries such a name's bytes as lone
surrogates (surrogateescape); the MCP SDK writes every text as UTF-8 and fails on them, so a
tool whose answer named such a file failed as a whole. Answers show each such byte as `\\xNN`
(as Python's `backslashreplace` does), and path arguments take that form back.

A name that really holds the four characters `\\x80`..`\\xff` is read as that byte: no name
written in UTF-8 needs them, and the other readings are unaffected.
"""

from __future__ import annotations

import re
from typing import Any

#: tool arguments that name files or workspaces
PATH_ARGS = frozenset({"path", "paths", "workspace", "root"})
_SURROGATE = re.compile("[\ud800-\udfff]")
_BYTE = re.compile(r"\\x([89a-fA-F][0-9a-fA-F])")


def shown(value: Any) -> Any:
    """`value` (a result: dicts, lists, strings) with every lone surrogate written out."""
    if isinstance(value, str):
        return _shown_text(value) if _SURROGATE.search(value) else value
    if isinstance(value, dict):
        return {shown(k): shown(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [shown(item) for item in value]
    return value


def _shown_text(text: str) -> str:
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate no byte stands for: its code point, escaped
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def taken(args: dict[str, Any]) -> dict[str, Any]:
    """Tool arguments with `\\xNN` bytes in file names turned back into the daemon's form."""
    found = dict(args)
    for key in PATH_ARGS.intersection(found):
        value = found[key]
        if isinstance(value, str):
            found[key] = _taken_text(value)
        elif isinstance(value, list):
            found[key] = [_taken_text(v) if isinstance(v, str) else v for v in value]
    return found


def _taken_text(text: str) -> str:
    if "\\x" not in text:
        return text
    return _BYTE.sub(lambda hit: chr(0xDC00 + int(hit.group(1), 16)), text)
