"""Token codes: CRC-32 of a token's text, seeded per language family.

Seeding keeps Python from ever matching C, while JavaScript and TypeScript (or C and C++) share
codes and can match each other. Placeholders (identifier, string, number) and Python's layout
tokens get codes from texts no real token has.
"""

from __future__ import annotations

import zlib
from array import array
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

__all__ = ["FAMILIES", "Lexed", "Lexicon", "lexicon"]

FAMILIES: dict[str, str] = {
    "python": "python",
    "javascript": "js",
    "typescript": "js",
    "tsx": "js",
    "c": "c",
    "cpp": "c",
}


class Lexed(NamedTuple):
    """What a lexer returns (see `FileTokens` for each array)."""

    norm: array[int]
    orig: array[int]
    breaks: array[int]
    layout: array[int]


@dataclass(frozen=True, slots=True)
class Lexicon:
    """The codes of one language family, and which tokens bound a statement."""

    family: str
    seed: int
    ident: int
    string: int
    number: int
    newline: int
    indent: int
    dedent: int
    starts_after: frozenset[int]  # a region may start right after one of these
    ends_after: frozenset[int]  # a region may end right after one of these
    never_first: frozenset[int]  # a region never starts with one of these

    def code(self, text: str) -> int:
        return zlib.crc32(text.encode("utf-8", "surrogatepass"), self.seed)


@cache
def lexicon(language: str) -> Lexicon:
    """The lexicon of `language` (a key of FAMILIES)."""
    family = FAMILIES[language]
    seed = zlib.crc32(family.encode())

    def code(text: str) -> int:
        return zlib.crc32(text.encode(), seed)

    newline, indent, dedent = code("\0NEWLINE"), code("\0INDENT"), code("\0DEDENT")
    if family == "python":
        starts = frozenset((newline, indent, dedent))
        ends = frozenset((newline, dedent))
        never = frozenset((newline, dedent))
    else:
        starts = frozenset(map(code, (";", "{", "}")))
        ends = frozenset(map(code, (";", "}")))
        never = frozenset(map(code, ("}",)))
    return Lexicon(
        family=family,
        seed=seed,
        ident=code("\0ID"),
        string=code("\0STR"),
        number=code("\0NUM"),
        newline=newline,
        indent=indent,
        dedent=dedent,
        starts_after=starts,
        ends_after=ends,
        never_first=never,
    )
