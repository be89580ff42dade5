"""Reference sites, for every language's binder, and how a file's sites are stored.

A file's sites are grouped by name: one stored row (`sitestore`) per name and file, not per
site — a fraction of the rows to write and index. A group is text: `MARK`, then one
``line\\tcolumn\\tkind[\\tscope\\tbinding]`` line per site, where the line is counted from
the site before's, the kind is a letter (`_KIND_LETTERS`), the scope and binding are left out
when they are the site before's, and a binding ending with the site's name is written
``+`` and the rest (``g:`` for ``g:run`` at ``run``; a binding that itself starts with ``+``
or ``\\`` is escaped with a ``\\``). A group of at least `COMPRESS_FROM` characters is kept
zlib-compressed (bytes; level 1, a few microseconds each way): the sites of a tree are
otherwise larger than its source. Groups stored before the marker (plain
``line\\tcolumn\\tkind\\tscope\\tbinding`` lines, compressed or not) are still read.
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
COMPRESS_FROM = 64
#: what a group in this module's format starts with (one stored before starts with a digit)
MARK = "~"
_KIND_LETTERS = {CALL: "c", READ: "r", WRITE: "w", IMPORT: "i", INHERIT: "h", TYPE: "t", "def": "d"}
_KINDS = {letter: kind for kind, letter in _KIND_LETTERS.items()}


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
    groups: dict[str, list[Ref]] = {}
    for ref in refs:
        groups.setdefault(ref.name, []).append(ref)
    return [(name, _squeeze(_group(name, sites))) for name, sites in sorted(groups.items())]


def _group(name: str, refs: list[Ref]) -> str:
    lines, last, before = [], 0, None
    for line, column, _, kind, scope, binding in refs:
        letter = _KIND_LETTERS.get(kind) or f"!{kind}"  # a kind without a letter: as it is
        head = f"{line - last}\t{column}\t{letter}"
        last = line
        held = (_field(scope), _field(binding))
        if held == before:
            lines.append(head)
            continue
        before = held
        scope, binding = held
        if binding.endswith(name) and len(binding) > len(name):
            binding = f"+{binding[: -len(name)]}"
        elif binding[:1] in ("+", "\\"):
            binding = f"\\{binding}"
        lines.append(f"{head}\t{scope}\t{binding}")
    return MARK + "\n".join(lines)


def unpack(name: str, sites: str | bytes) -> list[Ref]:
    if isinstance(sites, bytes):
        sites = zlib.decompress(sites).decode("utf-8", "surrogatepass")
    if not sites.startswith(MARK):
        return _unpack_before(name, sites)
    found = []
    last, scope, binding = 0, "", ""
    for entry in sites[1:].split("\n"):
        fields = entry.split("\t")
        last += int(fields[0])
        kind = fields[2]
        if len(fields) > 3:
            scope, binding = fields[3], fields[4]
            escape = binding[:1]
            if escape == "+":
                binding = binding[1:] + name
            elif escape == "\\":
                binding = binding[1:]
        found.append(Ref(last, int(fields[1]), name, _KINDS.get(kind) or kind[1:], scope, binding))
    return found


def _unpack_before(name: str, sites: str) -> list[Ref]:
    """A group as stored before `MARK` (one full line per site)."""
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
