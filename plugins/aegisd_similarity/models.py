"""Result records: clones with their locations, per-file hotspots and the index summary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Clone", "Hotspot", "Location", "Summary", "preview"]

PREVIEW_LINES = 4
PREVIEW_CHARS = 240


@dataclass(frozen=True, slots=True)
class Location:
    """A region of a file: path relative to the workspace root, 1-based inclusive lines."""

    path: str
    start_line: int
    end_line: int


@dataclass(frozen=True, slots=True)
class Clone:
    """Two similar regions. `type` is 1 (identical tokens), 2 (identical once identifiers,
    strings and numbers are normalized) or 3 (aligned with gaps); `similarity` is 1.0 for
    types 1 and 2, else 2 * aligned tokens / (tokens of a + tokens of b). `tokens` is the size
    of the smaller region, layout (Python's NEWLINE, INDENT, DEDENT) not counted; `preview`
    shows the first lines of `a`."""

    type: int
    similarity: float
    tokens: int
    a: Location
    b: Location
    preview: str


@dataclass(frozen=True, slots=True)
class Hotspot:
    """A file's duplicated lines (covered by any clone region) and their share of its lines."""

    path: str
    lines: int
    duplicated_lines: int
    ratio: float


@dataclass(frozen=True, slots=True)
class Summary:
    """Totals over the index; `percent` is duplicated_lines / lines * 100."""

    files: int
    lines: int
    duplicated_lines: int
    percent: float
    clones: int


def preview(lines: Sequence[str], start_line: int, end_line: int) -> str:
    """The first lines of a region (from `source.split("\\n")`), dedented and cut short."""
    shown = [
        line.rstrip()
        for line in lines[start_line - 1 : min(end_line, start_line + PREVIEW_LINES - 1)]
    ]
    margin = min((len(line) - len(line.lstrip()) for line in shown if line), default=0)
    text = "\n".join(line[margin:] for line in shown).strip("\n")
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"
