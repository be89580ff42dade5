"""JSON stored in a column: checked for depth and size before it is written.

A value nested deeper than `MAX_DEPTH` stores fine but cannot be read back through the
pydantic models (their serialiser stops near 255 levels) and takes the json module's recursion
with it: a write that would be acknowledged and then unreadable. `dumps` refuses such a value
with INVALID_PARAMS (and one over `max_bytes` with TOO_LARGE) before anything is written;
every store that keeps JSON in a column writes it through `dumps`.
"""

from __future__ import annotations

import json
from typing import Any

from aegisd.rpc.errors import InvalidParams, TooLarge

MAX_DEPTH = 64


def json_depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deeply `value` nests dicts and lists (a scalar is 0), counting no further than
    `limit` + 1. Iterative: a hostile depth cannot exhaust the stack."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                return deepest
        stack.extend((child, depth) for child in children if isinstance(child, dict | list | tuple))
    return deepest


def check_depth(value: Any, field: str, max_depth: int = MAX_DEPTH) -> None:
    """INVALID_PARAMS when `value` nests deeper than `max_depth` levels."""
    if json_depth(value, max_depth) > max_depth:
        message = f"{field} is nested more than {max_depth} levels deep"
        raise InvalidParams(
            message, errors=[{"loc": field.split("."), "msg": message, "type": "too_deep"}]
        )


def dumps(
    value: Any,
    field: str,
    *,
    max_depth: int = MAX_DEPTH,
    max_bytes: int | None = None,
    **options: Any,
) -> str:
    """`json.dumps(value, **options)` for a column, refused (INVALID_PARAMS) when deeper than
    `max_depth` or (TOO_LARGE) longer than `max_bytes` UTF-8 bytes. `field` names the value in
    the error (e.g. "params.payload")."""
    try:
        text = json.dumps(value, **options)
    except RecursionError:
        check_depth(value, field, max_depth)  # raises: only a deep value recurses this far
        raise
    if not options.get("ensure_ascii", True) and not _storable(text):
        # A file name that is not UTF-8 holds lone surrogates, which SQLite's text cannot:
        # as \udcXY escapes they are read back as the same name.
        text = json.dumps(value, **{**options, "ensure_ascii": True})
    # Fewer brackets than levels allowed cannot nest too deep: most values skip the walk.
    if text.count("[") + text.count("{") > max_depth:
        check_depth(value, field, max_depth)
    if max_bytes is not None and len(text) > max_bytes // 4 and len(text.encode()) > max_bytes:
        raise TooLarge(f"{field} takes more than {max_bytes} bytes", limit_bytes=max_bytes)
    return text


def _storable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def loads_readable(text: str, max_depth: int = MAX_DEPTH) -> tuple[Any, bool]:
    """A stored value, and False when it nests too deep to be served (written before depth
    was checked): such a value comes back as its JSON text, cut, instead of failing the read."""
    try:
        value = json.loads(text)
    except RecursionError:
        return _unreadable(text), False
    if text.count("[") + text.count("{") > max_depth and json_depth(value, max_depth) > max_depth:
        return _unreadable(text), False
    return value, True


def _unreadable(text: str) -> dict[str, Any]:
    return {"truncated_json": text[:4096], "original_bytes": len(text.encode())}
