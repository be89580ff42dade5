from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aegisd_codemap.graph import (
    ImportGraph,
    ImportHop,
    ImportSite,
    build_import_graph,
    cycle_path,
    dependents,
    import_cycles,
    strongly_connected,
)
from aegisd_codemap.model import FileExtract, ImportRef
from aegisd_codemap.resolve import ModuleIndex, root_package


def graph_of(files: dict[str, FileExtract]) -> ImportGraph:
    return build_import_graph({path: f.imports for path, f in files.items()})


def lines(sites: Mapping[str, Mapping[str, ImportSite]]) -> dict[str, dict[str, int]]:
    """Each file's non-empty edges (or leaves) with their lines."""
    return {path: {t: s.line for t, s in found.items()} for path, found in sites.items() if found}


def test_python_imports_resolve_to_workspace_files(pyproj: dict[str, FileExtract]) -> None:
    graph = graph_of(pyproj)
    assert lines(graph.edges) == {
        "pkg/__init__.py": {"pkg/base.py": 1},
        "pkg/a.py": {"pkg/b.py": 1},
        "pkg/b.py": {"pkg/a.py": 1},
        "pkg/models.py": {"pkg/base.py": 3},
        "pkg/selfish.py": {"pkg/selfish.py": 1},
        # ``from pkg import Base, models``: the submodule, and the package for Base.
        "pkg/services.py": {"pkg/models.py": 1, "pkg/__init__.py": 2},
        # ``from .. import models``, ``from ..base import Base``, ``from . import sibling``.
        "pkg/sub/deep.py": {"pkg/models.py": 3, "pkg/base.py": 4, "pkg/sub/sibling.py": 6},
        "pkg/x.py": {"pkg/y.py": 1},
        "pkg/y.py": {"pkg/z.py": 1},
        "pkg/z.py": {"pkg/x.py": 1},
        # A script's own directory is a root; so is src/.
        "scripts/tool.py": {"scripts/helper.py": 1, "src/srcpkg/core.py": 2},
        "src/srcpkg/core.py": {"pkg/sub/deep.py": 1},
    }
    assert lines(graph.external) == {
        "pkg/base.py": {"os": 1},
        "pkg/models.py": {"collections": 1},
        "pkg/sub/deep.py": {"numpy": 1, "..missing": 5},
    }
    assert set(graph.edges) == set(pyproj)


def test_import_cycles_of_one_two_and_three_files(pyproj: dict[str, FileExtract]) -> None:
    assert import_cycles(graph_of(pyproj)) == [
        ["pkg/x.py", "pkg/y.py", "pkg/z.py"],
        ["pkg/a.py", "pkg/b.py"],
        ["pkg/selfish.py"],
    ]


def test_dependents_direct_and_transitive(pyproj: dict[str, FileExtract]) -> None:
    graph = graph_of(pyproj)
    assert dependents(graph, "pkg/base.py") == [
        "pkg/__init__.py",
        "pkg/models.py",
        "pkg/sub/deep.py",
    ]
    assert dependents(graph, "pkg/base.py", transitive=True) == [
        "pkg/__init__.py",
        "pkg/models.py",
        "pkg/services.py",
        "pkg/sub/deep.py",
        "scripts/tool.py",
        "src/srcpkg/core.py",
    ]
    assert dependents(graph, "pkg/x.py", transitive=True) == ["pkg/y.py", "pkg/z.py"]
    assert dependents(graph, "pkg/selfish.py") == []
    assert dependents(graph, "not/there.py") == []


def test_javascript_specifiers_resolve_with_extensions_and_index(
    jsproj: dict[str, FileExtract],
) -> None:
    graph = graph_of(jsproj)
    assert lines(graph.edges) == {
        # "./lib" is lib/index.ts; "./types.js" is the TypeScript source types.ts.
        "src/index.ts": {"src/app.ts": 1, "src/lib/index.ts": 2, "src/types.ts": 3},
        "src/app.ts": {"src/lib/index.ts": 2, "src/renderer.ts": 3, "src/util.js": 4},
        "src/lib/index.ts": {"src/lib/shapes.ts": 1},
        "src/util.js": {"src/cycle/ping.js": 1},
        "src/cycle/ping.js": {"src/cycle/pong.mjs": 1},
        "src/cycle/pong.mjs": {"src/cycle/ping.js": 1},
        "src/lazy.tsx": {"src/app.ts": 1},
    }
    assert lines(graph.external) == {
        "src/index.ts": {"react": 4, "@scope/pkg": 5},
        "src/app.ts": {"react": 1},
        "src/missing.ts": {"./nope": 1, "../../outside": 2},
    }
    assert import_cycles(graph) == [["src/cycle/ping.js", "src/cycle/pong.mjs"]]


