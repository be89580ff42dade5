"""The project's attribute-like macros (`cprojmacros`): what each header contributes, the
bounded set the workers get, and which files a change of the set sends back to the parser."""

from __future__ import annotations

import pytest
from aegisd_codemap import cprojmacros
from aegisd_codemap.cmacros import DEFINES, RECOVERED, macro_entries, with_macro_entries
from aegisd_codemap.cprojmacros import ProjectMacros, headers_first


def test_the_set_follows_the_headers_and_names_the_files_to_parse_again() -> None:
    macros = ProjectMacros()
    assert macros.current().names == frozenset() and macros.stale() == []
    macros.take("a.c", (f"{RECOVERED}",))  # recovered with the empty set
    macros.take("b.c", ())  # parsed cleanly: never looked at the set
    macros.take("config.h", (f"{DEFINES}My_Call", f"{DEFINES}XMLCALL", "f\t1\t1"))
    first = macros.current()
    assert first.names == {"My_Call", "XMLCALL"} and first.digest
    assert macros.stale() == ["a.c"]
    macros.take("a.c", (f"{RECOVERED}{first.digest}",))
    assert macros.stale() == []
    macros.take("config.h", (f"{DEFINES}My_Call", f"{DEFINES}XMLCALL"))  # the same set
    assert macros.current() == first and macros.stale() == []
    macros.drop("config.h")
    assert macros.current().names == frozenset() and macros.stale() == ["a.c"]


def test_the_set_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cprojmacros, "MAX_NAMES", 3)
    macros = ProjectMacros()
    macros.take("x.h", tuple(f"{DEFINES}M{i}" for i in range(5)))
    assert macros.current().names == {"M0", "M1", "M2"}


def test_entries_of_a_file_and_of_one_that_stops_parsing() -> None:
    header = b'#define API __attribute__((visibility("default")))\n#define N 3\n#define E\n'
    assert macro_entries(header, True, None) == (f"{DEFINES}API", f"{DEFINES}E")
    assert macro_entries(header, False, "d1") == (f"{RECOVERED}d1",)  # a source's are its own
    kept = ("f\t1\t1", f"{DEFINES}OLD", f"{RECOVERED}d0")
    assert with_macro_entries(kept, (f"{DEFINES}NEW",)) == ("f\t1\t1", f"{DEFINES}NEW")
    assert with_macro_entries(("__all__name",), None) == ("__all__name",)  # not a C file's
    assert with_macro_entries(None, ()) is None


def test_a_batch_parses_its_headers_first() -> None:
    assert headers_first(["a.c", "a.h", "b.py", "c.hpp"]) == [["a.h", "c.hpp"], ["a.c", "b.py"]]
    assert headers_first(["a.py"]) == [["a.py"]]
    assert headers_first(["a.h"]) == [["a.h"]]
    assert headers_first([]) == []
