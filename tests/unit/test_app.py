"""The application: every route answers only behind the guard."""

from __future__ import annotations

from types import SimpleNamespace

from aegisd.app import create_app
from aegisd.config import TransportConfig


def test_every_route_is_behind_the_guard() -> None:
    config = SimpleNamespace(max_body_bytes=1024, transport=TransportConfig())
    daemon = SimpleNamespace(config=config)
    app = create_app(daemon)  # type: ignore[arg-type]
    routes = list(app.router.routes())
    assert len(routes) >= 5
    for route in routes:
        assert getattr(route.handler, "__wrapped__", None) is not None, route
