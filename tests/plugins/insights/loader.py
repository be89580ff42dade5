"""Build InsightInputs from the JSON fixtures in tests/fixtures/insights/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aegisd_insights.inputs import (
    CloneData,
    ClonePair,
    FileInput,
    ImportCycle,
    ImportEdge,
    ImportHop,
    InsightInputs,
    LintIssue,
    SymbolInput,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "insights"


def load_inputs(name: str) -> InsightInputs:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    clones = data.get("clones")
    return InsightInputs(
        files=tuple(FileInput(**f) for f in data["files"]),
        symbols=tuple(SymbolInput(**s) for s in data.get("symbols", [])),
        imports=tuple(ImportEdge(a, b) for a, b in data.get("imports", [])),
        cycles=tuple(
            ImportCycle(tuple(c["files"]), tuple(ImportHop(*hop) for hop in c["hops"]))
            for c in data.get("cycles", [])
        ),
        lint=tuple(LintIssue(**i) for i in data.get("lint", [])),
        clones=None
        if clones is None
        else CloneData(clones["dup_ratio"], tuple(ClonePair(**p) for p in clones["pairs"])),
    )
