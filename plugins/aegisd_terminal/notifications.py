"""What terminal sessions push to their viewers (declared for the API document). Unlike the
topics of `events.subscribe`, these go to the WebSockets attached to a session only."""

from __future__ import annotations

from pydantic import Field

from aegisd.rpc.registry import Example, Notification, NotificationParams


class OutputParams(NotificationParams):
    id: str = Field(description="The session")
    seq: int = Field(description="Frame number, consecutive per session (a replay: its last)")
    data: str = Field(description="Output, UTF-8 decoded (invalid bytes as U+FFFD)")


class ExitParams(NotificationParams):
    id: str
    code: int | None = Field(description="Exit code (none when ended by a signal)")
    signal: str | None = Field(description="The signal that ended it, e.g. SIGHUP")


class OverflowParams(NotificationParams):
    id: str
    seq: int = Field(
        description="The last frame sent: this viewer was too slow and gets no more live "
        "output until terminal.attach {since_seq: seq}"
    )


def notifications() -> list[Notification]:
    return [
        Notification("terminal.output", OutputParams, "Output of a session this WebSocket attached to",
                     examples=(Example({"id": "term-3f2a9c1e0b7d", "seq": 7, "data": "42\r\n"}),)),
        Notification("terminal.exit", ExitParams, "An attached session's program exited",
                     examples=(Example({"id": "term-3f2a9c1e0b7d", "code": 0, "signal": None}),)),
        Notification("terminal.overflow", OverflowParams,
                     "This viewer fell behind an attached session; attach again to catch up",
                     examples=(Example({"id": "term-3f2a9c1e0b7d", "seq": 41}),)),
    ]  # fmt: skip
