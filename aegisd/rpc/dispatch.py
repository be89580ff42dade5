"""The dispatcher: envelope → method → params validation → handler → result model → response.

The one place failures are mapped to DESIGN.md's error table. Transports hand it raw bytes and
a `Caller`; it answers with the response text, or None when nothing is to be sent back
(notifications). Batch members run concurrently and come back in one array.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import time
from typing import TYPE_CHECKING, Any

from loguru import logger
from pydantic import BaseModel, ValidationError

from aegisd.rpc.context import Caller, RpcContext
from aegisd.rpc.errors import (
    InternalError,
    InvalidParams,
    InvalidRequest,
    MethodNotFound,
    ParseError,
    RpcError,
    error_object,
)
from aegisd.rpc.registry import FreshResult, RegisteredMethod, WorkspaceParams
from aegisd.settings import validation_errors

if TYPE_CHECKING:
    from aegisd.daemon import Daemon

_NO_ID = object()
UNKNOWN_METHOD = "<unknown>"


def _valid_id(value: Any) -> bool:
    kind = type(value)
    if kind is int or kind is str or value is None:  # the usual ids, checked first
        return True
    if kind is float:
        return math.isfinite(value)  # 1e400 parses as inf, which JSON cannot carry back
    return isinstance(value, str | int) and not isinstance(value, bool)


def _error_response(req_id: Any, exc: RpcError, method: str | None, caller: Caller) -> str:
    return json.dumps(
        {
            "jsonrpc": "2.0",
            "error": error_object(exc, method, caller.request_id),
            "id": req_id,
        },
        default=str,
    )


class Dispatcher:
    """Runs JSON-RPC messages against the registry."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.in_flight = 0

    async def handle(self, body: bytes | str, caller: Caller) -> str | None:
        """Answer one HTTP body or WebSocket frame."""
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            return _error_response(None, ParseError(), None, caller)
        return await self.handle_payload(payload, caller)

    def is_instant(self, payload: Any) -> bool:
        """True for a single request to a method that answers without waiting on I/O."""
        if not isinstance(payload, dict):
            return False
        method = self.daemon.registry.get(payload.get("method"))  # type: ignore[arg-type]
        return method is not None and method.spec.instant

    async def handle_payload(self, payload: Any, caller: Caller) -> str | None:
        """Answer an already parsed message or batch."""
        if isinstance(payload, list):
            if not payload:
                return _error_response(None, InvalidRequest("empty batch"), None, caller)
            answers = await asyncio.gather(*(self._one(member, caller) for member in payload))
            parts = [answer for answer in answers if answer is not None]
            return "[" + ",".join(parts) + "]" if parts else None
        return await self._one(payload, caller)

    async def _one(self, message: Any, caller: Caller) -> str | None:
        if not isinstance(message, dict):
            return _error_response(None, InvalidRequest(), None, caller)
        req_id = message.get("id", _NO_ID)
        method_name = message.get("method")
        params = message.get("params", _NO_ID)
        if (
            message.get("jsonrpc") != "2.0"
            or not isinstance(method_name, str)
            or (params is not _NO_ID and type(params) is not dict and type(params) is not list)
            or (req_id is not _NO_ID and not _valid_id(req_id))
        ):
            reply_id = req_id if req_id is not _NO_ID and _valid_id(req_id) else None
            name = method_name if isinstance(method_name, str) else None
            return _error_response(reply_id, InvalidRequest(), name, caller)
        started = time.perf_counter()
        self.in_flight += 1
        try:
            outcome, text = await self._call(method_name, params, caller)
        finally:
            self.in_flight -= 1
        duration_ms = (time.perf_counter() - started) * 1000
        # Client-chosen names of unknown methods must not become labels (unbounded, and any
        # string at all — a lone surrogate broke the exposition).
        label = UNKNOWN_METHOD if outcome == "METHOD_NOT_FOUND" else method_name
        self.daemon.metrics.observe_request(label, outcome, duration_ms / 1000)
        self.daemon.access_log.record(
            caller.request_id, method_name, duration_ms, outcome, caller.client
        )
        if req_id is _NO_ID:
            return None
        if isinstance(text, RpcError):
            return _error_response(req_id, text, method_name, caller)
        id_json = str(req_id) if type(req_id) is int else json.dumps(req_id)
        return '{"jsonrpc":"2.0","result":' + text + ',"id":' + id_json + "}"

    async def _call(self, name: str, raw: Any, caller: Caller) -> tuple[str, str | RpcError]:
        """Run one method; returns (outcome, result JSON or the error to answer with)."""
        method = self.daemon.registry.get(name)
        if method is None:
            return "METHOD_NOT_FOUND", MethodNotFound(f"Method not found: {name}")
        try:
            self.daemon.limits.check(caller.client, method.spec.cost)
            result = await self._result(method, raw, caller)
            # The serializer itself: model_dump_json's own argument handling doubles the cost
            # of a small answer (bench/rpc.py).
            text = result.__pydantic_serializer__.to_json(result).decode()
        except RpcError as exc:
            return exc.code_name, exc
        except Exception as exc:
            logger.opt(exception=exc).bind(request_id=caller.request_id, method=name).error(
                "unexpected error in {}", name
            )
            return "INTERNAL_ERROR", InternalError()
        return "ok", text

    async def call(self, name: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call a method from inside the daemon (one plugin reading another's results without
        importing it); raises the method's RpcError, MethodNotFound when it is not registered."""
        method = self.daemon.registry.get(name)
        if method is None:
            raise MethodNotFound(f"Method not found: {name}")
        caller = Caller("internal", "internal", "internal")
        result = await self._result(method, params or {}, caller)
        # Off the loop: turning another plugin's whole report into plain data can take a good
        # part of a second on a large workspace (lint.report on the stdlib).
        plain: dict[str, Any] = await asyncio.to_thread(result.model_dump, mode="json")
        return plain

    async def _result(self, method: RegisteredMethod, raw: Any, caller: Caller) -> BaseModel:
        spec = method.spec
        params = self._validate(spec.params, raw)
        ctx = RpcContext(self.daemon, spec.name, caller)
        clock = 0
        if isinstance(params, WorkspaceParams):
            ctx.resolved_workspace = self.daemon.workspaces.resolve(params.workspace)
            clock = ctx.resolved_workspace.clock
        answer = await spec.handler(params, ctx)
        result: BaseModel = (
            answer if isinstance(answer, method.result) else method.result.model_validate(answer)
        )
        if isinstance(result, FreshResult) and ctx.resolved_workspace is not None:
            # The answer reflects the clock seen when work started; pending is read at the end (a
            # plugin may already have set it, e.g. while its own index is still loading).
            result.clock = clock
            result.pending = result.pending or ctx.resolved_workspace.pending
        return result

    @staticmethod
    def _validate(model: type[BaseModel], raw: Any) -> Any:
        if (raw is _NO_ID or raw == {} or raw == []) and not model.model_fields:
            return _empty_params(model)
        if raw is _NO_ID:
            raw = {}
        elif isinstance(raw, list):
            names = list(model.model_fields)
            if len(raw) > len(names):
                raise InvalidParams(
                    f"too many positional params: {len(raw)} given, at most {len(names)}",
                    errors=[{"loc": [], "msg": "too many positional params", "type": "too_long"}],
                )
            raw = dict(zip(names, raw, strict=False))
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            raise InvalidParams(errors=validation_errors(exc, ("params",))) from None


@functools.cache
def _empty_params(model: type[BaseModel]) -> BaseModel:
    """One shared instance of a params model without fields: nothing in it can change, and
    validating nothing is a measurable share of a small request (bench/rpc.py)."""
    return model.model_validate({})
