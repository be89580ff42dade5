"""Transports for the dispatcher: `POST /rpc` and the `GET /rpc/ws` WebSocket."""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import secrets
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, hdrs, web
from loguru import logger

from aegisd.events import Subscriber
from aegisd.rpc.context import Caller
from aegisd.rpc.dispatch import parse
from aegisd.rpc.errors import InvalidRequest, error_object

if TYPE_CHECKING:
    from aegisd.daemon import Daemon
    from aegisd.limits import Bucket
    from aegisd.rpc.dispatch import Dispatcher

DAEMON: web.AppKey[Daemon] = web.AppKey("daemon")
WEBSOCKETS: web.AppKey[set[web.WebSocketResponse]] = web.AppKey("websockets")

REQUEST_ID_HEADER = "X-Request-ID"
CLIENT_HEADER = "X-Aegisd-Client"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
RATE_LIMIT, RATE_REMAINING, RATE_RESET = "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"
#: WebSocket subprotocols: a browser (which cannot set headers) offers `aegisd.rpc` and
#: `aegisd.token.<token>` over TCP; `aegisd.rpc` is the one chosen
RPC_PROTOCOL, TOKEN_PROTOCOL = "aegisd.rpc", "aegisd.token."


_PREFIX = secrets.token_hex(4)
_sequence = itertools.count(1)


def new_request_id() -> str:
    """Unique per daemon run; cheaper than random bytes on every request."""
    return f"{_PREFIX}{next(_sequence):08x}"


def request_id(request: web.Request) -> str:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given[:128] if given else new_request_id()


_ANONYMOUS = {"tcp": "tcp-anonymous", "unix": "unix-anonymous"}


def transport(request: web.Request) -> str:
    conn = request.transport
    sockname = conn.get_extra_info("sockname") if conn is not None else None
    return "tcp" if isinstance(sockname, tuple) else "unix"


def _too_large(rid: str, limit: int) -> web.Response:
    error = error_object(InvalidRequest(f"request body over {limit} bytes"), None, rid)
    body = json.dumps({"jsonrpc": "2.0", "error": error, "id": None})
    response = web.Response(
        status=413, text=body, content_type="application/json", headers={REQUEST_ID_HEADER: rid}
    )
    # Refuse without reading the rest: the connection is closed instead of drained.
    response.force_close()
    return response


def _refused_slow_body(rid: str, seconds: float) -> web.Response:
    error = error_object(InvalidRequest(f"request body not received in {seconds} s"), None, rid)
    body = json.dumps({"jsonrpc": "2.0", "error": error, "id": None})
    response = web.Response(
        status=408, text=body, content_type="application/json", headers={REQUEST_ID_HEADER: rid}
    )
    response.force_close()
    return response


async def rpc_post(request: web.Request) -> web.StreamResponse:
    daemon = request.app[DAEMON]
    rid = request_id(request)
    limit = daemon.config.max_body_bytes
    length = request.content_length
    if length is not None and length > limit:
        return _too_large(rid, limit)
    try:
        if request.content.is_eof():  # the usual small request came whole with its head
            body = await request.read()  # bounded by the app's client_max_size (same limit)
        else:
            async with asyncio.timeout(daemon.config.transport.body_timeout_s):
                body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _too_large(rid, limit)
    except TimeoutError:
        return _refused_slow_body(rid, daemon.config.transport.body_timeout_s)
    kind = transport(request)
    caller = Caller(request.headers.get(CLIENT_HEADER, "")[:128] or _ANONYMOUS[kind], kind, rid)
    text = await daemon.dispatcher.handle(body, caller)
    headers = {REQUEST_ID_HEADER: rid}
    if caller.limit is not None:
        _add_standing(headers, caller.limit, caller.retry_after_ms, daemon.limits.clock())
    if text is None:
        return web.Response(status=204, headers=headers)
    # The Content-Type `text=..., content_type=...` would produce, without its argument checks.
    headers[hdrs.CONTENT_TYPE] = JSON_CONTENT_TYPE
    return web.Response(body=text.encode(), headers=headers)


