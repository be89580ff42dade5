"""Examples of the core methods for the API document (run against a small workspace by the
tests: `tests/e2e/test_api_examples.py`)."""

from __future__ import annotations

from aegisd.rpc.registry import EXAMPLE_ROOT, Example

_WORKSPACE = {
    "id": "3f2a9c1e0b7d",
    "root": EXAMPLE_ROOT,
    "name": "shop",
    "clock": 42,
    "pending": False,
    "degraded": None,
    "opened_at": "2026-01-05T09:58:12.034Z",
    "trusted": False,
}

EXAMPLES: dict[str, tuple[Example, ...]] = {
    "daemon.health": (
        Example({}, result={"status": "ok", "reasons": [], "version": "0.1.0", "pid": 4242}),
    ),
    "daemon.status": (Example({}, summary="Version, uptime, workspaces, plugins, caches"),),
    "daemon.shutdown": (Example({}, result={"stopping": True}),),
    "rpc.discover": (Example({}, summary="This document"),),
    "plugins.list": (Example({}),),
    "workspace.open": (
        Example({"root": EXAMPLE_ROOT}, result={"workspace": _WORKSPACE, "opened": True}),
    ),
    "workspace.list": (Example({}, result={"workspaces": [_WORKSPACE]}),),
    "workspace.close": (Example({"workspace": EXAMPLE_ROOT}, result={"closed": _WORKSPACE}),),
    "workspace.trust": (
        Example(
            {"workspace": EXAMPLE_ROOT, "trusted": True},
            summary="Let tools that run the workspace's code (pytest, mypy plugins) run",
            result={
                "root": EXAMPLE_ROOT,
                "trusted": True,
                "source": "store",
                "via": EXAMPLE_ROOT,
                "workspaces": [{**_WORKSPACE, "trusted": True}],
            },
        ),
    ),
    "workspace.changes": (
        Example(
            {"since": 40},
            summary="What changed since clock 40; pass `cursor` back as `since` next time",
            result={
                "clock": 42,
                "pending": False,
                "instance": "8d1c0e5b2a47",
                "cursor": "8d1c0e5b2a47:42",
                "fresh_instance": False,
                "changes": [{"path": "shop/cart.py", "kind": "modified"}],
            },
        ),
    ),
    "workspace.notify_changes": (
        Example(
            {"paths": ["shop/cart.py"]},
            summary="An editor saved a file and wants it processed now",
            result={"clock": 43, "pending": False, "accepted": 1},
        ),
    ),
    "workspace.overlay": (
        Example(
            {"path": "shop/cart.py", "text": "def total(items):\n    return sum(items)\n"},
            summary="An editor's unsaved buffer: this connection's index.file and lint.report "
            "(ruff) answer from it",
            result={
                "clock": 43,
                "pending": False,
                "path": "shop/cart.py",
                "overlaid": True,
                "overlays": 1,
            },
        ),
        Example({"path": "shop/cart.py"}, summary="Saved or closed: drop it"),
    ),
    "settings.get": (Example({"workspace": EXAMPLE_ROOT}),),
    "settings.update": (
        Example(
            {"settings": {"insights": {"enabled": True}}},
            summary="Turn on LLM insights; every other setting keeps its value",
        ),
    ),
    "events.subscribe": (
        Example(
            {"topics": ["files.changed", "index.updated"]},
            summary="Over the WebSocket (GET /rpc/ws) only",
            result={"topics": ["files.changed", "index.updated"]},
        ),
    ),
    "events.unsubscribe": (
        Example({"topics": ["index.updated"]}, result={"topics": ["files.changed"]}),
    ),
}
