"""A plugin whose startup raises: it must be blocked while the daemon keeps serving."""

from __future__ import annotations

from aegisd import hookimpl


@hookimpl
def aegisd_startup(daemon: object) -> None:
    """Fail on purpose."""
    raise RuntimeError("cannot start: missing widget")
