"""The `terminal` settings section (per workspace; the daemon-wide caps are `[terminal]`)."""

from __future__ import annotations

from pydantic import Field

from aegisd.settings import SectionModel


class TerminalSettings(SectionModel):
    scrollback_bytes: int = Field(
        1024 * 1024,
        ge=4096,
        le=64 * 1024 * 1024,
        description="Output a session keeps for terminal.attach to replay (a ring, per session).",
    )
    record: bool = Field(
        True, description="Write an asciicast v2 recording of each session to the state dir."
    )
    record_input: bool = Field(
        False,
        description="Also record what is typed (off by default: input may hold passwords).",
    )
    shell_integration: bool = Field(
        True,
        description="Install OSC 133 marks in bash so each command becomes an audit event.",
    )
