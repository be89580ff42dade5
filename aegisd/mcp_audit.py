"""Recording each MCP tool call as a `tool_call` event in the calling agent's open audit run.

The run is the one this MCP process started with `audit_start`; failing that, the most recent
open run of its workspace, when `audit.list_runs` can filter by status (an agent's hook bridge
opens one per session). Without the audit methods nothing is recorded. Recording never fails a
tool call; the daemon redacts secrets in what it stores, and long arguments are cut here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from loguru import logger

from aegisd.mcp_link import DaemonGone, RpcFailure

ARG_MAX_CHARS = 200
TITLE_MAX_CHARS = 200

Call = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
ParamsOf = Callable[[str], frozenset[str] | None]


def _capped(value: Any) -> Any:
    """`value` with long strings cut (snippets passed to a tool can be large)."""
    if isinstance(value, str) and len(value) > ARG_MAX_CHARS:
        return f"{value[:ARG_MAX_CHARS]}... [{len(value)} chars]"
    if isinstance(value, dict):
        return {k: _capped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_capped(v) for v in value]
    return value


def _title(tool: str, args: Mapping[str, Any]) -> str:
    shown = " ".join(
        f"{k}={v!r}" for k, v in args.items() if k != "workspace" and not isinstance(v, dict)
    )
    title = f"{tool} {shown}".strip()
    return title if len(title) <= TITLE_MAX_CHARS else title[: TITLE_MAX_CHARS - 3] + "..."


def run_id(result: Mapping[str, Any]) -> Any:
    """The run id in an `audit.start_run` result: `id`, or `run.id` / `run` when nested."""
    if "id" in result:
        return result["id"]
    run = result.get("run")
    return run.get("id") if isinstance(run, Mapping) else run


class AuditTrail:
    """The audit run this MCP session records into, and the recording itself."""

    def __init__(self, call: Call, params_of: ParamsOf, workspace: str | None) -> None:
        self._call = call
        self._params_of = params_of
        self.workspace = workspace
        self.run: Any = None

    def remember(self, result: Mapping[str, Any]) -> None:
        run = run_id(result)
        if run is not None:
            self.run = run

    def forget(self, run: Any) -> None:
        if run == self.run:
            self.run = None

    async def current(self) -> Any:
        """The run to record into, or None."""
        if self.run is not None:
            return self.run
        names = self._params_of("audit.list_runs")
        if names is None or "status" not in names:
            return None
        params: dict[str, Any] = {"status": "open"}
        if "workspace" in names and self.workspace:
            params["workspace"] = self.workspace
        result = await self._call("audit.list_runs", params)
        ids = [
            r["id"]
            for r in result.get("runs", [])
            if isinstance(r, dict) and "id" in r and r.get("status", "open") == "open"
        ]
        return max(ids, default=None)  # ids grow: the highest is the most recent

    async def record(
        self, tool: str, args: Mapping[str, Any], duration_ms: int, error_code: str | None
    ) -> None:
        """Log one tool call in the current run, if there is one."""
        names = self._params_of("audit.log_event")
        if names is None:
            return
        run = None
        try:
            run = await self.current()
            if run is None:
                return
            payload: dict[str, Any] = {
                "tool": tool,
                "arguments": _capped(dict(args)),
                "duration_ms": duration_ms,
                "outcome": "error" if error_code else "ok",
            }
            if error_code:
                payload["error"] = error_code
            event = {
                "run": run,
                "type": "tool_call",
                "title": _title(tool, args),
                "actor": "agent",
                "status": "error" if error_code else "ok",
                "payload": payload,
            }
            await self._call("audit.log_event", {k: v for k, v in event.items() if k in names})
        except RpcFailure as exc:
            if exc.code_name in ("CONFLICT", "NOT_FOUND"):  # the run was closed or is gone
                self.forget(run)
            logger.warning("could not record {} in audit run {}: {}", tool, run, exc)
        except DaemonGone as exc:
            logger.warning("could not record {}: {}", tool, exc)
