"""The workspace's attribute-like C/C++ macros, for the parse workers' macro recovery.

``int XMLCALL XML_Parse(...)`` in ``xmlparse.c`` breaks the parse unless ``XMLCALL`` is blanked,
and ``XMLCALL`` is defined in ``expat_external.h``, not in the file. Each header's extract
lists its object-like ``#define``s whose body is empty or attributes (`cmacros.macro_entries`);
their union, at most `MAX_NAMES`, is the project's `MacroSet`, handed to the workers with every
batch. A file whose first parse failed records the digest of the set it was recovered with;
when the set changes (a header's macros come, go or change), those files are parsed again
(`stale`) — files that parsed cleanly never looked at the set and are left alone. A batch
parses its headers before its sources, so a first index hands sources the whole set at once
and re-parses only headers that failed before it was complete.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from aegisd.store.pathtext import from_db
from aegisd_codemap.cmacros import DEFINES, NO_MACROS, RECOVERED, MacroSet
from aegisd_codemap.dialect import is_c_header
from aegisd_codemap.store import Execute

#: names handed to the workers at most (the first ones by name, a stable choice)
MAX_NAMES = 2_000


@dataclass
class ProjectMacros:
    #: header -> the attribute-like macros it defines
    defined: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: file -> the digest of the set its failed first parse was recovered with
    used: dict[str, str] = field(default_factory=dict)
    _current: MacroSet | None = None

    def take(self, path: str, exports: tuple[str, ...] | None) -> None:
        """A C/C++ file's extract is applied (its ``exports`` entries; None for others)."""
        names = tuple(e[len(DEFINES) :] for e in exports or () if e.startswith(DEFINES))
        if names or path in self.defined:
            if self.defined.get(path) != names:
                self._current = None
            if names:
                self.defined[path] = names
            else:
                del self.defined[path]
        recovered = next((e for e in exports or () if e.startswith(RECOVERED)), None)
        if recovered is None:
            self.used.pop(path, None)
        else:
            self.used[path] = recovered[len(RECOVERED) :]

    def drop(self, path: str) -> None:
        if self.defined.pop(path, None) is not None:
            self._current = None
        self.used.pop(path, None)

    def current(self) -> MacroSet:
        """The set the workers get now."""
        if self._current is None:
            every = sorted({name for names in self.defined.values() for name in names})
            names = every[:MAX_NAMES]
            if not names:
                self._current = NO_MACROS
            else:
                digest = hashlib.blake2b("\n".join(names).encode(), digest_size=8).hexdigest()
                self._current = MacroSet(digest, frozenset(names))
        return self._current

    def stale(self) -> list[str]:
        """Files recovered with a set other than the current one."""
        digest = self.current().digest
        return sorted(path for path, used in self.used.items() if used != digest)


def headers_first(paths: list[str]) -> list[list[str]]:
    """A batch in the order its parses see the project's macros: headers, then the rest."""
    headers = [p for p in paths if is_c_header(p)]
    if not headers:
        return [paths] if paths else []
    rest = [p for p in paths if not is_c_header(p)]
    return [headers, rest] if rest else [headers]


def load(execute: Execute, ws_id: str) -> ProjectMacros:
    """The stored files' macro entries (C/C++ files holding some: a few rows per header)."""
    macros = ProjectMacros()
    cursor = execute(
        "SELECT path, exports FROM codemap_file WHERE workspace_id = ?"
        " AND language IN ('c', 'cpp') AND exports LIKE '%\"#%'",
        (ws_id,),
    )
    for path, exports in cursor:
        macros.take(from_db(path), tuple(json.loads(exports)))
    return macros
