"""The lint issues of a workspace, when a linter plugin is active, for `audit.diff`.

The audit plugin does not depend on the lint plugin: it looks for a `lint.report` method in the
daemon's registry (the public contract of DESIGN.md) and, when there is one, reads the current
issues from its result. Any dict in that result with `tool`, `path` and `message` is an issue
(the lint plugin's `Issue` model), wherever the report nests it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from loguru import logger
from pydantic import BaseModel

from aegisd.rpc.context import Caller, RpcContext
from aegisd.rpc.errors import RpcError
from aegisd_audit.redact import redact_text

if TYPE_CHECKING:
    from aegisd.daemon import Daemon
    from aegisd.workspace import Workspace

REPORT_METHOD = "lint.report"
ISSUE_FIELDS = ("tool", "code", "severity", "path", "line", "message")
WAIT_S = 1.0  # a linter still loading its results is not waited for longer (runs start fast)


async def current_issues(
    daemon: Daemon, ws: Workspace, wait_s: float = WAIT_S
) -> list[dict[str, Any]] | None:
    """The workspace's current issues (ISSUE_FIELDS of each), or None without a linter (or
    when it does not answer within `wait_s` seconds)."""
    method = daemon.registry.get(REPORT_METHOD)
    if method is None:
        return None
    caller = Caller(client="aegisd_audit", transport="internal", request_id=uuid.uuid4().hex)
    ctx = RpcContext(daemon, REPORT_METHOD, caller, resolved_workspace=ws)
    try:
        params = method.spec.params.model_validate({"workspace": ws.id})
        result = await asyncio.wait_for(method.spec.handler(params, ctx), wait_s)
    except (RpcError, ValueError, TimeoutError) as exc:
        logger.debug("audit: no lint report for {}: {!r}", ws.id, exc)
        return None
    data = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
    issues = [_fields(found) for found in _issues_in(data)]
    return sorted(issues, key=lambda i: (str(i["path"]), i["line"] or 0, str(i["tool"])))


def _fields(issue: dict[str, Any]) -> dict[str, Any]:
    """ISSUE_FIELDS, and the issue's `identity` when its linter gives one (see `compare`). The
    message is redacted as any audit text is: a linter quotes the code it flags (bandit's
    "Possible hardcoded password: '...'" holds the password)."""
    kept = {key: issue.get(key) for key in ISSUE_FIELDS}
    if isinstance(kept["message"], str):
        kept["message"] = redact_text(kept["message"])
    if issue.get("identity"):
        kept["identity"] = issue["identity"]
    return kept


def compare(
    before: list[dict[str, Any]], after: list[dict[str, Any]]
) -> tuple[list[Any], list[Any]]:
    """Issues introduced (in `after` only) and fixed (in `before` only). Issues are matched by
    tool, code, path and message (or, when the linter gives one, the identity that stays while
    a message's detail changes: a file's line count), not line, so code moving up or down is
    not a change."""
    introduced = _minus(after, before)
    fixed = _minus(before, after)
    return introduced, fixed


def _key(issue: dict[str, Any]) -> tuple[Any, ...]:
    identity = issue.get("identity") or issue.get("message")
    return (issue.get("tool"), issue.get("code"), issue.get("path"), identity)


def _minus(these: list[dict[str, Any]], those: list[dict[str, Any]]) -> list[dict[str, Any]]:
    budget = Counter(_key(i) for i in those)
    out = []
    for issue in these:
        key = _key(issue)
        if budget[key] > 0:
            budget[key] -= 1
        else:
            out.append(issue)
    return out


def _issues_in(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        if all(isinstance(value.get(k), str) for k in ("tool", "path", "message")):
            yield value
            return
        for item in value.values():
            yield from _issues_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _issues_in(item)
