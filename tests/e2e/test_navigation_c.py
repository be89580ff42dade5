"""C/C++ navigation through a real daemon: definitions, references, call graphs and symbol
dependents over the socket, on a fixture project (headers and sources, namespaces, classes with
out-of-class methods, templates, ``using``, macros, function pointers) checked by hand."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, DaemonProcess
from tests.e2e.test_codemap import wait_indexed
from tests.e2e.test_navigation import _definition, _sites

FIXTURE = REPO / "tests/fixtures/codemap/navc"
SHAPES_H, SHAPES, MAIN = "include/geo/shapes.h", "src/shapes.cpp", "src/main.cpp"


@pytest.fixture
def navc(tmp_path: Path) -> Path:
    root = tmp_path / "navc"
    shutil.copytree(FIXTURE, root)
    return root


def test_definitions_across_headers_and_sources(daemon_factory: Any, navc: Path) -> None:
    d: DaemonProcess = daemon_factory("--root", str(navc))
    wait_indexed(d)
    cases = {
        # a virtual call through a reference's declared type: the pure virtual declaration
        (MAIN, 9, 19): ("resolved", [(SHAPES_H, "geo.Shape.area")]),
        # through a pointer: the out-of-class definition in the source, not the header
        (MAIN, 9, 30): ("resolved", [(SHAPES, "geo.Circle.area")]),
        # `using geo::detail::square`: declared in the header, defined in the source
        (MAIN, 10, 10): ("resolved", [(SHAPES, "geo.detail.square")]),
        (MAIN, 10, 20): ("resolved", [(SHAPES, "geo.Circle.radius")]),
        # `using namespace geo`: the class
        (MAIN, 15, 3): ("resolved", [(SHAPES_H, "geo.Circle")]),
        # a class template's method defined out of class in another source
        (MAIN, 17, 7): ("resolved", [("src/box.cpp", "geo.Box.put")]),
        # a namespace alias into an inline namespace
        (MAIN, 17, 15): ("resolved", [("src/util.cpp", "geo.util.v1.clamp")]),
        # `new Circle(...)`
        (MAIN, 18, 18): ("resolved", [(SHAPES_H, "geo.Circle")]),
        (MAIN, 19, 14): ("resolved", [(MAIN, "total")]),
        # a template's method defined in its header
        (MAIN, 19, 34): ("resolved", [(SHAPES_H, "geo.Box.get")]),
        # macros are symbols
        (MAIN, 21, 10): ("resolved", [(SHAPES_H, "GEO_SCALE")]),
        (SHAPES_H, 15, 35): ("resolved", [(SHAPES_H, "GEO_TWICE")]),
        # an include is a module; a system header is external
        (MAIN, 2, 12): ("resolved", [(SHAPES_H, "geo/shapes.h")]),
        (MAIN, 1, 12): ("external", []),
        (MAIN, 20, 8): ("external", []),
        # `this->` and a qualified call inside an out-of-class method
        (SHAPES, 12, 29): ("resolved", [(SHAPES, "geo.detail.square")]),
        # a definition's own name; a declaration in its class goes to the body
        (SHAPES, 11, 16): ("resolved", [(SHAPES, "geo.Circle.area")]),
        (SHAPES_H, 21, 10): ("resolved", [(SHAPES, "geo.Circle.area")]),
        # C: a prototype in a header, the body in a source; a static forward declaration
        ("csrc/app.c", 6, 3): ("resolved", [("csrc/list.c", "list_init")]),
        ("csrc/list.c", 15, 43): ("resolved", [("csrc/list.c", "add")]),
        ("csrc/list.c", 8, 18): ("resolved", [("csrc/list.h", "LIST_MAX")]),
        ("csrc/app.c", 9, 3): ("external", []),
        # in a comment, on a directive's keyword: no name there
        ("csrc/app.c", 8, 10): ("unresolved", []),
        ("csrc/list.h", 4, 3): ("unresolved", []),
    }
    for (path, line, column), expected in cases.items():
        assert _definition(d, path, line, column) == expected, (path, line, column)
    printf = d.call("index.definition", {"path": MAIN, "line": 20, "column": 8})
    assert printf["external"] == "std::printf"
    assert (
        d.call("index.definition", {"path": "csrc/app.c", "line": 8, "column": 10})["name"] is None
    )


def test_references_include_declarations_and_every_spelling(
    daemon_factory: Any, navc: Path
) -> None:
    d: DaemonProcess = daemon_factory("--root", str(navc))
    wait_indexed(d)
    area = [(SHAPES_H, 21, 10, "write"), (MAIN, 9, 30, "call")]
    assert _sites(d.call("index.references", {"name": "geo::Circle::area"})) == area
    by_position = d.call("index.references", {"path": SHAPES_H, "line": 21, "column": 10})
    assert _sites(by_position) == area and by_position["symbol"]["path"] == SHAPES
    square = _sites(d.call("index.references", {"name": "square"}))
    assert square == [
        (SHAPES_H, 44, 8, "write"),  # its declaration
        (MAIN, 6, 20, "import"),  # using geo::detail::square
        (MAIN, 10, 10, "call"),
        (SHAPES, 12, 28, "call"),  # detail::square inside namespace geo
    ]
    clamp = _sites(d.call("index.references", {"name": "clamp"}))
    assert clamp == [("include/geo/util.h", 6, 5, "write"), (MAIN, 17, 15, "call")]
    assert _sites(d.call("index.references", {"name": "list_push"})) == [
        ("csrc/app.c", 7, 3, "call"),  # not the one in a comment on line 8
        ("csrc/list.h", 15, 14, "write"),
    ]
    assert _sites(d.call("index.references", {"name": "add"})) == [
        ("csrc/list.c", 3, 12, "write"),
        ("csrc/list.c", 15, 41, "call"),
    ]
    scale = _sites(d.call("index.references", {"name": "GEO_SCALE"}))
    assert scale == [(MAIN, 21, 10, "read")]
    shape = _sites(d.call("index.references", {"name": "geo::Shape"}))
    assert (SHAPES_H, 18, 23, "inherit") in shape and (MAIN, 8, 21, "type") in shape
    deps = d.call("graph.dependents", {"path": "csrc/list.c", "symbol": "list_push"})
    assert deps["dependents"] == ["csrc/app.c", "csrc/list.h"]


def test_call_graph_across_files_and_function_pointers(daemon_factory: Any, navc: Path) -> None:
    d: DaemonProcess = daemon_factory("--root", str(navc))
    wait_indexed(d)
    callees = d.call("graph.calls", {"name": "total", "depth": 2})
    assert {(e["source"], e["target"], e["line"]) for e in callees["edges"]} == {
        (f"{MAIN}:total", f"{SHAPES_H}:geo.Shape.area", 9),
        (f"{MAIN}:total", f"{SHAPES}:geo.Circle.area", 9),
        (f"{MAIN}:total", f"{SHAPES}:geo.detail.square", 10),
        (f"{MAIN}:total", f"{SHAPES}:geo.Circle.radius", 10),
        (f"{SHAPES}:geo.Circle.area", f"{SHAPES}:geo.detail.square", 12),
    }
    each = d.call("graph.calls", {"name": "list_each"})
    assert [(e["target"], e["line"]) for e in each["edges"]] == [("csrc/list.c:add", 15)]
    # a call through a function pointer is listed, unresolved
    assert [(u["name"], u["line"], u["resolution"]) for u in each["unresolved"]] == [
        ("fn", 15, "unresolved")
    ]
    callers = d.call("graph.calls", {"name": "list_each", "direction": "callers"})
    assert {(e["source"], e["target"]) for e in callers["edges"]} == {
        ("csrc/list.c:list_sum", "csrc/list.c:list_each"),
        ("csrc/app.c:main", "csrc/list.c:list_sum"),
    }


def test_an_added_call_shows_within_one_batch_and_a_broken_file_keeps_its_sites(
    daemon_factory: Any, navc: Path
) -> None:
    d: DaemonProcess = daemon_factory("--root", str(navc))
    wait_indexed(d)
    app = navc / "csrc" / "app.c"
    good = app.read_text().replace("  return 0;", "  list_each(&l, 0);\n  return 0;")
    app.write_text(good)
    clock = d.call("workspace.notify_changes", {"paths": ["csrc/app.c"]})["clock"]
    after = d.call("graph.calls", {"name": "list_each", "direction": "callers", "depth": 1})
    assert after["clock"] >= clock
    assert ("csrc/app.c:main", 10) in {(e["source"], e["line"]) for e in after["edges"]}
    app.write_text(good + "int broken( {\n")
    d.call("workspace.notify_changes", {"paths": ["csrc/app.c"]})
    assert d.call("index.file", {"path": "csrc/app.c"})["stale"] is True
    kept = d.call("graph.calls", {"name": "list_each", "direction": "callers", "depth": 1})
    assert ("csrc/app.c:main", 10) in {(e["source"], e["line"]) for e in kept["edges"]}


def test_include_cycles_and_deep_chains_are_bounded(daemon_factory: Any, navc: Path) -> None:
    (navc / "cyc").mkdir()
    (navc / "cyc/a.h").write_text('#include "b.h"\nint in_a(void);\n')
    (navc / "cyc/b.h").write_text('#include "a.h"\nint in_b(void) { return 1; }\n')
    (navc / "cyc/use.c").write_text('#include "a.h"\nint use(void) { return in_b(); }\n')
    (navc / "deep").mkdir()
    for i in range(1000):
        (navc / f"deep/h{i}.h").write_text(f'#include "h{i + 1}.h"\n')
    (navc / "deep/h1000.h").write_text("#define DEEPEST 1\n")
    (navc / "deep/top.c").write_text('#include "h0.h"\nint top(void) { return DEEPEST; }\n')
    d: DaemonProcess = daemon_factory("--root", str(navc))
    wait_indexed(d)
    assert _definition(d, "cyc/use.c", 2, 24) == ("resolved", [("cyc/b.h", "in_b")])
    # past the include bound, the name is still found by name across the workspace
    assert _definition(d, "deep/top.c", 2, 24) == ("resolved", [("deep/h1000.h", "DEEPEST")])
