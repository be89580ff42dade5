"""The `similarity` settings section: defaults of the queries and what the index holds."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from aegisd.settings import SectionModel
from aegisd_similarity.index import DEFAULT_MAX_POSTINGS

Language = Literal["python", "javascript", "typescript", "tsx", "c", "cpp"]
LANGUAGES: tuple[Language, ...] = ("python", "javascript", "typescript", "tsx", "c", "cpp")


class SimilaritySettings(SectionModel):
    min_tokens: int = Field(
        30, ge=5, le=100_000, description="Default smallest clone, in tokens (layout not counted)"
    )
    min_similarity: float = Field(
        0.7, ge=0.0, le=1.0, description="Default lowest similarity of a type-3 clone"
    )
    max_gap: int = Field(
        16, ge=0, le=1_000, description="Widest unaligned stretch inside a type-3 clone, in tokens"
    )
    max_postings: int = Field(
        DEFAULT_MAX_POSTINGS,
        ge=2,
        le=10_000,
        description="Fingerprints shared by more places than this are boilerplate, not seeds",
    )
    languages: list[Language] = Field(
        default_factory=lambda: list(LANGUAGES), description="Languages whose files are indexed"
    )
