"""Closure hashes over the import graph, dependents now and before, ancestor files."""

from aegisd_lint.deps import Dependencies, closure_hashes
from aegisd_lint.importmap import ImportMap

HASHES = {"a.py": "A", "b.py": "B", "c.py": "C", "d.py": "D", "x/conftest.py": "K"}
# a imports b imports c; d stands alone; e and f import each other and c
EDGES: dict[str, dict[str, int]] = {
    "a.py": {"b.py": 1},
    "b.py": {"c.py": 1},
    "c.py": {},
    "d.py": {},
    "e.py": {"f.py": 1, "c.py": 2},
    "f.py": {"e.py": 1},
}


def _with(**changed: str) -> dict[str, str]:
    return {**HASHES, "e.py": "E", "f.py": "F", **{f"{k}.py": v for k, v in changed.items()}}


def test_a_closure_changes_with_anything_it_imports_transitively() -> None:
    before = closure_hashes(EDGES, _with())
    after = closure_hashes(EDGES, _with(c="C2"))
    assert {path for path in before if before[path] != after[path]} == {
        "a.py",
        "b.py",
        "c.py",
        "e.py",
        "f.py",
    }
    assert len(set(before.values())) == len(before)  # every file its own key


def test_a_file_in_an_import_cycle_depends_on_the_whole_cycle() -> None:
    before = closure_hashes(EDGES, _with())
    after = closure_hashes(EDGES, _with(f="F2"))
    assert {path for path in before if before[path] != after[path]} == {"e.py", "f.py"}


def test_losing_an_import_changes_the_closure() -> None:
    hashes = _with()
    cut = {**EDGES, "b.py": {}}
    assert closure_hashes(EDGES, hashes)["a.py"] != closure_hashes(cut, hashes)["a.py"]
    assert closure_hashes(EDGES, hashes)["c.py"] == closure_hashes(cut, hashes)["c.py"]


def test_a_deep_chain_needs_no_recursion() -> None:
    edges = {f"m{i}.py": {f"m{i + 1}.py": 1} for i in range(5000)}
    hashes = {f"m{i}.py": str(i) for i in range(5001)}
    assert len(closure_hashes(edges, hashes)) == 5001


def test_dependents_come_from_the_graph_now_and_before() -> None:
    now = ImportMap({"a.py": {}, "b.py": {"c.py": 1}, "c.py": {}})
    before = ImportMap(EDGES)
    deps = Dependencies(_with(), now, before)
    # a.py no longer imports b.py, but its last result may have depended on it
    assert deps.dependents(["b.py"]) == {"a.py"}
    assert deps.dependents(["c.py"]) == {"a.py", "b.py", "e.py", "f.py"}
    assert Dependencies(_with(), now).dependents(["b.py"]) == set()


def test_without_a_graph_every_python_file_depends_on_every_other() -> None:
    deps = Dependencies(HASHES, None)
    assert deps.dependents(["a.py"]) == set(HASHES)
    changed = Dependencies({**HASHES, "d.py": "D2"}, None)
    assert all(deps.closure_hash(p) != changed.closure_hash(p) for p in ("a.py", "b.py"))
    assert deps.closure_hash("a.py") != deps.closure_hash("b.py")


def test_ancestor_files_are_the_known_ones_above() -> None:
    deps = Dependencies({**HASHES, "conftest.py": "R", "x/y/test_a.py": "T"}, None)
    assert deps.ancestors("x/y/test_a.py", ["conftest.py"]) == ["x/conftest.py", "conftest.py"]
    assert deps.ancestors("x/conftest.py", ["conftest.py"]) == ["conftest.py"]
