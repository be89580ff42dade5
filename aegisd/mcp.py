"""`aegisd mcp`: an MCP server on stdio backed by the daemon, built on the official `mcp` SDK.

Coding agents start it as a subprocess. It finds the daemon through the usual socket resolution,
starts one in the background when none answers, and opens its working directory as the default
workspace. Tools come from the daemon's registry (`rpc.discover`, see `mcp_tools`). Failures are
tool results, never crashes: a JSON-RPC error keeps its message and code name, and a daemon that
went away gives a clear error, after which the next call reconnects (restarting it if needed).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from loguru import logger
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError

from aegisd import __version__
from aegisd import mcp_names as names
from aegisd import mcp_render as render
from aegisd.mcp_audit import AuditTrail
from aegisd.mcp_link import DaemonGone, DaemonLink, RpcFailure, local_failure
from aegisd.mcp_tools import BoundTool, available_tools

INSTRUCTIONS = (
    "aegisd keeps a live model of this project (symbols, imports, lint, duplicates, insights). "
    "Every answer says the change clock it was computed at, and PENDING when files were still "
    "being processed. Paths are relative to the project root; lines are 1-based."
)


def default_root(cwd: Path) -> Path | None:
    """The workspace to open for `cwd`, or None for `/` and the home directory (too broad)."""
    real = cwd.resolve()
    return None if real in (Path("/"), Path.home().resolve()) else real


def _openable(target: Any) -> bool:
    return (
        isinstance(target, str)
        and os.path.isabs(target)
        and os.path.isdir(target)
        and default_root(Path(target)) is not None
    )


def _workspace_not_open(exc: RpcFailure) -> bool:
    return exc.code_name == "NOT_FOUND" and (
        "workspace" in exc.data or exc.message.startswith("workspace not open")
    )


def _annotations(tool: BoundTool) -> types.ToolAnnotations:
    hints = tool.spec.hints
    return types.ToolAnnotations(
        title=tool.spec.title,
        read_only_hint=hints.read_only,
        destructive_hint=hints.destructive,
        idempotent_hint=hints.idempotent,
        open_world_hint=False,
    )


def _failed(code_name: str, message: str, data: Mapping[str, Any]) -> types.CallToolResult:
    message, data = names.shown(message), names.shown(dict(data))
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=render.error(code_name, message, data))],
        structured_content={"error": {"code": code_name, "message": message, "data": dict(data)}},
        is_error=True,
    )


def _succeeded(
    tool: BoundTool, result: dict[str, Any], args: Mapping[str, Any]
) -> types.CallToolResult:
    try:
        text = tool.spec.render(result, args)
    except (KeyError, TypeError, AttributeError):  # a shape the renderer does not know yet
        text = render.generic(result, args)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=render.clip(text))],
        structured_content=result,
        is_error=False,
    )


class AegisMcp:
    """The tools of one MCP session and its connection to the daemon (a `ToolContext`)."""

    def __init__(self, socket: Path, root: Path | None) -> None:
        self.link = DaemonLink(socket)
        self.workspace = str(root) if root is not None else None
        self._params: dict[str, frozenset[str]] = {}
        self._tools: dict[str, BoundTool] = {}
        self._lock = asyncio.Lock()
        self._stale = True  # check (and start) the daemon before the next call
        self.audit = AuditTrail(self.call, self.params_of, self.workspace)
        self._session_id = f"mcp:{secrets.token_hex(6)}"

    @property
    def session_id(self) -> str:
        """This MCP session's audit `external_id`."""
        return self._session_id

    def params_of(self, method: str) -> frozenset[str] | None:
        return self._params.get(method)

    @property
    def audit_run(self) -> Any:
        return self.audit.run

    def remember_run(self, result: Mapping[str, Any]) -> None:
        self.audit.remember(result)

    def forget_run(self, run: Any) -> None:
        self.audit.forget(run)

    async def connect(self) -> None:
        """Make sure a daemon answers, learn its methods and open the default workspace."""
        async with self._lock:
            if not self._stale:
                return
            await self.link.ensure_daemon()
            doc = await self.link.call("rpc.discover")
            self._params = {
                m["name"]: frozenset(p["name"] for p in m.get("params", []))
                for m in doc.get("methods", [])
            }
            self._tools = {tool.name: tool for tool in available_tools(doc)}
            if self.workspace is not None:
                try:
                    await self.link.call("workspace.open", {"root": self.workspace})
                except RpcFailure as exc:
                    logger.warning("cannot open {} as a workspace: {}", self.workspace, exc)
            self._stale = False

    async def call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Call `method` in the named workspace (default: ours), opening it when it is not open."""
        params = dict(params)
        if "workspace" in (self.params_of(method) or ()) and params.get("workspace") is None:
            if self.workspace is None:
                params.pop("workspace", None)
            else:
                params["workspace"] = self.workspace
        try:
            return await self.link.call(method, params)  # type: ignore[no-any-return]
        except RpcFailure as exc:
            target = params.get("workspace")
            if not (_workspace_not_open(exc) and _openable(target)):
                raise
        await self.link.call("workspace.open", {"root": target})
        return await self.link.call(method, params)  # type: ignore[no-any-return]

    async def list_tools(self) -> list[types.Tool]:
        try:
            await self.connect()
        except (DaemonGone, RpcFailure) as exc:
            raise MCPError(code=types.INTERNAL_ERROR, message=f"aegisd: {exc}") from exc
        return [
            types.Tool(
                name=tool.name,
                title=tool.spec.title,
                description=tool.spec.description,
                input_schema=tool.schema,
                annotations=_annotations(tool),
            )
            for tool in self._tools.values()
        ]

    async def call_tool(
        self, name: str, arguments: Mapping[str, Any] | None
    ) -> types.CallToolResult:
        """One tool call as an MCP result (errors included), recorded in the audit run."""
        args = dict(arguments or {})
        started = time.monotonic()
        tool: BoundTool | None = None
        error_code: str | None = None
        try:
            await self.connect()
            tool = self._tools.get(name)
            if tool is None:
                known = ", ".join(self._tools)
                raise local_failure("METHOD_NOT_FOUND", f"unknown tool {name!r}; tools: {known}")
            unknown = sorted(set(args) - set(tool.schema["properties"]))
            if unknown:
                allowed = ", ".join(tool.schema["properties"])
                raise local_failure(
                    "INVALID_PARAMS", f"unknown argument {', '.join(unknown)}; allowed: {allowed}"
                )
            result = await tool.spec.run(self, tool.spec, names.taken(args))
            answer = _succeeded(tool, names.shown(result), args)
        except RpcFailure as exc:
            error_code = exc.code_name
            answer = _failed(exc.code_name, exc.message, exc.data)
        except DaemonGone as exc:
            self._stale = True
            error_code = "UNAVAILABLE"
            message = f"{exc}. The next call reconnects, starting aegisd if needed."
            answer = _failed(error_code, message, {})
        except Exception as exc:  # a bug here must not take the agent's server down
            logger.exception("tool {} failed", name)
            error_code = "INTERNAL_ERROR"
            answer = _failed(error_code, f"internal error in the MCP server: {exc!r}", {})
        if tool is not None and tool.spec.audited and not self._stale:
            elapsed_ms = int((time.monotonic() - started) * 1000)
            await self.audit.record(name, args, elapsed_ms, error_code)
        return answer

    async def warm_up(self) -> None:
        """Connect ahead of the first request; failures surface on that request instead."""
        try:
            await self.connect()
        except (DaemonGone, RpcFailure) as exc:
            logger.warning("aegisd is not available yet: {}", exc)


def build_server(app: AegisMcp) -> Server[Any]:
    async def on_list_tools(
        ctx: Any, params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=await app.list_tools())

    async def on_call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        return await app.call_tool(params.name, params.arguments)

    return Server(
        "aegisd",
        version=__version__,
        instructions=INSTRUCTIONS,
        on_list_tools=on_list_tools,
        on_call_tool=on_call_tool,
    )


async def serve_stdio(app: AegisMcp) -> None:
    server = build_server(app)
    try:
        async with stdio_server() as (read, write), anyio.create_task_group() as tasks:
            tasks.start_soon(app.warm_up)
            await server.run(read, write, server.create_initialization_options())
            tasks.cancel_scope.cancel()
    finally:
        await app.link.close()


def run_mcp(socket_flag: str | None) -> int:
    """`aegisd mcp`: serve MCP on stdin/stdout until the client closes them."""
    from aegisd.log import configure_logging
    from aegisd.paths import resolve_socket

    configure_logging("text", "WARNING")  # stderr only: stdout carries the protocol
    try:
        root = default_root(Path.cwd())
    except OSError:  # the working directory is gone
        root = None
    anyio.run(serve_stdio, AegisMcp(resolve_socket(socket_flag), root))
    return 0
