"""The aiohttp application: routes, middlewares, and the daemon it serves."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from aegisd.daemon import Daemon
from aegisd.rpc.errors import InvalidRequest, error_object
from aegisd.rpc.http import (
    DAEMON,
    REQUEST_ID_HEADER,
    WEBSOCKETS,
    close_websockets,
    request_id,
    rpc_post,
    rpc_websocket,
)

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _hostname(value: str) -> str:
    """`localhost:8080` → `localhost`; `[::1]:80` → `::1`."""
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def is_local_request(request: web.Request) -> bool:
    """DNS-rebinding defence: Host and Origin, when present, must name this machine."""
    headers = request.headers
    if headers.get("Host") == "localhost" and "Origin" not in headers:
        return True  # the common case, checked first: it is on every request's path
    host = headers.get("Host")
    if host and _hostname(host.lower()) not in LOCAL_HOSTS:
        return False
    origin = request.headers.get("Origin")
    if origin is not None:
        parts = urlsplit(origin.lower())
        if parts.scheme not in ("http", "https") or parts.hostname not in LOCAL_HOSTS:
            return False
    return True


@web.middleware
async def local_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    if is_local_request(request):
        return await handler(request)
    rid = request_id(request)
    error = error_object(InvalidRequest("request refused: Host or Origin is not local"), None, rid)
    return web.Response(
        status=403,
        text=json.dumps({"jsonrpc": "2.0", "error": error, "id": None}),
        content_type="application/json",
        headers={REQUEST_ID_HEADER: rid},
    )


async def health(request: web.Request) -> web.Response:
    daemon = request.app[DAEMON]
    report = daemon.health()
    report["version"] = daemon.version
    report["pid"] = daemon.pid
    report["workspaces"] = [
        {"root": str(ws.root), "pending": ws.pending, "degraded": ws.degraded}
        for ws in daemon.workspaces
    ]
    return web.json_response(report, status=200 if report["status"] == "ok" else 503)


def create_app(daemon: Daemon) -> web.Application:
    """One application per daemon; transports differ only in the sites that serve it."""
    app = web.Application(middlewares=[local_only], client_max_size=daemon.config.max_body_bytes)
    app[DAEMON] = daemon
    app[WEBSOCKETS] = set()
    app.router.add_post("/rpc", rpc_post)
    app.router.add_get("/rpc/ws", rpc_websocket)
    app.router.add_get("/health", health)
    app.on_shutdown.append(close_websockets)
    return app
