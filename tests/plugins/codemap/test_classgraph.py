from __future__ import annotations

from aegisd_codemap.classgraph import ClassEdge, ClassNode, build_class_graph
from aegisd_codemap.extract import extract_file
from aegisd_codemap.model import FileExtract
from aegisd_codemap.resolve import ModuleIndex


def edges(files: dict[str, FileExtract]) -> list[tuple[str, str, str, bool]]:
    graph = build_class_graph(files)
    return [(e.source, e.kind, e.target, e.external) for e in graph.edges]


def test_python_inheritance_and_instantiation_through_imports(
    pyproj: dict[str, FileExtract],
) -> None:
    assert edges(pyproj) == [
        ("pkg/models.py:Model", "inherits", "pkg/base.py:Base", False),
        ("pkg/models.py:Registry", "inherits", "collections.OrderedDict", True),
        ("pkg/models.py:Registry", "instantiates", "pkg/models.py:Model", False),
        ("pkg/models.py:User", "inherits", "pkg/models.py:Model", False),
        # ``from pkg import Base``: re-exported by pkg/__init__.py.
        ("pkg/services.py:Service", "inherits", "pkg/base.py:Base", False),
        # ``models.Registry()`` and ``pkg.models.User()``.
        ("pkg/services.py:Service", "instantiates", "pkg/models.py:Registry", False),
        ("pkg/services.py:Service", "instantiates", "pkg/models.py:User", False),
        ("pkg/sub/deep.py:Deep", "inherits", "pkg/base.py:Base", False),
        ("pkg/sub/deep.py:Deep", "instantiates", "pkg/models.py:User", False),
        ("src/srcpkg/core.py:Core", "inherits", "pkg/sub/deep.py:Deep", False),
    ]


def test_class_nodes_and_external_leaves(pyproj: dict[str, FileExtract]) -> None:
    graph = build_class_graph(pyproj)
    assert sorted(graph.nodes) == [
        "pkg/base.py:Base",
        "pkg/models.py:Model",
        "pkg/models.py:Registry",
        "pkg/models.py:User",
        "pkg/services.py:Service",
        "pkg/sub/deep.py:Deep",
        "src/srcpkg/core.py:Core",
    ]
    assert graph.nodes["pkg/models.py:User"] == ClassNode(
        "pkg/models.py:User", "pkg/models.py", "User", 10
    )
    assert graph.external == {"collections.OrderedDict"}


def test_typescript_classes_through_default_star_and_namespace_imports(
    jsproj: dict[str, FileExtract],
) -> None:
    assert edges(jsproj) == [
        ("src/app.ts:App", "inherits", "src/renderer.ts:Renderer", False),
        ("src/app.ts:App", "instantiates", "src/lib/shapes.ts:Circle", False),
        ("src/app.ts:App", "instantiates", "src/util.js:Helper", False),
        ("src/app.ts:Fancy", "inherits", "src/lib/shapes.ts:Shape", False),
        ("src/app.ts:Widget", "inherits", "react:Component", True),
        ("src/lib/shapes.ts:Circle", "inherits", "src/lib/shapes.ts:Shape", False),
    ]


def test_unbound_bases_are_leaves_as_written_and_aliases_expand() -> None:
    source = b"""\
import django.db.models as m
from .base import Missing

class A(Exception):
    pass

class B(m.Model, Missing):
    def f(self):
        return A()
"""
    files = {"app/__init__.py": extract_file("app/__init__.py", b"", False)}
    files["app/a.py"] = extract_file("app/a.py", source, False)
    graph = build_class_graph(files)
    assert graph.edges == [
        ClassEdge("app/a.py:A", "Exception", "inherits", external=True),
        ClassEdge("app/a.py:B", "app.base.Missing", "inherits", external=True),
        ClassEdge("app/a.py:B", "django.db.models.Model", "inherits", external=True),
        ClassEdge("app/a.py:B", "app/a.py:A", "instantiates"),
    ]


def test_import_loops_do_not_hang_resolution() -> None:
    one = extract_file("one.py", b"from two import Thing\nclass A(Thing):\n    pass\n", False)
    two = extract_file("two.py", b"from one import Thing\n", False)
    graph = build_class_graph({"one.py": one, "two.py": two})
    assert [(e.target, e.external) for e in graph.edges] == [("two.Thing", True)]


def test_a_web_of_star_imports_is_searched_a_bounded_number_of_times() -> None:
    # Every module star-imports every other: without memory of the lookups already made, one
    # unresolvable base costs (modules - 1) ** hops lookups.
    names = [f"m{i}" for i in range(12)]
    files = {}
    for name in names:
        stars = "".join(f"from {other} import *\n" for other in names if other != name)
        files[f"{name}.py"] = extract_file(f"{name}.py", stars.encode(), False)
    files["use.py"] = extract_file(
        "use.py", b"from m0 import *\nclass C(Nowhere):\n    pass\n", False
    )
    calls = 0
    original = ModuleIndex.find_module

    def counting(self: ModuleIndex, dotted: str, importer: str | None = None) -> str | None:
        nonlocal calls
        calls += 1
        return original(self, dotted, importer)

    ModuleIndex.find_module = counting  # type: ignore[method-assign]
    try:
        graph = build_class_graph(files)
    finally:
        ModuleIndex.find_module = original  # type: ignore[method-assign]
    assert graph.edges == [ClassEdge("use.py:C", "Nowhere", "inherits", external=True)]
    assert calls <= 2 * len(files) ** 2  # at most one lookup per (module, name)


def test_a_root_package_resolves_relative_and_absolute_bases() -> None:
    files = {
        "__init__.py": extract_file("__init__.py", b"", False),
        "base.py": extract_file("base.py", b"class Base:\n    pass\n", False),
        "a.py": extract_file("a.py", b"from .base import Base\nclass A(Base):\n    pass\n", False),
        "b.py": extract_file("b.py", b"from app.base import Base\nclass B(Base): ...\n", False),
    }
    graph = build_class_graph(files, package="app")
    assert [(e.source, e.target, e.external) for e in graph.edges] == [
        ("a.py:A", "base.py:Base", False),
        ("b.py:B", "base.py:Base", False),
    ]
