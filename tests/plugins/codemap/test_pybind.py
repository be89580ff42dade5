"""Name binding of one Python file (`pybind`) and its resolution (`navresolve`)."""

from __future__ import annotations

import ast
import textwrap

import pytest
from aegisd_codemap.extract import extract_file
from aegisd_codemap.model import FileExtract
from aegisd_codemap.navresolve import SYM, UNRES, MemoizedBindings, Resolver, Value
from aegisd_codemap.pybind import BINDINGS_ENV, bind_python
from aegisd_codemap.resolve import ModuleIndex
from aegisd_codemap.sites import unpack


def _refs(source: str) -> list[tuple[int, int, str, str, str, str]]:
    data = textwrap.dedent(source).encode()
    refs = bind_python(ast.parse(data), data).refs
    return [tuple(r) for r in refs]  # type: ignore[misc]


def test_scopes_global_nonlocal_and_comprehensions() -> None:
    refs = _refs(
        """
        counter = 0
        def helper(): pass
        def bump():
            global counter
            counter = counter + 1
            helper = 3
            return helper
        def outer():
            def helper(): pass
            def inner():
                nonlocal_value = [helper() for helper in range(2)]
                return helper()
            return inner
        class K:
            helper = 1
            def m(self):
                return helper()
        """
    )
    calls = {(line, name, binding) for line, _, name, kind, _, binding in refs if kind == "call"}
    # A local variable shadows the module's function; inside a comprehension its target does.
    assert (8, "helper", "g:helper") not in calls
    assert (12, "helper", "u") in calls
    assert (13, "helper", "d:outer.helper") in calls
    # A method does not see its class's names.
    assert (18, "helper", "g:helper") in calls
    # `global counter`: the module's variable is written, no site (not a definition).
    assert not [r for r in refs if r[2] == "counter"]


def test_instances_annotations_calls_and_positions() -> None:
    refs = _refs(
        """
        from .models import Animal, make
        def f(pet: Animal | None, other: "Animal") -> None:
            cow = Animal()
            cow.speak()
            pet.speak()
            make().speak()
            x = 1
            x = Animal()
            x.speak()
            é = 1; Animal.create()
        """
    )
    speak = {line: binding for line, _, name, _, _, binding in refs if name == "speak"}
    assert speak == {5: "g:Animal()>speak", 6: "g:Animal>speak", 7: "g:make()>speak", 10: "u"}
    create = next(r for r in refs if r[2] == "create")
    assert create[1] == len("    é = 1; Animal.") + 1  # characters, not UTF-8 bytes
    assert not [r for r in refs if r[2] in ("cow", "pet", "x")]  # variables are no sites


def _workspace(files: dict[str, str]) -> tuple[Resolver, dict[str, FileExtract]]:
    extracts = {
        path: extract_file(path, textwrap.dedent(text).encode(), False)
        for path, text in files.items()
    }
    return Resolver(ModuleIndex(list(files)), extracts.get), extracts


def test_resolution_is_honest() -> None:
    resolver, extracts = _workspace(
        {
            "pkg/__init__.py": "",
            "pkg/a.py": """
                try:
                    from pkg.fast import run
                except ImportError:
                    from pkg.slow import run
                import numpy as np
                from pkg.missing import gone
                run(); np.array(); gone(); len([])
            """,
            "pkg/fast.py": "def run(): pass\n",
            "pkg/slow.py": "def run(): pass\n",
        }
    )
    answers = {
        ref.name: resolver.resolve("pkg/a.py", ref.binding)
        for name, sites in extracts["pkg/a.py"].refs or ()
        for ref in unpack(name, sites)
        if ref.kind == "call"
    }
    assert answers["run"].status == "ambiguous"
    assert answers["run"].symbols == [("pkg/fast.py", "run"), ("pkg/slow.py", "run")]
    assert (answers["array"].status, answers["array"].values[0].name) == ("external", "numpy.array")
    assert answers["gone"].status == "unresolved"
    assert answers["len"].status == "builtin"


def test_binding_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    assert extract_file("m.py", b"def f():\n    f()\n", False).refs
    monkeypatch.setenv(BINDINGS_ENV, "0")  # the benchmark's baseline
    assert extract_file("m.py", b"def f():\n    f()\n", False).refs is None


def test_a_scope_gone_after_the_walk_lends_nothing_to_a_later_one() -> None:
    # A class holding only an import has no scope left once the walk is over: its memory
    # (and, when keyed by id, its entries) went to the next function's scope.
    source = "".join(
        f"class Holder{i}:\n    from os import path\n\n\ndef use{i}():\n    return value{i}\n\n\n"
        for i in range(20)
    )
    owners = {name: scope for _, _, name, _, scope, _ in _refs(source) if name.startswith("value")}
    assert owners == {f"value{i}": f"use{i}" for i in range(20)}


@pytest.mark.parametrize("module", ["argparse", "asyncio.base_events", "dataclasses", "typing"])
def test_one_walk_gives_what_the_outline_walk_and_the_binder_alone_give(module: str) -> None:
    """With names bound, one walk builds the outline and the sites: the same symbols, classes
    and imports as the outline's own walk (names not bound), the same sites as the binder
    walking alone."""
    import importlib.util
    import os

    from aegisd_codemap.languages import nonblank_prefix
    from aegisd_codemap.pyextract import _Walker, extract_python
    from aegisd_codemap.sites import pack

    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    with open(spec.origin, "rb") as fh:
        data = fh.read()
    assert os.environ.get(BINDINGS_ENV, "1") != "0"
    one = extract_python(data, nonblank_prefix(data), True)
    tree = ast.parse(data)
    walker = _Walker(nonblank_prefix(data), True)
    walker.walk(tree)
    assert (one.symbols, one.classes) == walker.result()
    assert [s.complexity for s in one.symbols] == [s.complexity for s in walker.result()[0]]
    alone = bind_python(tree, data)
    assert one.refs == pack(alone.refs) and one.refs
    assert (one.exports, one.members) == (alone.exports, alone.members)


def test_an_attribute_set_outside_its_class_holds_its_value() -> None:
    refs = _refs(
        """
        from pets import Dog, Owner
        owner = Owner()
        owner.pet = Dog()
        owner.pet.bark()
        owner.other = owner.other.copy()
        owner.other.go()
        def walk(mixed: Owner):
            mixed.pet = Dog()
            mixed.pet = owner
            mixed.pet.sit()
        """
    )
    bindings = {(line, name): binding for line, _, name, _, _, binding in refs}
    assert bindings[(5, "bark")] == "g:Dog()>bark"
    assert bindings[(7, "go")] == "g:Owner()>other>copy()>go"  # from its own value: no loop
    assert bindings[(11, "sit")] == "g:Owner>pet>sit"  # two values: as before


def test_every_resolver_resolves_a_binding_once_and_a_loop_unresolved() -> None:
    class Looping(MemoizedBindings):
        calls = 0

        def _values(self, path: str, binding: str) -> list[Value]:
            self.calls += 1  # `a` holds what `a` holds (`self.x = self.x`), then a symbol
            return [*self.values(path, binding), Value(SYM, path, "f")]

    resolver = Looping()
    first = resolver.resolve("m.py", "g:a")
    assert first.values == [Value(UNRES, "m.py", "g:a"), Value(SYM, "m.py", "f")]
    assert resolver.resolve("m.py", "g:a") == first and resolver.calls == 1
    shared: dict[tuple[str, str], list[Value]] = {}
    Looping(shared).values("m.py", "g:a")
    Looping(shared).values("m.ts", "g:a")
    assert list(shared) == [("m.py", "g:a")]  # a JS/TS file's stay in the request
