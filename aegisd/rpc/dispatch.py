"""The dispatcher: envelope → method → params validation → handler → result model → response.

The one place failures are mapped to DESIGN.md's error table. Transports hand it raw bytes (or a
message they parsed with `parse`) and a `Caller`; it answers with the response text, or None when
nothing is to be sent back (notifications). Batch members run concurrently and come back in one
array.

A small request costs about as much here as in aiohttp itself (bench/rpc.py), so the request path
is one coroutine around the handler's: every other step is a plain function call.
"""

from __future__ import annotations

import asyncio
import functools
import json
import json.scanner
import math
import time
from collections.abc import Callable, Collection, Coroutine
from typing import TYPE_CHECKING, Any

from loguru import logger
from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError

from aegisd.rpc import surrogates
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
from aegisd.rpc.registry import (
    FreshResult,
    RegisteredMethod,
    WorkspaceParams,
    positional_names,
)
from aegisd.settings import validation_errors
from aegisd.threads import note_interactive

if TYPE_CHECKING:
    from aegisd.daemon import Daemon

_NO_ID = object()
_clock = time.perf_counter
UNPARSABLE = object()  # what `parse` returns for a message that is not JSON
UNKNOWN_METHOD = "<unknown>"

# What json.loads runs, in C (typeshed types the scanner's argument as the scanner itself).
_scan: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(
    json.JSONDecoder()  # type: ignore[arg-type]
)


