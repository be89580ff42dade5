"""Connection limits: no peer can hold the daemon's descriptors with half-sent requests.

Every connection must deliver a complete request head within `header_timeout_s` of connecting
(aiohttp's `keepalive_timeout` then bounds the wait for each later request, and `rpc/http.py`
the time to read a body). TCP connections count as unauthenticated until a request on them
shows the bearer token; at most `max_unauthenticated` of those are open, and at most
`max_connections` connections of any kind, so the Unix socket's owner always gets a
descriptor. Connections over a cap are closed as they arrive; refusals are logged through a
`LogThrottle` (one line per interval, with a count), never one line each.
"""

from __future__ import annotations

import asyncio
import resource
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from loguru import logger

from aegisd.config import TransportConfig
from aegisd.log import LogThrottle

#: descriptors kept for everything but client connections (store, watchers, tool pipes, ...),
#: or half the limit when it is low
RESERVED_DESCRIPTORS = 256


@dataclass(slots=True)
class _Connection:
    transport: asyncio.BaseTransport
    tcp: bool
    authenticated: bool = False
    deadline: asyncio.TimerHandle | None = None


class ConnectionGuard:
    """Counts open connections, refuses those over the caps, closes silent ones."""

    def __init__(self, config: TransportConfig) -> None:
        self.config = config
        self.max_connections = config.max_connections
        self._open: dict[Any, _Connection] = {}
        self.unauthenticated = 0
        self.refused = 0
        self.timed_out = 0
        self.throttle = LogThrottle()
        self._flushing: set[str] = set()

    def fit_descriptor_limit(self) -> None:
        """Lower `max_connections` to what the process's descriptor limit leaves room for."""
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        room = max(16, soft - min(RESERVED_DESCRIPTORS, soft // 2))
        if soft != resource.RLIM_INFINITY and self.max_connections > room:
            logger.info(
                "at most {} connections (descriptor limit {}; transport.max_connections {})",
                room,
                soft,
                self.config.max_connections,
            )
            self.max_connections = room

    @property
    def max_unauthenticated(self) -> int:
        """Unauthenticated TCP connections leave at least half the connections to others."""
        return min(self.config.max_unauthenticated, max(1, self.max_connections // 2))

    @property
    def open_connections(self) -> int:
        return len(self._open)

    def opened(self, handler: Any, transport: asyncio.Transport) -> None:
        tcp = isinstance(transport.get_extra_info("sockname"), tuple)
        if len(self._open) >= self.max_connections:
            self._refuse(transport, "connections", self.max_connections)
            return
        if tcp and self.unauthenticated >= self.max_unauthenticated:
            self._refuse(transport, "unauthenticated TCP connections", self.unauthenticated)
            return
        connection = self._open[handler] = _Connection(transport, tcp)
        if tcp:
            self.unauthenticated += 1
        loop = asyncio.get_running_loop()
        connection.deadline = loop.call_later(self.config.header_timeout_s, self._expire, handler)

    def closed(self, handler: Any) -> None:
        connection = self._open.pop(handler, None)
        if connection is None:
            return
        if connection.deadline is not None:
            connection.deadline.cancel()
        if connection.tcp and not connection.authenticated:
            self.unauthenticated -= 1

    def request_started(self, handler: Any) -> None:
        """A request's head arrived on this connection: its first deadline is met."""
        connection = self._open.get(handler)
        if connection is not None and connection.deadline is not None:
            connection.deadline.cancel()
            connection.deadline = None

    def authenticated(self, handler: Any) -> None:
        """A request on this TCP connection showed the bearer token."""
        connection = self._open.get(handler)
        if connection is not None and connection.tcp and not connection.authenticated:
            connection.authenticated = True
            self.unauthenticated -= 1

    def refused_request(self, reason: str) -> None:
        """A request was refused (token, peer, Host/Origin): logged, at most once per interval."""
        self.refused += 1
        self._log(reason, reason)

    def _expire(self, handler: Any) -> None:
        connection = self._open.get(handler)
        if connection is None:
            return
        connection.deadline = None
        self.timed_out += 1
        connection.transport.close()
        limit = self.config.header_timeout_s
        self._log("timeout", f"closed a connection that sent no complete request in {limit} s")

    def _refuse(self, transport: asyncio.Transport, what: str, cap: int) -> None:
        self.refused += 1
        # After aiohttp's handler has started: closing inside connection_made would tear it
        # down before its task runs.
        asyncio.get_running_loop().call_soon(transport.abort)
        self._log(what, f"refused a connection: {cap} {what} are open, the cap")

    def _log(self, kind: str, text: str) -> None:
        """`text` (no client input in it), the first of its kind at once; later ones within
        the interval are counted and summed up in one line when it ends."""
        dropped = self.throttle.allow(kind)
        if dropped is not None:
            suffix = f" ({dropped} more before this)" if dropped else ""
            logger.warning("{}{}", text, suffix)
        elif kind not in self._flushing:
            self._flushing.add(kind)
            loop = asyncio.get_running_loop()
            loop.call_later(self.throttle.every_s, self._flush, kind, text)

    def _flush(self, kind: str, text: str) -> None:
        self._flushing.discard(kind)
        dropped = self.throttle.drain(kind)
        if dropped:
            logger.warning(
                "{} ({} times in the last {:.0f} s)", text, dropped, self.throttle.every_s
            )


class GuardedServer(web.Server):
    """aiohttp's connection manager, telling a `ConnectionGuard` of each connection."""

    def __init__(self, guard: ConnectionGuard, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.guard = guard

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        self.guard.opened(handler, transport)

    def connection_lost(self, handler: RequestHandler, exc: BaseException | None = None) -> None:
        super().connection_lost(handler, exc)
        self.guard.closed(handler)


class GuardedRunner(web.AppRunner):
    """An AppRunner whose server reports connections to `guard`."""

    def __init__(self, app: web.Application, guard: ConnectionGuard, **kwargs: Any) -> None:
        server_kwargs = {
            k: v for k, v in kwargs.items() if k not in ("handle_signals", "shutdown_timeout")
        }
        super().__init__(app, **kwargs)
        self.guard = guard
        self.server_kwargs = server_kwargs

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()  # runs the app's startup and freezes it
        return GuardedServer(
            self.guard,
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            **self.server_kwargs,
        )
