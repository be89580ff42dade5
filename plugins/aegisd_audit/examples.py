"""Examples of the audit trail's methods for the API document (run against a small workspace
by `tests/e2e/test_api_examples.py`, in the order a session makes them)."""

from __future__ import annotations

from aegisd.rpc.registry import EXAMPLE_ROOT, Example

_RUN = {
    "id": 1,
    "workspace": "3f2a9c1e0b7d",
    "root": EXAMPLE_ROOT,
    "external_id": "claude-code:5d0c",
    "name": "fix the discount bug",
    "actor": "agent",
    "notes": None,
    "status": "open",
    "capture": True,
    "created_at": "2026-01-05T10:00:00.000Z",
    "updated_at": "2026-01-05T10:00:00.000Z",
    "closed_at": None,
    "event_count": 0,
}

EXAMPLES: dict[str, tuple[Example, ...]] = {
    "audit.start_run": (
        Example(
            {"name": "fix the discount bug", "external_id": "claude-code:5d0c"},
            summary="An agent session begins (in the only open workspace)",
            result={**_RUN, "created": True},
        ),
    ),
    "audit.log_event": (
        Example(
            {
                "run": 1,
                "type": "command",
                "title": "pytest -q",
                "phase": "validate",
                "status": "running",
                "payload": {"cwd": EXAMPLE_ROOT},
            },
        ),
    ),
    "audit.list_runs": (Example({"status": "open", "limit": 10}),),
    "audit.get_run": (Example({"run": 1}),),
    "audit.list_events": (Example({"run": 1, "limit": 50}),),
    "audit.diff": (Example({"run": 1}, summary="Files and lint issues the run changed"),),
    "audit.end_run": (Example({"run": 1, "notes": "discount fixed, tests pass"}),),
}
