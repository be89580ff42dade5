"""The aiohttp application: routes, each behind the same guard, and the daemon it serves."""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from aegisd.connections import ConnectionGuard
from aegisd.daemon import Daemon
from aegisd.dashboard import dashboard
from aegisd.metrics import CONTENT_TYPE
from aegisd.rpc.errors import InvalidRequest, error_object
from aegisd.rpc.http import (
    DAEMON,
    REQUEST_ID_HEADER,
    TOKEN_PROTOCOL,
    WEBSOCKETS,
    close_websockets,
    request_id,
    rpc_post,
    rpc_websocket,
    transport,
)
from aegisd.security import PeerCheck, bearer_ok

PEERS: web.AppKey[PeerCheck] = web.AppKey("peers")
TOKEN: web.AppKey[str | None] = web.AppKey("token")
CONNECTIONS: web.AppKey[ConnectionGuard] = web.AppKey("connections")

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


def _refuse(request: web.Request, status: int, message: str) -> web.Response:
    rid = request_id(request)
    error = error_object(InvalidRequest(message), None, rid)
    response = web.Response(
        status=status,
        text=json.dumps({"jsonrpc": "2.0", "error": error, "id": None}),
        content_type="application/json",
        headers={REQUEST_ID_HEADER: rid},
    )
    # No second try on this connection: a refused peer cannot keep it open for free.
    response.force_close()
    request.app[CONNECTIONS].refused_request(message)
    return response


def _refusal(request: web.Request) -> web.Response | None:
    """Every transport: local Host/Origin only; Unix peers of this uid; TCP with the token."""
    if not is_local_request(request):
        return _refuse(request, 403, "request refused: Host or Origin is not local")
    app = request.app
    if not app[PEERS].allowed(request.transport):
        return _refuse(request, 403, "request refused: peer runs as another user")
    if transport(request) == "tcp":
        token = app[TOKEN]
        given = request.headers.get("Authorization") or _query_token(request)
        if token is None or not bearer_ok(given, token):
            return _refuse(request, 401, "request refused: missing or wrong bearer token")
        app[CONNECTIONS].authenticated(request.protocol)
    return None


def guarded(handler: Handler) -> Handler:
    """`handler` behind `_refusal`'s checks. A wrapper per route rather than a middleware:
    aiohttp's middleware machinery cost more per request than the checks themselves (about
    4 µs of a 60 µs request, bench/rpc.py)."""

    @functools.wraps(handler)
    async def checked(request: web.Request) -> web.StreamResponse:
        request.app[CONNECTIONS].request_started(request.protocol)
        refusal = _refusal(request)
        if refusal is not None:
            return refusal
        return await handler(request)

    return checked


def _query_token(request: web.Request) -> str | None:
    """A dashboard page may carry the token in its URL (a browser cannot set headers), and a
    browser's WebSocket offers it as a subprotocol `aegisd.token.<token>` (never in a URL)."""
    path = request.path
    if path == "/dashboard" or path.startswith("/dashboard/"):
        token = request.query.get("token")
        return f"Bearer {token}" if token else None
    if path == "/rpc/ws":
        offered = request.headers.get("Sec-WebSocket-Protocol", "")
        for protocol in offered.split(","):
            protocol = protocol.strip()
            if protocol.startswith(TOKEN_PROTOCOL):
                return f"Bearer {protocol[len(TOKEN_PROTOCOL) :]}"
    return None


async def dashboard_page(request: web.Request) -> web.StreamResponse:
    """`/dashboard/<name>[/<file>]`: the page a plugin serves (`aegisd_dashboard_pages`);
    while serve's deferred plugins load, it waits for them like their methods do."""
    daemon = request.app[DAEMON]
    loading = daemon.dispatcher.loading
    if loading is not None and daemon.registry.page(request.match_info["page"]) is None:
        await loading.wait()
    page = daemon.registry.page(request.match_info["page"])
    if page is None:
        raise web.HTTPNotFound(text="no such page")
    response: web.StreamResponse = await page.handler(request)
    return response


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


async def metrics(request: web.Request) -> web.Response:
    body = request.app[DAEMON].metrics.exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


def create_app(daemon: Daemon, token: str | None = None) -> web.Application:
    """One application per daemon; transports differ only in the sites that serve it."""
    app = web.Application(client_max_size=daemon.config.max_body_bytes)
    app[DAEMON] = daemon
    app[WEBSOCKETS] = set()
    app[PEERS] = PeerCheck()
    app[TOKEN] = token
    app[CONNECTIONS] = ConnectionGuard(daemon.config.transport)
    # Every route is guarded: add new ones through `guarded` too.
    app.router.add_post("/rpc", guarded(rpc_post))
    app.router.add_get("/rpc/ws", guarded(rpc_websocket))
    app.router.add_get("/health", guarded(health))
    app.router.add_get("/metrics", guarded(metrics))
    app.router.add_get("/dashboard", guarded(dashboard))
    app.router.add_get("/dashboard/{page}", guarded(dashboard_page))
    app.router.add_get("/dashboard/{page}/{file}", guarded(dashboard_page))
    app.on_shutdown.append(close_websockets)
    return app
