"""The C/C++ import graph through a real daemon: ``#include`` edges in graph.imports and
graph.dependents on the navc fixture (nearest header, ambiguous and system includes external,
include cycles)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import DaemonProcess
from tests.e2e.test_codemap import wait_indexed
from tests.e2e.test_navigation_c import MAIN, SHAPES, SHAPES_H, navc  # noqa: F401

UTIL_H = "include/geo/util.h"


def _edges(graph: dict[str, Any]) -> set[tuple[str, str, int]]:
    return {(e["source"], e["target"], e["line"]) for e in graph["edges"] if not e["external"]}


def _external(graph: dict[str, Any]) -> set[tuple[str, str]]:
    return {(e["source"], e["target"]) for e in graph["edges"] if e["external"]}


def test_includes_are_edges_of_the_import_graph(daemon_factory: Any, navc: Path) -> None:  # noqa: F811
    # two config.h as near as each other from csrc/ (ambiguous), a nearer geo/util.h for
    # lib/deep/ than include/geo/util.h, a cycle of headers, an include of nothing there
    for folder in ("a", "b", "cyc", "lib/geo", "lib/deep"):
        (navc / folder).mkdir(parents=True, exist_ok=True)
    (navc / "a/config.h").write_text("#define A 1\n")
    (navc / "b/config.h").write_text("#define B 1\n")
    (navc / "csrc/conf.c").write_text('#include "config.h"\n#include "missing.h"\n')
    (navc / "lib/geo/util.h").write_text("int near_util(void);\n")
    (navc / "lib/deep/near.c").write_text('#include "geo/util.h"\n')
    (navc / "cyc/a.h").write_text('#include "b.h"\n')
    (navc / "cyc/b.h").write_text('#include "../cyc/a.h"\n')
    d: DaemonProcess = daemon_factory("--root", str(navc))
    wait_indexed(d)
    graph = d.call("graph.imports", {"include_external": True})
    assert _edges(graph) == {
        (MAIN, SHAPES_H, 2),  # "geo/shapes.h" from src/: through the include directory
        (SHAPES, SHAPES_H, 1),
        ("src/box.cpp", SHAPES_H, 1),
        ("src/util.cpp", UTIL_H, 1),  # as near as lib/geo/util.h: include/ wins the tie
        (SHAPES_H, UTIL_H, 4),  # "geo/util.h" from include/geo/: include/ is nearest
        ("csrc/app.c", "csrc/list.h", 2),  # beside the includer
        ("csrc/list.c", "csrc/list.h", 1),
        ("lib/deep/near.c", "lib/geo/util.h", 1),  # lib/ is nearer than include/
        ("cyc/a.h", "cyc/b.h", 1),
        ("cyc/b.h", "cyc/a.h", 1),
    }
    assert _external(graph) == {
        (MAIN, "<cstdio>"),
        (SHAPES_H, "<vector>"),
        ("csrc/app.c", "<stdio.h>"),
        ("csrc/conf.c", '"config.h"'),  # a/config.h and b/config.h tie: not a guess
        ("csrc/conf.c", '"missing.h"'),
    }
    assert graph["cycles"] == [["cyc/a.h", "cyc/b.h"]]
    focused = d.call("graph.imports", {"path": UTIL_H})
    assert _edges(focused) == {("src/util.cpp", UTIL_H, 1), (SHAPES_H, UTIL_H, 4)}
    deps = d.call("graph.dependents", {"path": UTIL_H, "transitive": True})["dependents"]
    assert deps == [SHAPES_H, "src/box.cpp", MAIN, SHAPES, "src/util.cpp"]
    direct = d.call("graph.dependents", {"path": "csrc/list.h"})["dependents"]
    assert direct == ["csrc/app.c", "csrc/list.c"]
    # a header added where it is nearer moves the edge in the next answer
    (navc / "csrc/config.h").write_text("#define C 1\n")
    d.call("workspace.notify_changes", {"paths": ["csrc/config.h"]})
    assert ("csrc/conf.c", "csrc/config.h", 1) in _edges(d.call("graph.imports"))