def test_resolution_prefers_the_importers_root() -> None:
    index = ModuleIndex(["a/util.py", "b/util.py", "b/main.py", "util.py", "c/x.py"])
    ref = ImportRef("util", (), 0, 1, "import")
    assert index.python_targets(ref, "b/main.py") == (["b/util.py"], [])
    assert index.python_targets(ref, "c/x.py") == (["util.py"], [])
    assert index.js_target("./x", "index.ts") is None
    assert index.js_target("lodash/fp", "index.ts") is None


def test_relative_imports_beyond_the_top_package_are_leaves() -> None:
    files = {
        "pkg/__init__.py": [],
        "pkg/m.py": [ImportRef("gone", (("x", "x"),), 3, 1, "from")],
        "top.py": [ImportRef("", (("sibling", "sibling"),), 1, 2, "from")],
    }
    graph = build_import_graph(files)
    assert lines(graph.external) == {"pkg/m.py": {"...gone": 1}, "top.py": {".": 2}}


def test_missing_workspace_module_is_named_as_written() -> None:
    files = {"pkg/__init__.py": [], "main.py": [ImportRef("pkg.gone", (), 0, 1, "import")]}
    assert lines(build_import_graph(files).external) == {"main.py": {"pkg.gone": 1}}


def test_strongly_connected_handles_deep_graphs_without_recursion() -> None:
    chain = {str(i): [str(i + 1)] for i in range(50_000)}
    chain["50000"] = ["0"]
    [component] = strongly_connected(chain)
    assert len(component) == 50_001
    line = {str(i): [str(i + 1)] for i in range(50_000)}
    assert len(strongly_connected(line)) == 50_001


def test_a_root_package_is_named_and_its_imports_resolve() -> None:
    files = {
        "__init__.py": [],
        "a.py": [ImportRef("", (("b", "b"),), 1, 1, "from")],
        "b.py": [],
        "c.py": [ImportRef("p", (("b", "b"),), 0, 1, "from"), ImportRef("p.a", (), 0, 2, "import")],
        "sub/__init__.py": [],
        "sub/x.py": [ImportRef("", (("a", "a"),), 2, 1, "from")],
        "scripts/tool.py": [ImportRef("sub", (), 0, 1, "import")],  # its own root: sub is absent
    }
    graph = build_import_graph(files, package="p")
    assert lines(graph.edges) == {
        "a.py": {"b.py": 1},
        "c.py": {"b.py": 1, "a.py": 2},
        "sub/x.py": {"a.py": 1},
    }
    assert lines(graph.external)["scripts/tool.py"] == {"sub": 1}
    # Without a name, relative imports still resolve; "p" is then nothing in the workspace.
    unnamed = build_import_graph(files)
    assert lines(unnamed.edges)["a.py"] == {"b.py": 1}
    assert lines(unnamed.external)["c.py"] == {"p": 1}


def test_a_nested_root_package_keeps_outside_modules_external() -> None:
    files = {
        "__init__.py": [],
        "admin/__init__.py": [],
        "admin/sites.py": [
            ImportRef("django.contrib.auth", (("models", "models"),), 0, 1, "from"),
            ImportRef("contrib.auth", (), 0, 2, "import"),  # the short name, as an alias
            ImportRef("django.db", (("models", "models"),), 0, 3, "from"),
            ImportRef("django.contrib.gone", (), 0, 4, "import"),
        ],
        "auth/__init__.py": [],
        "auth/models.py": [],
    }
    graph = build_import_graph(files, package="django.contrib")
    assert lines(graph.edges)["admin/sites.py"] == {"auth/models.py": 1, "auth/__init__.py": 2}
    assert lines(graph.external)["admin/sites.py"] == {"django": 3, "django.contrib.gone": 4}


