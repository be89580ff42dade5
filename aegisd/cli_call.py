"""What `aegisd call` does around the call itself: params from the command line (relative
directories made absolute against the caller's working directory, which the daemon does not
share), and the answer cut down to what a terminal can show."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

#: a result this large on a terminal is summarized unless --full (3.2 MB for lint.run on django)
TERMINAL_LIMIT_BYTES = 256 * 1024
#: params naming a directory of the caller's: `workspace.open {root}`, and `workspace` anywhere
#: (a root path or a workspace id)
ROOT_PARAMS = {"workspace.open": ("root",)}
WORKSPACE_PARAM = "workspace"


def absolute_dirs(method: str, params: Any, cwd: str | None = None) -> Any:
    """`params` with relative directory params made absolute against `cwd` (default: this
    process's). A `workspace` value is taken for a path only when it looks like one (`.`,
    `..`, `~`, or with a `/`): a bare word may be a workspace id."""
    if not isinstance(params, dict):
        return params
    base = cwd or os.getcwd()
    fixed = dict(params)
    for name in ROOT_PARAMS.get(method, ()):
        value = fixed.get(name)
        if isinstance(value, str) and value:
            fixed[name] = _absolute(value, base)
    value = fixed.get(WORKSPACE_PARAM)
    if isinstance(value, str) and _looks_like_path(value):
        fixed[WORKSPACE_PARAM] = _absolute(value, base)
    return fixed


def _looks_like_path(value: str) -> bool:
    return value in (".", "..") or value.startswith(("./", "../", "~")) or "/" in value


def _absolute(value: str, base: str) -> str:
    return os.path.normpath(os.path.join(base, os.path.expanduser(value)))


def select_fields(result: Any, fields: Sequence[str]) -> dict[str, Any]:
    """The dotted `fields` of `result` (`summary.status`); missing ones are left out."""
    picked: dict[str, Any] = {}
    for field in fields:
        value: Any = result
        for part in field.split("."):
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                break
        else:
            picked[field] = value
    return picked


def summarize(value: Any, depth: int = 2) -> Any:
    """The shape of `value`: scalars as they are, long lists and strings and deep objects as
    a short description of what they hold."""
    if isinstance(value, dict):
        if depth <= 0:
            return f"<object: {len(value)} keys>"
        return {key: summarize(item, depth - 1) for key, item in value.items()}
    if isinstance(value, list):
        if len(value) <= 3 and all(not isinstance(v, dict | list) for v in value):
            return value
        kinds = sorted({type(v).__name__ for v in value})
        keys = sorted({k for v in value if isinstance(v, dict) for k in v})[:8]
        detail = f", keys {', '.join(keys)}" if keys else ""
        return f"<list: {len(value)} items of {'/'.join(kinds) or 'nothing'}{detail}>"
    if isinstance(value, str) and len(value) > 200:
        return value[:120] + f"... <{len(value)} characters>"
    return value


def render(
    result: Any, fields: Sequence[str] | None, summary: bool, terminal: bool
) -> tuple[str, str | None]:
    """The text to print for `result`, and a note for stderr when it was cut."""
    if fields:
        result = select_fields(result, fields)
    text = json.dumps(summarize(result) if summary else result, indent=2)
    if terminal and not summary and len(text) > TERMINAL_LIMIT_BYTES:
        note = (
            f"aegisd: the result is {len(text) / 1e6:.1f} MB: summarized for the terminal "
            "(--full prints it whole, --fields a,b picks parts; a pipe or file gets it all)"
        )
        return json.dumps(summarize(result), indent=2), note
    return text, None
