"""Reference sites, for every language's binder, and how a file's sites are stored.

A file's sites are grouped by name: one stored row (`sitestore`) per name and file, not per
site — a fraction of the rows to write and index. A group's sites are
``line\\tcolumn\\tkind\\tscope\\tbinding`` lines; a group of at least `COMPRESS_FROM`
characters is kept zlib-compressed (bytes; level 1, about a third of the text, a few
microseconds each way): the sites of a tree are otherwise larger than its source.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import NamedTuple

CALL, READ, WRITE, IMPORT, INHERIT, TYPE = "call", "read", "write", "import", "inherit", "type"
REF_KINDS = (CALL, READ, WRITE, IMPORT, INHERIT, TYPE)
#: the binding of a name whose value is not known where it is used
UNKNOWN = "u"
#: a group this long or longer is compressed (shorter ones gain little and cost the call)
COMPRESS_FROM = 128


class Ref(NamedTuple):
    """One reference site: 1-based line and character column of the name, the name, its
    ``kind`` (`REF_KINDS`), the qualname of the definition it sits in ("" at module
    level) and its binding (the binding grammar: `pybind`'s docstring)."""

    line: int
    column: int
    name: str
    kind: str
    scope: str
    binding: str


Packed = list[tuple[str, str | bytes]]
"""A file's sites grouped by name: (name, its sites, as text or compressed)."""


def pack(refs: Iterable[Ref]) -> Packed:
    groups: dict[str, list[str]] = {}
    for ref in refs:
        line, column, name, kind, scope, binding = ref
        groups.setdefault(name, []).append(
            f"{line}\t{column}\t{kind}\t{_field(scope)}\t{_field(binding)}"
        )
    return [(name, _squeeze("\n".join(sites))) for name, sites in sorted(groups.items())]


def unpack(name: str, sites: str | bytes) -> list[Ref]:
    if isinstance(sites, bytes):
        sites = zlib.decompress(sites).decode("utf-8", "surrogatepass")
    found = []
    for entry in sites.split("\n"):
        line, column, kind, scope, binding = entry.split("\t")
        found.append(Ref(int(line), int(column), name, kind, scope, binding))
    return found


def _field(text: str) -> str:
    """A scope or binding as one field: a tab or newline in it (a file's own text, as an
    `#include "a\tb.h"`) would cut the site in two, so each becomes a space."""
    if "\t" in text or "\n" in text:
        return text.replace("\t", " ").replace("\n", " ")
    return text


def _squeeze(text: str) -> str | bytes:
    if len(text) < COMPRESS_FROM:
        return text
    return zlib.compress(text.encode("utf-8", "surrogatepass"), 1)
