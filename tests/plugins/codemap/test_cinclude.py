"""Resolving ``#include`` to workspace files (`cinclude`), and includes read without the
binder (the benchmark's baseline still has an import graph)."""

from __future__ import annotations

import pytest
from aegisd_codemap.cextract import extract_c
from aegisd_codemap.cinclude import IncludeIndex
from aegisd_codemap.languages import nonblank_prefix
from aegisd_codemap.pybind import BINDINGS_ENV

PATHS = [
    "src/a.c", "src/a.h", "src/sub/b.c", "include/geo/util.h", "lib/geo/util.h",
    "x/config.h", "y/config.h", "README.md", "config.h.in",
]  # fmt: skip


def test_an_include_resolves_to_the_nearest_header() -> None:
    headers = IncludeIndex(PATHS)
    assert headers.resolve("src/a.c", "a.h").files == ("src/a.h",)  # beside
    assert headers.resolve("src/sub/b.c", "../a.h").files == ("src/a.h",)
    assert headers.resolve("src/sub/b.c", "a.h").files == ("src/a.h",)  # src/ is one step away
    # equally near: the directory named include wins
    assert headers.resolve("src/a.c", "geo/util.h").files == ("include/geo/util.h",)
    assert headers.resolve("lib/x/c.c", "geo/util.h").files == ("lib/geo/util.h",)
    tied = headers.resolve("src/a.c", "config.h")
    assert tied.ambiguous and tied.files == ("x/config.h", "y/config.h")
    assert headers.resolve("x/a.c", "config.h").files == ("x/config.h",)
    assert headers.resolve("src/a.c", "../../a.h").files == ()
    # the directory of any header of that name is an include directory: two, equally far
    assert headers.resolve("src/a.c", "util.h").files == ("include/geo/util.h", "lib/geo/util.h")
    assert headers.resolve("src/a.c", "nothere.h").files == ()
    # <a.h> is not looked for beside the includer, but in the project's directories
    assert headers.resolve("src/sub/b.c", "a.h", system=True).files == ("src/a.h",)


def test_includes_are_read_without_the_binder(monkeypatch: pytest.MonkeyPatch) -> None:
    source = (
        b'#include "a.h"\n#ifdef X\n#include <b.h>\n#endif\nextern "C" {\n#include "c.h"\n}\n'
        b"#include MACRO_HEADER\nint f(void) { return 0; }\n"
    )
    bound = extract_c(source, "cpp", nonblank_prefix(source), False)
    monkeypatch.setenv(BINDINGS_ENV, "0")
    unbound = extract_c(source, "cpp", nonblank_prefix(source), False)
    assert unbound.refs is None
    expected = [("a.h", 1, "include"), ("b.h", 3, "system"), ("c.h", 6, "include")]
    for extract in (bound, unbound):
        assert [(r.module, r.line, r.kind) for r in extract.imports] == expected
