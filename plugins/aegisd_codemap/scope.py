"""Walk state shared by the extractors: the definition each visited node is charged to."""

from __future__ import annotations


class Scope:
    """A definition (or the file itself) while its body is walked.

    ``complexity`` accumulates branch points; ``calls`` is the enclosing class's callee set (None
    outside classes); ``in_class`` makes functions defined directly inside methods.
    """

    __slots__ = ("calls", "complexity", "in_class", "qualname")

    def __init__(self, qualname: str | None, in_class: bool, calls: set[str] | None) -> None:
        self.qualname = qualname
        self.in_class = in_class
        self.calls = calls
        self.complexity = 1

    def child(self, name: str) -> str:
        """The qualified name of ``name`` defined in this scope."""
        return name if self.qualname is None else f"{self.qualname}.{name}"
