"""The `audit` settings section."""

from __future__ import annotations

from pydantic import Field

from aegisd.settings import SectionModel


class AuditSettings(SectionModel):
    capture: bool = Field(
        True,
        description="While a run is open in this workspace, record file changes as file_change "
        "events with diffs (a run can also turn it off for itself).",
    )
    retention_days: int | None = Field(
        None,
        ge=1,
        description="Delete runs with no activity for this many days (null: keep forever).",
    )
