"""Issue 18's language gaps through a real daemon: a header's dialect in `index.file`, the new
kinds in search, and an overload's implementation ranked first, before and after a restart."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from tests.conftest import REPO, DaemonProcess
from tests.e2e.test_codemap import wait_indexed


def test_dialects_kinds_and_overloads_through_the_daemon(
    daemon_factory: Any, tmp_path: Path
) -> None:
    root = tmp_path / "gaps"
    shutil.copytree(REPO / "tests/fixtures/codemap/gaps", root)
    d: DaemonProcess = daemon_factory("--root", str(root))
    wait_indexed(d)
    dialects = {
        path: (found["language"], found["dialect"])
        for path in ["include/unistr.h", "src/engine.h", "include/utypes.h", "src/xmlparse.c"]
        for found in [d.call("index.file", {"path": path})]
    }
    assert dialects == {
        "include/unistr.h": ("cpp", "cpp"),  # by its content
        "src/engine.h": ("cpp", "cpp"),  # by engine.cpp beside it
        "include/utypes.h": ("c", "c"),
        "src/xmlparse.c": ("c", None),
    }
    unistr = d.call("index.file", {"path": "include/unistr.h"})
    assert unistr["errors"] == []
    assert [n["qualname"] for n in unistr["outline"]][:2] == ["UnicodeString", "Box"]
    parse = d.call("index.search", {"query": "XML_Parse"})["hits"][0]
    assert (parse["kind"], parse["line"]) == ("function", 7)
    kinds = {
        query: [
            (h["qualname"], h["kind"]) for h in d.call("index.search", {"query": query})["hits"]
        ]
        for query in ["ObservableInput", "View", "Router.route"]
    }
    assert kinds == {
        "ObservableInput": [("ObservableInput", "type")],
        "View": [("View", "constant")],
        "Router.route": [("Router.route", "method")],
    }
    assert [
        h["qualname"] for h in d.call("index.search", {"query": "v", "kind": "constant"})["hits"]
    ] == ["View"]

    def overload_lines(daemon: DaemonProcess) -> list[int]:
        return [
            h["line"]
            for h in daemon.call("index.search", {"query": "of"})["hits"]
            if h["name"] == "of"
        ]

    assert overload_lines(d) == [7, 5, 6]  # the implementation first
    assert d.stop() == 0
    d2: DaemonProcess = daemon_factory("--root", str(root))
    warm = wait_indexed(d2)
    assert warm["parsed"] == 0  # read back from the store: still the implementation first
    assert overload_lines(d2) == [7, 5, 6]


def test_a_header_is_parsed_again_when_its_cpp_sibling_comes_or_goes(
    daemon_factory: Any, tmp_path: Path
) -> None:
    root = tmp_path / "sib"
    root.mkdir()
    # C++ only by its sibling: as C, the method-like prototype stays a top-level function
    (root / "widget.h").write_text("struct Widget;\nint widget_size(struct Widget *w);\n")
    (root / "other.h").write_text("int other(void);\n")
    d: DaemonProcess = daemon_factory("--root", str(root))
    wait_indexed(d)

    def dialect() -> str:
        return str(d.call("index.file", {"path": "widget.h"})["dialect"])

    assert dialect() == "c"
    (root / "widget.cpp").write_text('#include "widget.h"\n')
    d.call("workspace.notify_changes", {"paths": ["widget.cpp"]})
    assert dialect() == "cpp"
    assert d.call("index.file", {"path": "other.h"})["dialect"] == "c"
    (root / "widget.cpp").unlink()
    d.call("workspace.notify_changes", {"paths": ["widget.cpp"]})
    assert dialect() == "c"
    # a sibling that comes while the daemon is down counts at the next start
    assert d.stop() == 0
    (root / "widget.hpp").write_text("#pragma once\n")
    d2: DaemonProcess = daemon_factory("--root", str(root))
    wait_indexed(d2)
    assert d2.call("index.file", {"path": "widget.h"})["dialect"] == "cpp"


def test_a_macro_a_header_defines_recovers_the_files_using_it(
    daemon_factory: Any, tmp_path: Path
) -> None:
    root = tmp_path / "macros"
    (root / "include").mkdir(parents=True)
    (root / "src").mkdir()
    # mixed-case names: only the project's set can tell these are macros
    config = "#define My_Call __attribute__((cdecl))\n#define My_Inline inline\n#define LIMIT 10\n"
    (root / "include/config.h").write_text(config)
    (root / "src/a.c").write_text(
        '#include "config.h"\nint My_Call compute(int x) { return x + LIMIT; }\n'
        "static My_Inline int twice(int x) { return compute(x) * 2; }\n"
    )
    (root / "src/b.c").write_text("int clean(void) { return 0; }\n")
    d: DaemonProcess = daemon_factory("--root", str(root))
    parsed = wait_indexed(d)["parsed"]

    def a_c() -> tuple[list[int], list[tuple[str, str | None]]]:
        found = d.call("index.file", {"path": "src/a.c"})
        return [e["line"] for e in found["errors"]], [
            (n["name"], n["signature"]) for n in found["outline"]
        ]

    recovered = ([], [("compute", "(int x) -> int"), ("twice", "(int x) -> int")])
    assert a_c() == recovered
    assert (
        d.call("index.definition", {"path": "src/a.c", "line": 3, "column": 44})["definitions"][0][
            "line"
        ]
        == 2
    )
    # the header stops defining My_Call: a.c, recovered with the old set, is parsed again
    # (b.c, which parsed cleanly, is not: one more file parsed, the header)
    (root / "include/config.h").write_text(config.replace("My_Call", "Other_Call"))
    d.call("workspace.notify_changes", {"paths": ["include/config.h"]})
    assert a_c()[0] == [2]
    assert wait_indexed(d)["parsed"] == parsed + 1  # a.c is stale: its last good outline kept
    (root / "include/config.h").write_text(config)
    d.call("workspace.notify_changes", {"paths": ["include/config.h"]})
    assert a_c() == recovered
    # the set is read back from the store at the next start
    assert d.stop() == 0
    (root / "src/a.c").write_text((root / "src/a.c").read_text() + "int My_Call more(void);\n")
    d2: DaemonProcess = daemon_factory("--root", str(root))
    wait_indexed(d2)
    assert d2.call("index.file", {"path": "src/a.c"})["errors"] == []