def test_module_index_walks_every_path_shape_in_bounded_steps() -> None:
    # "" and "/"-rooted directories never shrink under posixpath.split; each must end.
    paths = ["__init__.py", "/__init__.py", "/abs/__init__.py", "/abs/m.py", "a//b.py", "x.py"]
    index = ModuleIndex(paths, "root")
    assert index.module_name("x.py") == ("..", "root.x")
    assert index.module_name("/abs/m.py") is not None


def test_root_package_names_enclosing_packages(tmp_path: Path) -> None:
    (tmp_path / "django" / "contrib").mkdir(parents=True)
    (tmp_path / "django" / "__init__.py").write_text("")
    assert root_package(tmp_path / "django" / "contrib") == "django.contrib"
    assert root_package(tmp_path / "django") == "django"
    assert root_package(Path("/")) == ""


def _ref(module: str, line: int, context: str) -> ImportRef:
    return ImportRef(module, (), 0, line, "import", None, context)


def test_an_edge_keeps_its_strongest_kind_and_that_kind_s_first_line() -> None:
    files = {
        "a.py": [_ref("b", 3, "deferred"), _ref("b", 5, "conditional"), _ref("b", 9, "top_level")],
        "b.py": [_ref("a", 2, "deferred"), _ref("a", 4, "deferred")],
        "c.py": [_ref("os", 1, "conditional"), _ref("os", 2, "top_level")],
    }
    graph = build_import_graph(files)
    assert graph.edges["a.py"] == {"b.py": ImportSite(9, "top_level")}
    assert graph.edges["b.py"] == {"a.py": ImportSite(2, "deferred")}
    assert graph.external["c.py"] == {"os": ImportSite(2, "top_level")}


def test_cycles_count_top_level_imports_unless_asked() -> None:
    files = {
        "a.py": [_ref("b", 1, "top_level")],
        "b.py": [_ref("c", 1, "top_level"), _ref("a", 7, "deferred")],
        "c.py": [_ref("a", 2, "conditional")],
    }
    graph = build_import_graph(files)
    assert import_cycles(graph) == []
    assert import_cycles(graph, ("top_level", "conditional")) == [["a.py", "b.py", "c.py"]]
    assert import_cycles(graph, ("top_level", "deferred")) == [["a.py", "b.py"]]


def test_a_cycle_path_is_made_of_real_imports() -> None:
    site = ImportSite(1, "top_level")
    # A tour through every file exists: a -> c -> b -> a.
    tour = {"a": {"c": site}, "b": {"a": ImportSite(4, "top_level")}, "c": {"b": site}}
    assert [(h.source, h.target, h.line) for h in cycle_path(["c", "b", "a"], tour)] == [
        ("a", "c", 1),
        ("c", "b", 1),
        ("b", "a", 4),
    ]
    # A star around a: strongly connected, but no path passes every file once; the
    # shortest cycle through a is shown, never an order whose arrows are not imports.
    star = {"a": {"b": site, "c": site, "d": site}, "b": {"a": site}, "c": {"a": site}}
    star["d"] = {"a": site}
    assert [(h.source, h.target) for h in cycle_path(["a", "b", "c", "d"], star)] == [
        ("a", "b"),
        ("b", "a"),
    ]
    selfish = {"s": {"s": ImportSite(2, "top_level")}}
    assert cycle_path(["s"], selfish) == [ImportHop("s", "s", 2, "top_level")]
    assert cycle_path(["x"], {"x": {}}) == []


def test_the_tour_search_is_bounded_and_falls_back_to_the_shortest_cycle() -> None:
    # 30 files all importing each other, and one more tied to n00 alone: no tour exists, and
    # a search for one would try permutations of the 30 without end.
    site = ImportSite(1, "top_level")
    names = [f"n{i:02}" for i in range(30)]
    edges = {a: {b: site for b in names if b != a} for a in names}
    edges["n00"]["zz"] = site
    edges["zz"] = {"n00": site}
    hops = cycle_path([*names, "zz"], edges)
    assert [(h.source, h.target) for h in hops] == [("n00", "n01"), ("n01", "n00")]
