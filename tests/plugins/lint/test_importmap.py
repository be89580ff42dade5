"""`ImportMap`: lint's compact import graph, its dependents in one walk."""

from __future__ import annotations

from aegisd_codemap.graph import ImportGraph, ImportSite
from aegisd_lint.importmap import ImportMap

# a → b → c; e ⇄ f, e → c; d alone
EDGES = {
    "a.py": ["b.py"],
    "b.py": ["c.py"],
    "c.py": [],
    "d.py": [],
    "e.py": ["f.py", "c.py"],
    "f.py": ["e.py"],
}


def test_dependents_of_several_paths_are_the_union_of_each() -> None:
    graph = ImportMap(EDGES)
    assert graph.dependents(["c.py"]) == {"a.py", "b.py", "e.py", "f.py"}
    assert graph.dependents(["b.py", "d.py"]) == {"a.py"}
    assert graph.dependents(["a.py", "b.py"]) == {"a.py"}  # a imports b: listed
    assert graph.dependents(["e.py"]) == {"e.py", "f.py"}  # on a cycle: its own dependent
    assert graph.dependents(["gone.py"]) == set()


def test_the_reverse_is_built_once() -> None:
    graph = ImportMap(EDGES)
    assert graph.importers() is graph.importers()
    assert graph.importers()["c.py"] == ("b.py", "e.py")


def test_paths_are_shared_with_the_known_files() -> None:
    known = {"a.py": "h1", "b.py": "h2"}
    fresh_a, fresh_b = "".join(["a", ".py"]), "".join(["b", ".py"])  # equal, other objects
    graph = ImportGraph(edges={fresh_a: {fresh_b: ImportSite(1, "top_level")}, fresh_b: {}})
    compact = ImportMap.of(graph, known)
    ((source, targets),) = [(s, t) for s, t in compact.edges.items() if t]
    known_a, known_b = (next(p for p in known if p == name) for name in ("a.py", "b.py"))
    assert source is known_a and targets[0] is known_b
