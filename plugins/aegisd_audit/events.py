"""The audit event vocabulary, and `prepare_event`: what every event goes through before it is
stored, whichever way it came in (RPC, `audit exec`, the agent hook, spool replay, file watching).
"""

from dataclasses import dataclass
from typing import Any, Literal, get_args

from aegisd_audit.limits import (
    DETAIL_MAX_BYTES,
    PAYLOAD_MAX_BYTES,
    cap_detail,
    cap_payload,
    check_payload_depth,
    check_title,
)
from aegisd_audit.redact import redact, redact_optional, redact_text

# Event types are free text; these are the ones aegisd itself writes and the dashboard knows.
KNOWN_EVENT_TYPES = (
    "session",
    "thought",
    "command",
    "command_result",
    "file_change",
    "git",
    "phase",
    "error",
    "note",
    "tool_call",
)
Actor = Literal["agent", "human", "system"]
Phase = Literal["init", "explore", "plan", "apply", "validate", "complete"]
Status = Literal["ok", "error", "pending", "running"]
ACTORS: tuple[str, ...] = get_args(Actor)
PHASES: tuple[str, ...] = get_args(Phase)
STATUSES: tuple[str, ...] = get_args(Status)


@dataclass(frozen=True)
class PreparedEvent:
    """An event's free-form fields, redacted and within limits; `truncated` is stored with it."""

    title: str
    detail: str | None
    payload: dict[str, Any] | None
    truncated: bool
    type: str = "note"
    ref: str | None = None


def prepare_event(
    title: str,
    detail: str | None = None,
    payload: dict[str, Any] | None = None,
    *,
    type: str = "note",
    ref: str | None = None,
    detail_max_bytes: int = DETAIL_MAX_BYTES,
    payload_max_bytes: int = PAYLOAD_MAX_BYTES,
) -> PreparedEvent:
    """Validate the title (`TitleTooLongError` over 200 chars) and the payload's depth
    (`PayloadTooDeepError` deeper than 64 levels), redact every text field (and payload
    keys), then cap detail and payload.

    Redaction comes before capping so that a cut never splits a secret into a shape that is no
    longer recognised. The title is checked as the client sent it; redaction may lengthen it a
    little (``x=1`` becomes ``x=[REDACTED]``).
    """
    check_title(title)
    check_payload_depth(payload)
    capped_detail, detail_cut = cap_detail(redact_optional(detail), detail_max_bytes)
    capped_payload, payload_cut = cap_payload(redact(payload), payload_max_bytes)
    return PreparedEvent(
        title=redact_text(title),
        detail=capped_detail,
        payload=capped_payload,
        truncated=detail_cut or payload_cut,
        type=redact_text(type),
        ref=redact_optional(ref),
    )