def parse(data: str | bytes) -> Any:
    """json.loads, or UNPARSABLE. A message that is one JSON value from its first character to
    its last is read by the C scanner directly, skipping json.loads's Python layers (most of
    its cost on a small message); anything else goes through json.loads itself, so results and
    refusals stay exactly json.loads's."""
    try:
        raw_surrogates = False
        if isinstance(data, str):
            text = data
        else:
            # What json.loads does with bytes: UTF-8 (no BOM starts with `{`), -16 or -32,
            # detected; encoded surrogates pass, and are then checked like escaped ones.
            encoding = "utf-8" if data[:1] == b"{" and data[1:2] != b"\x00" else None
            encoding = encoding or json.detect_encoding(data)
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                text = data.decode(encoding, "surrogatepass")
                raw_surrogates = True
        try:
            value, end = _scan(text, 0)
            if end != len(text):
                value = json.loads(text)
        except StopIteration:  # leading whitespace or a BOM (json.loads decides), or nothing
            value = json.loads(text)
        if raw_surrogates or surrogates.escapes_one(text):
            surrogates.mark(value)
        return value
    except (ValueError, RecursionError):
        return UNPARSABLE


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
        self.started = 0  # requests ever started: tells an idle moment (aegisd.memory)
        #: set while `serve` opens its --root workspaces with the socket already listening:
        #: requests (`while_opening` ones aside) wait for it, so none sees a root missing
        self.opening: asyncio.Event | None = None
        #: set while `serve` loads its deferred plugins: their methods and `after_plugins` ones
        #: wait for it rather than answer METHOD_NOT_FOUND or a partial answer
        self.loading: asyncio.Event | None = None
        self._loaded_early: frozenset[str] = frozenset()

    def handle(self, body: bytes | str, caller: Caller) -> Coroutine[Any, Any, str | None]:
        """Answer one HTTP body or WebSocket frame (await the result). Not a coroutine itself:
        the usual single request goes straight to `answer`, one coroutine less per request."""
        payload = parse(body)
        if type(payload) is dict:
            return self.answer(payload, caller)
        return self.handle_payload(payload, caller)

    def hold(self) -> None:
        """Hold requests (`while_opening` ones aside: daemon.health) until `release`."""
        self.opening = asyncio.Event()

    def release(self) -> None:
        """Let held requests go on (and later ones straight through)."""
        if self.opening is not None:
            self.opening.set()
            self.opening = None

    def plugins_loading(self, loaded: Collection[str]) -> None:
        """Plugins other than `loaded` are loading: requests that need them wait until
        `plugins_loaded` (their methods, registered or not yet, and `after_plugins` ones)."""
        self.loading = asyncio.Event()
        self._loaded_early = frozenset(loaded)

    def _waits_for_plugins(self, method: RegisteredMethod | None) -> bool:
        return (
            method is None or method.spec.after_plugins or method.plugin not in self._loaded_early
        )

    def plugins_loaded(self) -> None:
        """Every plugin is loaded (or blocked): waiting requests go on."""
        if self.loading is not None:
            self.loading.set()
            self.loading = None

    async def _wait_for_plugins(self, name: str) -> RegisteredMethod | None:
        if self.loading is not None:
            await self.loading.wait()
        return self.daemon.registry.get(name)

    def is_instant(self, payload: Any) -> bool:
        """True for a single request to a method that answers without waiting on I/O (and
        will not wait for roots or plugins either: a wait inline would stall its connection)."""
        if type(payload) is not dict or self.opening is not None or self.loading is not None:
            return False
        name = payload.get("method")
        if type(name) is not str:  # a list or object is unhashable: `answer` refuses it
            return False
        method = self.daemon.registry.get(name)
        return method is not None and method.spec.instant

    async def handle_payload(self, payload: Any, caller: Caller) -> str | None:
        """Answer a message returned by `parse`: a single message or a batch."""
        if payload is UNPARSABLE:
            return _error_response(None, ParseError(), None, caller)
        if isinstance(payload, list):
            if not payload:
                return _error_response(None, InvalidRequest("empty batch"), None, caller)
            answers = await asyncio.gather(*(self.answer(member, caller) for member in payload))
            parts = [answer for answer in answers if answer is not None]
            return "[" + ",".join(parts) + "]" if parts else None
        return await self.answer(payload, caller)

    async def answer(self, message: Any, caller: Caller) -> str | None:
        """Answer one request (None for a notification): a whole message or a batch member."""
        if type(message) is not dict:
            return _error_response(None, InvalidRequest(), None, caller)
        req_id = message.get("id", _NO_ID)
        name = message.get("method")
        raw = message.get("params", _NO_ID)
        if (
            message.get("jsonrpc") != "2.0"
            or type(name) is not str
            or (raw is not _NO_ID and type(raw) is not dict and type(raw) is not list)
            or (req_id is not _NO_ID and type(req_id) is not int and not _valid_id(req_id))
        ):
            reply_id = req_id if req_id is not _NO_ID and _valid_id(req_id) else None
            shown = name if isinstance(name, str) else None
            return _error_response(reply_id, InvalidRequest(), shown, caller)
        daemon = self.daemon
        text: str | RpcError
        started = _clock()
        self.in_flight += 1
        self.started += 1
        try:
            method = daemon.registry.get(name)
            if self.loading is not None and self._waits_for_plugins(method):
                method = await self._wait_for_plugins(name)
            if method is None:
                outcome, text = (
                    "METHOD_NOT_FOUND",
                    _not_found(name, daemon.registry.close_names(name)),
                )
            else:
                try:
                    spec = method.spec
                    if not spec.probe:
                        note_interactive(started)
                    if self.opening is not None and not spec.while_opening:
                        await self.opening.wait()
                    daemon.limits.check(caller.client, spec.cost, caller)
                    if surrogates.LONE in message:
                        _refuse_lone_surrogates(spec.params, raw)
                    # The usual request's steps inline (a call each costs as much as the step).
                    params = _empty_params(spec.params) if raw is _NO_ID else None
                    if params is None:
                        params = _validate(spec.params, raw)
                    ctx = RpcContext(daemon, name, caller)
                    clock = self._resolve(params, ctx) if isinstance(params, WorkspaceParams) else 0
                    result = await spec.handler(params, ctx)
                    if type(result) is not method.result or ctx.resolved_workspace is not None:
                        result = _result(method, result, ctx, clock)
                    # The serializer itself: model_dump_json's own argument handling doubles
                    # the cost of a small answer (bench/rpc.py).
                    try:
                        text = result.__pydantic_serializer__.to_json(result).decode()
                    except PydanticSerializationError:
                        text = _escaped_json(result)
                    outcome = "ok"
                except RpcError as exc:
                    outcome, text = exc.code_name, exc
                except Exception as exc:
                    logger.opt(exception=exc).bind(request_id=caller.request_id, method=name).error(
                        "unexpected error in {}", name
                    )
                    outcome, text = "INTERNAL_ERROR", InternalError()
        finally:
            self.in_flight -= 1
        seconds = _clock() - started
        # Client-chosen names of unknown methods must not become labels (unbounded, and any
        # string at all — a lone surrogate broke the exposition).
        label = UNKNOWN_METHOD if outcome == "METHOD_NOT_FOUND" else name
        daemon.metrics.observe_request(label, outcome, seconds)
        daemon.access_log.record(caller.request_id, name, seconds * 1000, outcome, caller.client)
        if req_id is _NO_ID:
            return None
        if isinstance(text, RpcError):
            return _error_response(req_id, text, name, caller)
        id_json = str(req_id) if type(req_id) is int else json.dumps(req_id)
        return f'{{"jsonrpc":"2.0","result":{text},"id":{id_json}}}'

    async def call(self, name: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call a method from inside the daemon (one plugin reading another's results without
        importing it); raises the method's RpcError, MethodNotFound when it is not registered."""
        method = self.daemon.registry.get(name)
        if self.loading is not None and self._waits_for_plugins(method):
            method = await self._wait_for_plugins(name)
        if method is None:
            raise MethodNotFound(f"Method not found: {name}")
        spec = method.spec
        parsed = _validate(spec.params, params or {})
        ctx = RpcContext(self.daemon, name, Caller("internal", "internal", "internal"))
        clock = self._resolve(parsed, ctx) if isinstance(parsed, WorkspaceParams) else 0
        result = _result(method, await spec.handler(parsed, ctx), ctx, clock)
        # Off the loop: turning another plugin's whole report into plain data can take a good
        # part of a second on a large workspace (lint.report on the stdlib).
        return await asyncio.to_thread(_plain, result)

    def _resolve(self, params: WorkspaceParams, ctx: RpcContext) -> int:
        """Resolve a workspace-scoped method's workspace into `ctx`; returns its clock."""
        workspace = ctx.resolved_workspace = self.daemon.workspaces.resolve(params.workspace)
        return workspace.clock


def _not_found(name: str, suggestions: list[str]) -> MethodNotFound:
    hint = f" (did you mean {' or '.join(suggestions)}?)" if suggestions else ""
    return MethodNotFound(f"Method not found: {name}{hint}", suggestions=suggestions)


def _result(method: RegisteredMethod, answer: Any, ctx: RpcContext, clock: int) -> BaseModel:
    """The handler's answer as its result model; a `FreshResult` gets `clock` (read before the
    handler ran) and `pending` (read now: a plugin may already have set it, e.g. while its own
    index is still loading)."""
    result: BaseModel = (
        answer if isinstance(answer, method.result) else method.result.model_validate(answer)
    )
    if ctx.resolved_workspace is not None and isinstance(result, FreshResult):
        result.clock = clock
        result.pending = result.pending or ctx.resolved_workspace.pending
    return result


def _escaped_json(result: BaseModel) -> str:
    """The result as JSON when pydantic's serializer refused it: a file name that is not
    UTF-8 holds lone surrogates (surrogateescape), which JSON carries as `\\udcXX` escapes."""
    return json.dumps(result.model_dump(mode="json"), separators=(",", ":"))


def _refuse_lone_surrogates(model: type[BaseModel], raw: Any) -> None:
    errors = surrogates.check(model, raw)
    if errors:
        raise InvalidParams("params hold text that is not valid Unicode", errors=errors)


def _plain(result: BaseModel) -> dict[str, Any]:
    """`result.model_dump(mode="json")`, with lists of models dumped item by item: one dump of
    a whole lint report (~50k issues on the stdlib) held the GIL, and so the event loop, for
    over 0.1 s in one call; between items the loop gets it back."""
    lists = {
        name
        for name, value in result
        if type(value) is list and value and isinstance(value[0], BaseModel)
    }
    plain: dict[str, Any] = result.model_dump(mode="json", exclude=lists)
    for name in lists:
        plain[name] = [item.model_dump(mode="json") for item in getattr(result, name)]
    return plain


def _validate(model: type[BaseModel], raw: Any) -> Any:
    if raw is _NO_ID or raw == {} or raw == []:
        shared = _empty_params(model)
        if shared is not None:
            return shared
        raw = {}
    elif isinstance(raw, list):
        names = positional_names(model)
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
def _empty_params(model: type[BaseModel]) -> BaseModel | None:
    """One shared instance of a params model without fields (None for a model with fields):
    nothing in it can change, and validating nothing, or even asking pydantic for the model's
    fields, is a measurable share of a small request (bench/rpc.py)."""
    return None if model.model_fields else model.model_validate({})
