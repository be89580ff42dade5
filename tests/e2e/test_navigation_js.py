"""JS/TS navigation through a real daemon: definitions, references, call graphs and symbol
dependents over the socket, on a fixture project (TypeScript with tsconfig paths, ES modules,
re-exports, a declaration file; CommonJS JavaScript) whose references are checked by hand."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, DaemonProcess
from tests.e2e.test_codemap import wait_indexed

FIXTURE = REPO / "tests/fixtures/codemap/navjs"
ANIMAL, DOG, MAIN = "src/core/animal.ts", "src/core/dog.ts", "src/main.ts"
TEXT, STORE, APP = "src/util/text.ts", "legacy/store.js", "legacy/app.js"
CAGE, KEEPER = "src/zoo/cage.ts", "src/zoo/keeper.ts"


@pytest.fixture
def navjs(tmp_path: Path) -> Path:
    root = tmp_path / "navjs"
    shutil.copytree(FIXTURE, root)
    return root


def at(root: Path, path: str, line: int, token: str, nth: int = 1) -> tuple[str, int, int]:
    """(path, line, column) of the ``nth`` occurrence of ``token`` on a line of the fixture."""
    text = (root / path).read_text().splitlines()[line - 1]
    column = -1
    for _ in range(nth):
        column = text.index(token, column + 1)
    return path, line, column + 1


def changed(d: DaemonProcess, *paths: str) -> None:
    """Tell the daemon about edits (applied in one batch before it answers)."""
    d.call("workspace.notify_changes", {"paths": list(paths)})


def _definition(d: DaemonProcess, where: tuple[str, int, int]) -> tuple[Any, ...]:
    path, line, column = where
    found = d.call("index.definition", {"path": path, "line": line, "column": column})
    return found["resolution"], [(x["path"], x["qualname"]) for x in found["definitions"]]


def _references(d: DaemonProcess, where: tuple[str, int, int]) -> list[tuple[str, int, str]]:
    path, line, column = where
    found = d.call("index.references", {"path": path, "line": line, "column": column})
    return [(r["path"], r["line"], r["kind"]) for r in found["references"]]


def test_definitions_of_every_construct(daemon_factory: Any, navjs: Path) -> None:
    d: DaemonProcess = daemon_factory("--root", str(navjs))
    wait_indexed(d)
    cases = {
        # a default import through a tsconfig `paths` alias (JSONC, `extends`)
        at(navjs, MAIN, 11, "makeAnimal"): ("resolved", [(ANIMAL, "makeAnimal")]),
        # `new X(); x.m()`: the subclass's own method
        at(navjs, MAIN, 10, "speak"): ("resolved", [(DOG, "Dog.speak")]),
        # a function's TS return type: its value's class
        at(navjs, MAIN, 12, "speak"): ("resolved", [(ANIMAL, "Animal.speak")]),
        # ns.f() through a namespace import of an index that re-exports
        at(navjs, MAIN, 13, "shout"): ("resolved", [(TEXT, "shout")]),
        # `export * from`
        at(navjs, MAIN, 14, "twice"): ("resolved", [("src/util/numbers.ts", "twice")]),
        # `export { whisper as quiet }` imported from a directory's index
        at(navjs, MAIN, 15, "quiet"): ("resolved", [(TEXT, "whisper")]),
        # a .d.ts declaration; a type-only import
        at(navjs, MAIN, 14, "declared"): ("resolved", [("src/types.d.ts", "declared")]),
        at(navjs, MAIN, 8, "Options"): ("resolved", [("src/types.d.ts", "Options")]),
        # a parameter's type, then its member; a function declared below its use
        at(navjs, MAIN, 20, "speak"): ("resolved", [(ANIMAL, "Animal.speak")]),
        at(navjs, MAIN, 15, "greet"): ("resolved", [(MAIN, "greet")]),
        # this.x through the class and its base (extends); super.m()
        at(navjs, ANIMAL, 18, "sound"): ("resolved", [(ANIMAL, "Base.sound")]),
        at(navjs, DOG, 6, "speak"): ("resolved", [(ANIMAL, "Animal.speak")]),
        at(navjs, DOG, 4, "Animal"): ("resolved", [(ANIMAL, "Animal")]),
        at(navjs, ANIMAL, 11, "Speaker"): ("resolved", [(ANIMAL, "Speaker")]),
        # CommonJS: `module.exports = X` required; this.x = new Y() in a constructor
        at(navjs, APP, 6, "Store"): ("resolved", [(STORE, "Store")]),
        at(navjs, APP, 7, "add"): ("resolved", [(STORE, "Store.add")]),
        at(navjs, STORE, 17, "write"): ("resolved", [(STORE, "Logger.write")]),
        at(navjs, APP, 8, "format"): ("resolved", [("legacy/helpers.js", "format")]),
        at(navjs, APP, 9, "label"): ("resolved", [("legacy/helpers.js", "label")]),
        at(navjs, STORE, 17, "shout"): ("resolved", [(TEXT, "shout")]),
        # a workspace package by its package.json name (main: app.js)
        at(navjs, "src/uses_legacy.ts", 4, "run"): ("resolved", [(APP, "run")]),
        # honest about what is not in the workspace
        at(navjs, "src/uses_legacy.ts", 5, "chunk"): ("external", []),
        at(navjs, MAIN, 14, "log"): ("builtin", []),
        # on a definition's own name
        at(navjs, TEXT, 1, "shout"): ("resolved", [(TEXT, "shout")]),
        at(navjs, ANIMAL, 17, "speak"): ("resolved", [(ANIMAL, "Animal.speak")]),
    }
    for where, expected in cases.items():
        assert _definition(d, where) == expected, where
    found = d.call(
        "index.definition",
        dict(zip(("path", "line", "column"), at(navjs, MAIN, 14, "log"), strict=True)),
    )
    assert found["external"] == "console.log"
    outside = at(navjs, "src/uses_legacy.ts", 5, "chunk")
    found = d.call("index.definition", dict(zip(("path", "line", "column"), outside, strict=True)))
    assert found["external"] == "lodash.chunk"


def test_references_by_position_and_name(daemon_factory: Any, navjs: Path) -> None:
    d: DaemonProcess = daemon_factory("--root", str(navjs))
    wait_indexed(d)
    # every use of shout: a named import through paths, a re-export, a namespace member, require
    assert _references(d, at(navjs, TEXT, 1, "shout")) == [
        (STORE, 1, "import"),
        (STORE, 17, "call"),
        (DOG, 2, "import"),
        (DOG, 6, "call"),
        ("src/main.ts", 13, "call"),
        ("src/util/index.ts", 1, "import"),
    ]
    # a default export, imported under its own name
    assert _references(d, at(navjs, ANIMAL, 22, "makeAnimal")) == [
        (MAIN, 1, "import"),
        (MAIN, 11, "call"),
    ]
    # a class: extends, a type, construction, import; by name as well
    animal = [
        (ANIMAL, 23, "call"),
        (DOG, 1, "import"),
        (DOG, 4, "inherit"),
        (MAIN, 1, "import"),
        (MAIN, 19, "type"),
    ]
    assert _references(d, at(navjs, ANIMAL, 11, "Animal")) == [
        (ANIMAL, 22, "type"),
        *animal,
    ]
    by_name = d.call("index.references", {"name": "Animal"})
    assert by_name["symbol"]["path"] == ANIMAL
    assert [(r["path"], r["line"], r["kind"]) for r in by_name["references"]] == [
        (ANIMAL, 22, "type"),
        *animal,
    ]
    # a method reached through this, super and instances; with the interface method it
    # implements and the override in a subclass (one symbol to TypeScript's findReferences)
    assert _references(d, at(navjs, ANIMAL, 17, "speak")) == [
        (ANIMAL, 2, "write"),
        (DOG, 5, "write"),
        (DOG, 6, "call"),
        (MAIN, 10, "call"),
        (MAIN, 12, "call"),
        (MAIN, 20, "call"),
    ]
    # CommonJS: module.exports = Store, this.log = new Logger()
    assert _references(d, at(navjs, STORE, 15, "add")) == [(APP, 7, "call")]
    assert _references(d, at(navjs, STORE, 4, "write")) == [(STORE, 17, "call")]
    # the file a symbol is used in (graph.dependents {symbol})
    dependents = d.call("graph.dependents", {"path": TEXT, "symbol": "shout"})
    assert dependents["dependents"] == [STORE, DOG, MAIN, "src/util/index.ts"]


def test_fields_element_types_unions_and_merged_declarations(
    daemon_factory: Any, navjs: Path
) -> None:
    d: DaemonProcess = daemon_factory("--root", str(navjs))
    wait_indexed(d)
    outline = d.call("index.file", {"path": KEEPER})["outline"][0]["children"]
    assert [(n["name"], n["kind"]) for n in outline] == [
        ("cages", "field"),
        ("spare", "field"),
        ("constructor", "method"),
        ("pen", "field"),  # a parameter property
        ("lockAll", "method"),
    ]
    # fields: read through this, a `this:` parameter and a typed parameter
    assert _references(d, at(navjs, KEEPER, 4, "cages")) == [
        (KEEPER, 9, "read"),
        (KEEPER, 19, "read"),
        (KEEPER, 22, "read"),
    ]
    assert _definition(d, at(navjs, KEEPER, 12, "pen")) == ("resolved", [(KEEPER, "Keeper.pen")])
    # elements of a field's array (for...of) and of a parameter's (forEach's callback), a
    # `Cage | null` field, a `Cage | Pen` parameter (ambiguous, both listed), a callback's
    # parameter; the override in a subclass is one symbol with it
    assert _references(d, at(navjs, CAGE, 2, "lock")) == [
        (CAGE, 19, "write"),
        (KEEPER, 9, "call"),
        (KEEPER, 10, "call"),
        (KEEPER, 11, "call"),
        (KEEPER, 13, "call"),
        (KEEPER, 28, "call"),  # a callback's parameter, typed by the function it is passed to
        (KEEPER, 32, "call"),  # an interface's property of the class's type
        (KEEPER, 35, "call"),  # an exported value of the class's type
    ]
    # ... which is no other name of the class
    assert [r for r in _references(d, at(navjs, CAGE, 1, "Cage")) if r[0] == KEEPER] == [
        (KEEPER, 1, "import"),
        (KEEPER, 4, "type"),
        (KEEPER, 5, "type"),
        (KEEPER, 8, "type"),
        (KEEPER, 8, "type"),
        (KEEPER, 31, "call"),
    ]
    assert _references(d, at(navjs, CAGE, 6, "lock")) == [
        (KEEPER, 12, "call"),
        (KEEPER, 13, "call"),
    ]
    assert _definition(d, at(navjs, KEEPER, 13, "lock")) == (
        "ambiguous",
        [(CAGE, "Cage.lock"), (CAGE, "Pen.lock")],
    )
    # a member of an interface's base interface (extends)
    assert _definition(d, at(navjs, KEEPER, 25, "lock")) == ("resolved", [(CAGE, "Lockable.lock")])
    assert _references(d, at(navjs, CAGE, 23, "lock")) == [(KEEPER, 25, "call")]
    # graph.calls callers of an override: the calls through the method it overrides
    callers = d.call("graph.calls", {"name": "Cell.lock", "direction": "callers", "depth": 1})
    assert {(e["source"], e["line"], e["resolution"]) for e in callers["edges"]} == {
        (f"{KEEPER}:Keeper.lockAll", 9, "ambiguous"),
        (f"{KEEPER}:Keeper.lockAll", 10, "ambiguous"),
        (f"{KEEPER}:Keeper.lockAll", 11, "ambiguous"),
        (f"{KEEPER}:Keeper.lockAll", 13, "ambiguous"),
        (f"{KEEPER}:<module>", 28, "ambiguous"),
        (f"{KEEPER}:<module>", 35, "ambiguous"),
        (f"{KEEPER}:alarm", 32, "ambiguous"),
    }
    # a method implementing an interface's property: one symbol with it
    assert _references(d, at(navjs, CAGE, 38, "notify")) == [
        (CAGE, 34, "write"),
        (KEEPER, 31, "call"),
    ]
    # two classes implementing one interface without the member: unrelated members
    assert _references(d, at(navjs, CAGE, 43, "hold")) == []
    watcher = next(
        n for n in d.call("index.file", {"path": CAGE})["outline"] if n["name"] == "Watcher"
    )
    assert watcher["kind"] == "interface"
    assert [(n["name"], n["kind"]) for n in watcher["children"]] == [
        ("notify", "property"),
        ("cage", "property"),
    ]
    # an interface and a const of one name: the type's references are types, the value's
    # values; the import serves both (as TypeScript's findReferences)
    assert _references(d, at(navjs, CAGE, 9, "Closed")) == [
        (KEEPER, 1, "import"),
        (KEEPER, 8, "type"),
    ]
    value = d.call(
        "index.references",
        dict(zip(("path", "line", "column"), at(navjs, KEEPER, 14, "Closed"), strict=True)),
    )
    assert (value["symbol"]["line"], value["symbol"]["kind"]) == (12, "constant")
    assert [(r["path"], r["line"], r["kind"]) for r in value["references"]] == [
        (KEEPER, 1, "import"),
        (KEEPER, 14, "call"),
    ]


def test_call_graph_across_files(daemon_factory: Any, navjs: Path) -> None:
    d: DaemonProcess = daemon_factory("--root", str(navjs))
    wait_indexed(d)
    graph = d.call("graph.calls", {"name": "main", "direction": "callees", "depth": 2})
    edges = {(e["source"], e["target"], e["line"]) for e in graph["edges"]}
    assert {
        (f"{MAIN}:main", f"{DOG}:Dog", 9),
        (f"{MAIN}:main", f"{DOG}:Dog.speak", 10),
        (f"{MAIN}:main", f"{ANIMAL}:makeAnimal", 11),
        (f"{MAIN}:main", f"{ANIMAL}:Animal.speak", 12),
        (f"{MAIN}:main", f"{TEXT}:shout", 13),
        (f"{MAIN}:main", f"{TEXT}:whisper", 15),
        (f"{MAIN}:main", f"{MAIN}:greet", 15),
        (f"{DOG}:Dog.speak", f"{TEXT}:shout", 6),
        (f"{DOG}:Dog.speak", f"{ANIMAL}:Animal.speak", 6),
        (f"{ANIMAL}:makeAnimal", f"{ANIMAL}:Animal", 23),
    } <= edges
    assert {u["target"] for u in graph["unresolved"]} >= {"console.log"}
    callers = d.call("graph.calls", {"name": "shout", "direction": "callers", "depth": 1})
    assert {e["source"] for e in callers["edges"]} == {
        f"{MAIN}:main",
        f"{DOG}:Dog.speak",
        f"{STORE}:Store.add",
    }


def test_an_added_call_shows_in_callers(daemon_factory: Any, navjs: Path) -> None:
    d: DaemonProcess = daemon_factory("--root", str(navjs))
    wait_indexed(d)
    before = d.call("graph.calls", {"name": "whisper", "direction": "callers", "depth": 1})
    assert {e["source"] for e in before["edges"]} == {f"{MAIN}:main"}
    (navjs / "src/extra.ts").write_text(
        'import { quiet } from "@util";\n\nexport function hush(): string {\n'
        '  return quiet("x");\n}\n'
    )
    changed(d, "src/extra.ts")
    after = d.call("graph.calls", {"name": "whisper", "direction": "callers", "depth": 1})
    assert {e["source"] for e in after["edges"]} == {f"{MAIN}:main", "src/extra.ts:hush"}


def test_a_tsconfig_change_is_seen(daemon_factory: Any, navjs: Path) -> None:
    d: DaemonProcess = daemon_factory("--root", str(navjs))
    wait_indexed(d)
    where = at(navjs, MAIN, 11, "makeAnimal")
    assert _definition(d, where) == ("resolved", [(ANIMAL, "makeAnimal")])
    config = navjs / "tsconfig.json"
    config.write_text(config.read_text().replace('"@core/*"', '"@elsewhere/*"'))
    changed(d, "tsconfig.json")
    assert _definition(d, where) == ("external", [])


def test_bad_input(daemon_factory: Any, navjs: Path) -> None:
    d: DaemonProcess = daemon_factory("--root", str(navjs))
    wait_indexed(d)
    # a position in a comment: no name there
    comment = at(navjs, MAIN, 18, "greet")
    found = d.call("index.definition", dict(zip(("path", "line", "column"), comment, strict=True)))
    assert found["name"] is None and found["resolution"] == "unresolved"
    # a file that stops parsing keeps its last good sites
    shout = at(navjs, TEXT, 1, "shout")
    before = _references(d, shout)
    dog = navjs / DOG
    dog.write_text(dog.read_text().replace("export class Dog", "export class Dog {{ ("))
    changed(d, DOG)
    assert d.call("index.file", {"path": DOG})["stale"] is True
    assert _references(d, shout) == before
    # broken tsconfig JSON: aliases no longer resolve, nothing fails
    (navjs / "tsconfig.json").write_text('{"compilerOptions": {"paths": {"@core/*": [')
    changed(d, "tsconfig.json")
    assert _definition(d, at(navjs, MAIN, 11, "makeAnimal")) == ("external", [])
    # a paths alias mapping to itself, and configs extending each other
    (navjs / "tsconfig.json").write_text(
        '{"extends": "./tsconfig.base.json", "compilerOptions": {"paths": {"@core/*": ["@core/*"]}}}'
    )
    (navjs / "tsconfig.base.json").write_text('{"extends": "./tsconfig.json"}')
    changed(d, "tsconfig.json", "tsconfig.base.json")
    assert _definition(d, at(navjs, MAIN, 11, "makeAnimal")) == ("external", [])
