"""How many references search hits have (`index.search` with `with_references`)."""

from __future__ import annotations

from typing import Protocol

from aegisd_codemap.index import WorkspaceIndex
from aegisd_codemap.languages import BOUND, detect_language
from aegisd_codemap.navigate import Navigator


class Hit(Protocol):
    @property
    def path(self) -> str: ...

    @property
    def qualname(self) -> str: ...


def reference_counts(index: WorkspaceIndex, hits: list[Hit]) -> list[int | None]:
    """Each hit's references (None where names are not bound), one resolver for them all."""
    nav = Navigator(index)
    counts: list[int | None] = []
    for hit in hits:
        if detect_language(hit.path) not in BOUND:
            counts.append(None)
            continue
        counts.append(sum(1 for _ in nav.references({(hit.path, hit.qualname)})))
    return counts
