"""The `codemap` settings section."""

from __future__ import annotations

from pydantic import Field

from aegisd.settings import SectionModel


class CodemapSettings(SectionModel):
    max_preview_bytes: int = Field(
        512 * 1024, ge=1024, le=64 * 1024 * 1024, description="index.preview refuses larger files"
    )