def _add_standing(headers: dict[str, str], bucket: Bucket, retry_after_ms: int, now: float) -> None:
    """The client's standing in the bucket its request drew from (IETF httpapi-ratelimit-
    headers): the burst, the calls left now, and the seconds until the bucket is full again;
    `Retry-After` (seconds) when a call was refused."""
    tokens = bucket.tokens_at(now)
    headers[RATE_LIMIT] = bucket.limit_text
    headers[RATE_REMAINING] = str(int(tokens))
    headers[RATE_RESET] = str(math.ceil((bucket.burst - tokens) / bucket.rate))
    if retry_after_ms:
        headers[hdrs.RETRY_AFTER] = str(math.ceil(retry_after_ms / 1000))


async def rpc_websocket(request: web.Request) -> web.StreamResponse:
    daemon = request.app[DAEMON]
    if len(request.app[WEBSOCKETS]) >= daemon.config.transport.max_websockets:
        raise web.HTTPServiceUnavailable(text="too many WebSocket connections")
    # Heartbeats only over TCP: a Unix-socket peer that dies closes its socket, and resetting
    # the heartbeat timer on every frame is a measurable share of a small request.
    heartbeat = 30.0 if transport(request) == "tcp" else None
    ws = web.WebSocketResponse(
        heartbeat=heartbeat, max_msg_size=daemon.config.max_body_bytes, protocols=(RPC_PROTOCOL,)
    )
    await ws.prepare(request)
    client = request.headers.get(CLIENT_HEADER, "")[:128] or f"ws-{secrets.token_hex(4)}"
    subscriber = Subscriber(ws.send_str, client, daemon.config.events.max_queue)
    daemon.events.add(subscriber)
    request.app[WEBSOCKETS].add(ws)
    pump = asyncio.create_task(subscriber.pump())
    pending: set[asyncio.Task[None]] = set()
    limit = daemon.config.transport.max_in_flight_per_connection
    dispatcher = daemon.dispatcher
    daemon.metrics.ws_clients.inc()
    try:
        async for message in ws:
            kind = message.type
            if kind is WSMsgType.TEXT or kind is WSMsgType.BINARY:
                while len(pending) >= limit:  # backpressure: stop reading this connection
                    await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                caller = Caller(client, "ws", new_request_id(), subscriber)
                payload = parse(message.data)
                if dispatcher.is_instant(payload):
                    # Answered inline: no task, and no coroutine of its own, per frame.
                    text = await dispatcher.answer(payload, caller)
                    if text is not None:
                        await subscriber.answer_now(text)
                else:
                    task = asyncio.create_task(
                        _answer_frame(dispatcher, payload, caller, subscriber)
                    )
                    pending.add(task)
                    task.add_done_callback(pending.discard)
            elif kind is WSMsgType.ERROR:
                logger.warning("websocket {} closed with error {}", client, ws.exception())
    finally:
        daemon.metrics.ws_clients.dec()
        daemon.events.remove(subscriber)
        request.app[WEBSOCKETS].discard(ws)
        for task in [pump, *pending]:
            task.cancel()
        await asyncio.gather(pump, *pending, return_exceptions=True)
    return ws


async def _answer_frame(
    dispatcher: Dispatcher, payload: Any, caller: Caller, subscriber: Subscriber
) -> None:
    """Dispatch one parsed frame of a method that is not instant; the answer joins the
    connection's ordered outgoing queue."""
    text = await dispatcher.handle_payload(payload, caller)
    if text is not None:
        subscriber.answer(text)


async def close_websockets(app: web.Application) -> None:
    """On shutdown: close every WebSocket so the server can drain."""
    sockets: set[web.WebSocketResponse] = app[WEBSOCKETS]
    for ws in list(sockets):
        await ws.close(code=1001, message=b"server shutdown")
