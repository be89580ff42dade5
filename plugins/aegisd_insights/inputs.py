"""Plain inputs for insights and stage detection: frozen dataclasses, picklable, no I/O.

Paths are relative to the workspace root with "/" separators; lines are 1-based.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["info", "low", "medium", "high", "critical"]

SEVERITY_RANK: Mapping[Severity, int] = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


@dataclass(frozen=True, slots=True)
class FileInput:
    """One indexed file; `loc` counts its lines, `is_test` marks test modules."""

    path: str
    language: str
    loc: int
    is_test: bool = False


@dataclass(frozen=True, slots=True)
class SymbolInput:
    """One symbol; `qualname` is dotted within its file (e.g. "Store.run"), `kind` is "class",
    "function", "method", ...; `complexity` is McCabe's, None where not measured."""

    qualname: str
    kind: str
    path: str
    line: int
    complexity: int | None = None


@dataclass(frozen=True, slots=True)
class ImportEdge:
    """`source` imports `target`; both are files of the workspace."""

    source: str
    target: str


@dataclass(frozen=True, slots=True)
class ImportHop:
    """`source` imports `target` at `line` of `source`."""

    source: str
    target: str
    line: int


@dataclass(frozen=True, slots=True)
class ImportCycle:
    """Files that import each other as they load (`files`, sorted) and a closed path of those
    imports through them (`hops`: each hop's target is the next one's source, the last one's
    the first one's), which may pass fewer files than the cycle holds."""

    files: tuple[str, ...]
    hops: tuple[ImportHop, ...]


@dataclass(frozen=True, slots=True)
class LintIssue:
    """One lint finding; `rule` (e.g. "S603") is optional and only named, never quoted."""

    path: str
    severity: Severity
    rule: str = ""


@dataclass(frozen=True, slots=True)
class ClonePair:
    """Two duplicated regions (1-based inclusive line ranges) and their similarity in [0, 1]."""

    path_a: str
    start_a: int
    end_a: int
    path_b: str
    start_b: int
    end_b: int
    similarity: float


@dataclass(frozen=True, slots=True)
class CloneData:
    """Output of clone detection: per-file duplicated-lines ratio in [0, 1] and the pairs."""

    dup_ratio: Mapping[str, float] = field(default_factory=dict)
    pairs: tuple[ClonePair, ...] = ()


@dataclass(frozen=True, slots=True)
class InsightInputs:
    """Everything `compute_insights` and `detect_stage` look at.

    `cycles` are import cycles as found by the code map (over top-level imports: those that run
    as a module loads); `clones` is None when clone detection has not run.
    """

    files: tuple[FileInput, ...]
    symbols: tuple[SymbolInput, ...] = ()
    imports: tuple[ImportEdge, ...] = ()
    cycles: tuple[ImportCycle, ...] = ()
    lint: tuple[LintIssue, ...] = ()
    clones: CloneData | None = None
    #: all lint issues per file, when `lint` holds only the serious ones (None: count `lint`)
    lint_totals: Mapping[str, int] | None = None
