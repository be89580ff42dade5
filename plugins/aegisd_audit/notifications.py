"""What the audit trail pushes to subscribers (declared for the API document)."""

from __future__ import annotations

from pydantic import Field

from aegisd.rpc.registry import Example, Notification, NotificationParams
from aegisd_audit.rpc import EventOut


class AuditEventParams(NotificationParams):
    run: int = Field(description="The run the event belongs to")
    workspace: str | None = Field(description="Id of the run's workspace, when it is open")
    event: EventOut


def notifications() -> list[Notification]:
    event = {"id": 12, "run": 3, "type": "command", "title": "pytest -q", "detail": None,
             "actor": "agent", "phase": "validate", "status": "running", "ref": None,
             "payload": None, "truncated": False, "created_at": "2026-01-05T10:00:00.000Z"}  # fmt: skip
    return [
        Notification(
            "audit.event",
            AuditEventParams,
            "An event was stored in a run (by audit.log_event, the hook bridge or capture)",
            examples=(Example({"run": 3, "workspace": "3f2a9c1e0b7d", "event": event}),),
        )
    ]
