"""The `git` settings section: how long a git call may take and how much it may print."""

from __future__ import annotations

from pydantic import Field

from aegisd.settings import SectionModel


class GitSettings(SectionModel):
    timeout_s: float = Field(
        15.0, gt=0, le=3_600, description="A git call taking longer is killed (TIMEOUT)."
    )
    max_output_mib: int = Field(
        64, ge=1, le=4_096, description="A git call printing more is stopped (TOO_LARGE)."
    )
