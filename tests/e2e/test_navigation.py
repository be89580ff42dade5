"""Navigation through a real daemon: definitions, references, call graphs and symbol
dependents over the socket, on a fixture package whose references are checked by hand."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from aegisd.client import RpcCallError
from tests.conftest import REPO, DaemonProcess
from tests.e2e.test_codemap import wait_indexed

FIXTURE = REPO / "tests/fixtures/codemap/navproj"


@pytest.fixture
def navproj(tmp_path: Path) -> Path:
    root = tmp_path / "navproj"
    shutil.copytree(FIXTURE, root)
    return root


def _sites(refs: dict[str, Any]) -> list[tuple[str, int, int, str]]:
    return [(r["path"], r["line"], r["column"], r["kind"]) for r in refs["references"]]


def _definition(d: DaemonProcess, path: str, line: int, column: int) -> tuple[Any, ...]:
    found = d.call("index.definition", {"path": path, "line": line, "column": column})
    return found["resolution"], [(x["path"], x["qualname"]) for x in found["definitions"]]


def test_definitions_of_every_construct(daemon_factory: Any, navproj: Path) -> None:
    d: DaemonProcess = daemon_factory("--root", str(navproj))
    wait_indexed(d)
    models, helpers = "app/core/models.py", "app/core/helpers.py"
    cases = {
        # package __init__ re-export, then the defining module
        ("app/main.py", 2, 18): ("resolved", [(models, "Animal")]),
        # x = Foo(); x.bar() (the subclass's own method)
        ("app/main.py", 13, 10): ("resolved", [(models, "Animal.speak")]),
        # an annotated parameter's method
        ("app/main.py", 8, 10): ("resolved", [(models, "Animal.speak")]),
        # mod.func through `import a.b.c as mod`
        ("app/main.py", 15, 13): ("resolved", [(models, "make_animal")]),
        # a submodule imported from its package, then its function
        ("app/main.py", 16, 14): ("resolved", [(helpers, "shout")]),
        ("app/main.py", 16, 6): ("resolved", [(helpers, "app.core.helpers")]),
        # an alias
        ("app/main.py", 17, 6): ("resolved", [(helpers, "shout")]),
        # a classmethod found through the base class (MRO)
        ("app/main.py", 18, 13): ("resolved", [(models, "Base.create")]),
        # an attribute assigned in __init__, holding what a function's return annotation names
        ("app/main.py", 40, 18): ("resolved", [(models, "Animal.speak")]),
        # a nested function
        ("app/main.py", 32, 13): ("resolved", [("app/main.py", "outer.inner")]),
        # self.x through the class; super() through the bases
        (models, 8, 28): ("resolved", [(models, "Base.sound")]),
        (models, 24, 25): ("resolved", [(models, "Base.speak")]),
        # relative import; a decorator; a base class
        (models, 3, 33): ("resolved", [(helpers, "shout")]),
        (models, 18, 3): ("resolved", [(helpers, "register")]),
        (models, 19, 14): ("resolved", [(models, "Base")]),
        # from x import * (through __all__)
        ("app/util/stars.py", 5, 6): ("resolved", [(helpers, "loop_a")]),
        # honest about what is not in the workspace
        (models, 25, 22): ("external", []),
        ("app/main.py", 20, 6): ("builtin", []),
        ("app/main.py", 19, 6): ("unresolved", []),
        # on a definition's own name
        (helpers, 6, 6): ("resolved", [(helpers, "shout")]),
    }
    for (path, line, column), expected in cases.items():
        assert _definition(d, path, line, column) == expected, (path, line, column)
    external = d.call("index.definition", {"path": models, "line": 25, "column": 22})
    assert external["name"] == "dumps" and external["external"] == "json.dumps"


def test_references_by_position_and_name(daemon_factory: Any, navproj: Path) -> None:
    d: DaemonProcess = daemon_factory("--root", str(navproj))
    wait_indexed(d)
    shout = [
        ("app/core/models.py", 3, 32, "import"),
        ("app/core/models.py", 8, 16, "call"),
        ("app/main.py", 4, 30, "import"),
        ("app/main.py", 16, 13, "call"),
        ("app/main.py", 17, 5, "call"),  # as `yell`
        ("app/util/stars.py", 6, 12, "call"),  # through `import *`
    ]
    by_name = d.call("index.references", {"name": "shout"})
    assert _sites(by_name) == shout
    assert (
        by_name["symbol"]["path"] == "app/core/helpers.py" and by_name["resolution"] == "resolved"
    )
    assert by_name["references"][4]["text"] == '    yell("y")'
    by_position = d.call("index.references", {"path": "app/main.py", "line": 17, "column": 5})
    assert _sites(by_position) == shout
    animal = _sites(d.call("index.references", {"name": "Animal"}))
    assert animal == [
        ("app/__init__.py", 3, 29, "import"),
        ("app/core/models.py", 28, 22, "type"),
        ("app/core/models.py", 29, 12, "call"),
        ("app/main.py", 2, 17, "import"),
        ("app/main.py", 7, 15, "type"),
        ("app/main.py", 12, 11, "call"),
        ("app/main.py", 18, 5, "read"),
    ]
    # Base.speak: called through self in Base, and through super() in Animal; not Animal.speak's
    speak = _sites(d.call("index.references", {"name": "Base.speak"}))
    assert speak == [("app/core/models.py", 24, 24, "call")]
    inherit = _sites(d.call("index.references", {"name": "app.core.models.Base"}))
    assert ("app/core/models.py", 19, 14, "inherit") in inherit
    # graph.dependents {symbol}: files that reference it, not every importer of the module
    deps = d.call("graph.dependents", {"path": "app/core/helpers.py", "symbol": "loop_a"})
    assert deps["dependents"] == ["app/util/stars.py"]
    assert d.call("graph.dependents", {"path": "app/core/helpers.py"})["dependents"] == [
        "app/core/models.py", "app/main.py", "app/util/stars.py",
    ]  # fmt: skip


def test_call_graph_callees_callers_and_cycles(daemon_factory: Any, navproj: Path) -> None:
    d: DaemonProcess = daemon_factory("--root", str(navproj))
    wait_indexed(d)
    callees = d.call("graph.calls", {"name": "run", "depth": 1})
    edges = {(e["target"], e["line"], e["call_type"]) for e in callees["edges"]}
    assert edges == {
        ("app/core/models.py:Animal", 12, "constructor"),
        ("app/core/models.py:Animal.speak", 13, "method"),
        ("app/main.py:feed", 14, "function"),
        ("app/core/models.py:make_animal", 15, "function"),
        ("app/core/helpers.py:shout", 16, "function"),
        ("app/core/helpers.py:shout", 17, "function"),
        ("app/core/models.py:Base.create", 18, "method"),
        ("app/core/models.py:make_animal", 21, "function"),
    }
    assert callees["max_depth_reached"] is True
    listed = {(u["name"], u["resolution"]) for u in callees["unresolved"]}
    assert listed == {
        ("unknown_thing", "unresolved"), ("print", "builtin"), ("len", "builtin"),
        ("range", "builtin"),
    }  # fmt: skip
    leaves = d.call("graph.calls", {"name": "run", "depth": 1, "include_external": True})
    assert leaves["unresolved"] == [] and "builtin:print" in {n["id"] for n in leaves["nodes"]}
    deep = d.call("graph.calls", {"path": "app/main.py", "line": 12, "depth": 5})
    assert ("app/core/models.py:Base.speak", "app/core/helpers.py:shout") in {
        (e["source"], e["target"]) for e in deep["edges"]
    }
    assert {"name": "dumps", "target": "json.dumps", "resolution": "external"}.items() <= next(
        u for u in deep["unresolved"] if u["name"] == "dumps"
    ).items()
    callers = d.call("graph.calls", {"name": "loop_a", "direction": "callers", "depth": 3})
    assert {(e["source"], e["target"]) for e in callers["edges"]} == {
        ("app/core/helpers.py:loop_b", "app/core/helpers.py:loop_a"),
        ("app/core/helpers.py:loop_a", "app/core/helpers.py:loop_b"),
        ("app/util/stars.py:use_star", "app/core/helpers.py:loop_a"),
    }
    assert callers["cycles"] == [
        ["app/core/helpers.py:loop_a", "app/core/helpers.py:loop_b", "app/core/helpers.py:loop_a"]
    ]


def test_an_added_call_shows_in_callers_within_one_batch_and_persists(
    daemon_factory: Any, navproj: Path
) -> None:
    d: DaemonProcess = daemon_factory("--root", str(navproj))
    wait_indexed(d)
    before = d.call("graph.calls", {"name": "shout", "direction": "callers", "depth": 1})
    assert "app/main.py:outer" not in {e["source"] for e in before["edges"]}
    main = navproj / "app" / "main.py"
    main.write_text(
        main.read_text().replace("    return inner()", "    yell('z')\n    return inner()")
    )
    clock = d.call("workspace.notify_changes", {"paths": ["app/main.py"]})["clock"]
    after = d.call("graph.calls", {"name": "shout", "direction": "callers", "depth": 1})
    assert after["clock"] >= clock
    assert ("app/main.py:outer", 32) in {(e["source"], e["line"]) for e in after["edges"]}
    # A file that stops parsing keeps the sites of its last good parse, as its symbols.
    good = main.read_text()
    main.write_text(good + "def broken(:\n")
    d.call("workspace.notify_changes", {"paths": ["app/main.py"]})
    assert d.call("index.file", {"path": "app/main.py"})["stale"] is True
    kept = d.call("graph.calls", {"name": "shout", "direction": "callers", "depth": 1})
    assert ("app/main.py:outer", 32) in {(e["source"], e["line"]) for e in kept["edges"]}
    main.write_text(good)
    d.call("workspace.notify_changes", {"paths": ["app/main.py"]})
    assert d.stop() == 0
    # Stored: a warm start parses nothing and still knows the new call.
    d2: DaemonProcess = daemon_factory("--root", str(navproj))
    assert wait_indexed(d2)["parsed"] == 0
    again = d2.call("graph.calls", {"name": "shout", "direction": "callers", "depth": 1})
    assert ("app/main.py:outer", 32) in {(e["source"], e["line"]) for e in again["edges"]}


def test_a_name_used_often_is_stored_compressed_and_found_after_a_restart(
    daemon_factory: Any, navproj: Path
) -> None:
    calls = "".join(f"    shout('{n}')\n" for n in range(120))
    (navproj / "loud.py").write_text(f"from app.core.helpers import shout\n\n\ndef run():\n{calls}")
    d: DaemonProcess = daemon_factory("--root", str(navproj))
    wait_indexed(d)
    assert d.stop() == 0
    with contextlib.closing(sqlite3.connect(d.data_dir / "aegisd.db")) as db:
        kind = db.execute(
            "SELECT typeof(sites) FROM codemap_ref WHERE path = 'loud.py' AND name = 'shout'"
        ).fetchone()
    assert kind == ("blob",)  # thousands of characters of sites, kept compressed
    d2: DaemonProcess = daemon_factory("--root", str(navproj))
    assert wait_indexed(d2)["parsed"] == 0
    found = _sites(d2.call("index.references", {"name": "shout", "limit": 1000}))
    assert [line for path, line, _, _ in found if path == "loud.py"] == [1, *range(5, 125)]


def test_bad_input_gets_clear_errors(daemon_factory: Any, navproj: Path, tmp_path: Path) -> None:
    odd = os.fsdecode(b"odd\xff.py")
    (navproj / odd).write_bytes(b"from app.core.helpers import shout\nshout('x')\n")
    (navproj / "huge.py").write_text("x = 1\n" * 800_000)  # over max_file_bytes (4 MiB)
    (navproj / "page.c").write_text("int twice(int a) { return 2 * a; }\n")
    (navproj / "notes.txt").write_text("def f(): pass\n")
    (tmp_path / "outside.py").write_text("def f():\n    pass\n")
    d: DaemonProcess = daemon_factory("--root", str(navproj))
    wait_indexed(d)
    # A file whose name is not UTF-8 is navigated like any other.
    assert _definition(d, odd, 2, 1) == ("resolved", [("app/core/helpers.py", "shout")])
    assert (odd, 2, 1, "call") in _sites(d.call("index.references", {"name": "shout"}))
    bad = [
        ("index.definition", {"path": "app/main.py", "line": 999, "column": 1}, "INVALID_PARAMS"),
        ("index.symbol_at", {"path": "app/main.py", "line": 999}, "INVALID_PARAMS"),
        ("index.definition", {"path": "app/main.py", "line": 0, "column": 1}, "INVALID_PARAMS"),
        ("index.definition", {"path": "../outside.py", "line": 1, "column": 5}, "INVALID_PATH"),
        ("index.references", {"path": str(tmp_path / "outside.py"), "line": 1, "column": 5},
         "INVALID_PATH"),
        ("index.definition", {"path": "huge.py", "line": 1, "column": 1}, "TOO_LARGE"),
        ("index.definition", {"path": "nope.py", "line": 1, "column": 1}, "NOT_FOUND"),
        ("index.definition", {"path": "notes.txt", "line": 1, "column": 5}, "NOT_FOUND"),
        ("index.references", {"name": "no_such_symbol_anywhere"}, "NOT_FOUND"),
        ("index.references", {"name": "shout", "path": "app/main.py"}, "INVALID_PARAMS"),
        ("index.references", {"path": "app/main.py"}, "INVALID_PARAMS"),
        ("index.references", {"name": "bad\udcff"}, "INVALID_PARAMS"),
        ("graph.calls", {"name": "run", "depth": 0}, "INVALID_PARAMS"),
        ("graph.calls", {"name": "run", "depth": 21}, "INVALID_PARAMS"),
        ("graph.calls", {"name": "no_such_function"}, "NOT_FOUND"),
        ("graph.calls", {"direction": "callers"}, "INVALID_PARAMS"),
        ("graph.dependents", {"path": "app/core/helpers.py", "symbol": "nothing"}, "NOT_FOUND"),
    ]  # fmt: skip
    for method, params, code in bad:
        with pytest.raises(RpcCallError) as info:
            d.call(method, params)
        assert info.value.code_name == code, (method, params, info.value.error)
    # Nothing stored was lost on the way.
    assert _sites(d.call("index.references", {"name": "loop_a"}))[0][0] == "app/core/helpers.py"
    # symbol_at works in every indexed language
    at = d.call("index.symbol_at", {"path": "app/core/models.py", "line": 11})
    assert at["symbol"]["qualname"] == "Base.sound"
    whole = d.call("index.symbol_at", {"path": "app/core/models.py", "line": 6})
    assert [c["name"] for c in whole["symbol"]["children"]] == ["speak", "sound", "create"]
    # every indexed language is bound: C too
    assert _definition(d, "page.c", 1, 5) == ("resolved", [("page.c", "twice")])


def test_an_edited_re_export_changes_the_next_answer(daemon_factory: Any, tmp_path: Path) -> None:
    """Resolutions and namespaces are kept across requests: an edit of the module a name is
    re-exported through (not of the file using it) must still show in the next answer."""
    root = tmp_path / "reexport"
    root.mkdir()
    (root / "first.py").write_text("def tool() -> int:\n    return 1\n")
    (root / "second.py").write_text("def tool() -> int:\n    return 2\n")
    (root / "hub.py").write_text("from first import tool\n")
    (root / "user.py").write_text("from hub import tool\n\ntool()\n")
    d: DaemonProcess = daemon_factory("--root", str(root))
    wait_indexed(d)

    def users(name: str) -> set[tuple[str, int, str]]:
        refs = d.call("index.references", {"name": name})
        return {(r["path"], r["line"], r["kind"]) for r in refs["references"]}

    assert ("user.py", 3, "call") in users("first.tool")
    assert users("second.tool") == set()
    (root / "hub.py").write_text("from second import tool\n")
    d.call("workspace.notify_changes", {"paths": ["hub.py"]})
    assert users("first.tool") == set()
    assert users("second.tool") == {
        ("hub.py", 1, "import"), ("user.py", 1, "import"), ("user.py", 3, "call"),
    }  # fmt: skip
    # and at a position in the file that did not change
    at = d.call("index.definition", {"path": "user.py", "line": 3, "column": 1})
    assert [x["path"] for x in at["definitions"]] == ["second.py"]


def test_cls_calls_attributes_set_from_outside_and_overrides(
    daemon_factory: Any, tmp_path: Path
) -> None:
    root = tmp_path / "leftovers"
    root.mkdir()
    (root / "models.py").write_text(
        "class Base:\n"  # 1
        "    def speak(self) -> str:\n"
        "        return '...'\n"
        "\n"
        "    @classmethod\n"  # 5
        "    def create(cls) -> 'Base':\n"
        "        return cls()\n"
        "\n"
        "\n"
        "class Dog(Base):\n"  # 10
        "    def speak(self) -> str:\n"
        "        return 'woof'\n"
        "\n"
        "\n"
        "class Puppy(Dog):\n"  # 15
        "    async def speak(self) -> str:\n"
        "        return 'yip'\n"
        "\n"
        "\n"
        "class Other:\n"  # 20
        "    def speak(self) -> str:\n"
        "        return '?'\n"
    )
    (root / "use.py").write_text(
        "from models import Dog\n"
        "\n"
        "\n"
        "class Owner:\n"
        "    pass\n"
        "\n"
        "\n"
        "owner = Owner()\n"
        "owner.pet = Dog()\n"
        "owner.pet.speak()\n"  # 10
    )
    d: DaemonProcess = daemon_factory("--root", str(root))
    wait_indexed(d)
    # a classmethod's cls(...) constructs its class
    base = d.call("index.references", {"name": "models.Base"})
    assert ("models.py", 7, 16, "call") in _sites(base)
    callees = d.call("graph.calls", {"name": "Base.create", "direction": "callees", "depth": 1})
    assert ("models.py:Base.create", "models.py:Base", 7) in {
        (e["source"], e["target"], e["line"]) for e in callees["edges"]
    }
    # an attribute assigned outside its object's class holds its value
    assert _definition(d, "use.py", 10, 11) == ("resolved", [("models.py", "Dog.speak")])
    # overriding methods: only when asked, through the subclasses (an override's override too)
    speak = {"name": "models.Base.speak"}
    assert not [s for s in _sites(d.call("index.references", speak)) if s[3] == "inherit"]
    asked = d.call("index.references", {**speak, "include_overrides": True})
    assert [s for s in _sites(asked) if s[3] == "inherit"] == [
        ("models.py", 11, 9, "inherit"), ("models.py", 16, 15, "inherit"),
    ]  # fmt: skip
