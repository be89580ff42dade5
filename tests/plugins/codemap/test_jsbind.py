"""JS/TS name binding of one file (`jsbind`), module resolution (`jsmodules`) and resolution
across files (`jsresolve`)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from aegisd_codemap.extract import extract_file
from aegisd_codemap.jsmodules import EXTERNAL, FILE, UNRESOLVED, JsModules, parse_jsonc
from aegisd_codemap.jsresolve import JsResolver
from aegisd_codemap.jssignature import callback_parameter
from aegisd_codemap.model import FileExtract
from aegisd_codemap.pybind import BINDINGS_ENV
from aegisd_codemap.resolve import ModuleIndex
from aegisd_codemap.sites import unpack


def _extract(path: str, source: str) -> FileExtract:
    return extract_file(path, textwrap.dedent(source).encode(), False)


def _sites(extract: FileExtract) -> set[tuple[int, int, str, str, str, str]]:
    return {tuple(r) for name, sites in extract.refs or () for r in unpack(name, sites)}  # type: ignore[misc]


def test_scopes_parameters_destructuring_and_this() -> None:
    extract = _extract(
        "a.ts",
        """
        import { helper } from "./h";
        const { readFile, stat: info } = require("fs");
        let counter = 0;
        class Box extends Base {
          item: Item;
          constructor(private store: Store) { super(); this.cache = new Cache(); }
          run({ a, b }: Opts, [c] = [1], ...rest: number[]) {
            const helper = new Local();
            helper.go();
            this.cache.get(a, b, c, rest);
            this.item.use();
            this.store.save();
            counter = counter + 1;
            return () => this.run();
          }
        }
        function free(this: unknown) { helper(); readFile(); info(); }
        """,
    )
    sites = _sites(extract)
    bindings = {(line, name, kind, binding) for line, _, name, kind, _, binding in sites}
    assert (10, "go", "call", "g:Local()>go") in bindings  # a local shadows the import
    assert not any(name == "helper" and line == 9 for line, name, *_ in bindings)
    assert (11, "get", "call", "d:Box>cache>get") in bindings
    assert (12, "use", "call", "d:Box>item>use") in bindings
    assert (13, "save", "call", "d:Box>store>save") in bindings
    assert (15, "run", "call", "d:Box>run") in bindings  # an arrow's this is the method's
    assert (18, "helper", "call", "g:helper") in bindings
    assert (18, "info", "call", "g:info") in bindings
    assert (3, "stat", "import", "i:fs:stat") in bindings
    assert (5, "Base", "inherit", "g:Base") in bindings
    assert (5, "Box", "def", "d:Box") in bindings
    # parameters and plain locals are no sites; a module variable's write is none either
    assert not any(name in ("a", "b", "c", "rest", "counter") for _, name, *_ in bindings)
    assert set(extract.members or ()) == {
        ("Box", "item", "g:Item"),
        ("Box", "store", "g:Store"),
        ("Box", "cache", "g:Cache()"),
    }


def test_exports_es_and_commonjs() -> None:
    es = _extract(
        "m.ts",
        """
        import { x } from "./x";
        export { x as y };
        export { a as b } from "./a";
        export * from "./all";
        export * as ns from "./ns";
        export default class K {}
        export function f() {}
        export declare function g(): void;
        """,
    )
    assert set(es.exports or ()) == {
        "y\tg:x", "b\ti:./a:a", "*\ti:./all:*", "ns\ti:./ns:*", "default\tg:K", "f\tg:f",
        "g\tg:g",
    }  # fmt: skip
    cjs = _extract(
        "c.js",
        """
        function run() {}
        exports.format = function () {};
        module.exports.label = (s) => s;
        module.exports = { run, go: run };
        """,
    )
    assert set(cjs.exports or ()) == {
        "format\tg:format", "label\tg:label", "run\tg:run", "go\tg:run"
    }  # fmt: skip
    whole = _extract("w.js", "class Store {}\nmodule.exports = Store;\n")
    assert whole.exports == ("=\tg:Store",)


def test_a_comment_and_a_string_are_no_sites() -> None:
    extract = _extract("c.ts", '// greet(x)\nconst s = "greet(x)";\n/* greet */\n')
    assert not any(r[2] == "greet" for r in _sites(extract))


def test_bindings_off_and_broken_files(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = _extract("b.ts", "export class A {\n  m() { this.n( }\n")
    assert broken.errors and broken.refs is not None  # partial trees are still bound
    monkeypatch.setenv(BINDINGS_ENV, "0")
    assert _extract("a.ts", "f();\n").refs is None


def _workspace(tmp_path: Path, files: dict[str, str]) -> tuple[JsModules, ModuleIndex]:
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    modules = ModuleIndex(files)
    return JsModules(modules, tmp_path), modules


def test_specifiers_through_tsconfig_packages_and_extensions(tmp_path: Path) -> None:
    specifiers, _ = _workspace(
        tmp_path,
        {
            "tsconfig.json": '// c\n{"extends": "./base", "compilerOptions": {"paths": '
            '{"@app/*": ["app/*", "other/*"],},},}',
            "base.json": '{"compilerOptions": {"baseUrl": "src"}}',
            "src/app/x.ts": "",
            "src/other/y.tsx": "",
            "src/lib/index.d.ts": "",
            "src/dir/index.js": "",
            "src/m.ts": "",
            "packages/tool/package.json": '{"name": "@me/tool", "exports": {".": {"import": "./src/main.ts"}}}',
            "packages/tool/src/main.ts": "",
        },
    )
    importer = "src/m.ts"
    assert specifiers.target(importer, "@app/x") == (FILE, "src/app/x.ts")
    assert specifiers.target(importer, "@app/y") == (FILE, "src/other/y.tsx")  # second target
    assert specifiers.target(importer, "lib") == (FILE, "src/lib/index.d.ts")  # baseUrl
    assert specifiers.target(importer, "./dir") == (FILE, "src/dir/index.js")
    assert specifiers.target(importer, "./m.js") == (FILE, "src/m.ts")
    assert specifiers.target(importer, "@me/tool") == (FILE, "packages/tool/src/main.ts")
    assert specifiers.target(importer, "react/jsx-runtime") == (EXTERNAL, "react")
    assert specifiers.target(importer, "node:fs") == (EXTERNAL, "fs")
    assert specifiers.target(importer, "./gone") == (UNRESOLVED, "./gone")


@pytest.mark.parametrize(
    "config",
    [
        '{"compilerOptions": {"paths": {"@a/*": [',  # broken
        '{"extends": "./tsconfig.json", "compilerOptions": {"paths": {"@a/*": ["@a/*"]}}}',
        '{"extends": "../../outside.json"}',  # leaves the root: not read
        "[1, 2]",
        json.dumps({"compilerOptions": {"paths": {"@a/*": [7, None]}, "baseUrl": 3}}),
    ],
)
def test_bad_configs_resolve_nothing_and_never_fail(tmp_path: Path, config: str) -> None:
    specifiers, _ = _workspace(tmp_path, {"tsconfig.json": config, "a.ts": ""})
    assert specifiers.target("a.ts", "@a/x") == (EXTERNAL, "@a/x")


def test_jsonc() -> None:
    assert parse_jsonc('{"a": "// not a comment", /* c */ "b": [1,],}') == {
        "a": "// not a comment",
        "b": [1],
    }
    with pytest.raises(ValueError):
        parse_jsonc("{")


def test_resolution_across_files(tmp_path: Path) -> None:
    sources = {
        "lib.ts": "export class Base { hello() {} }\nexport default function make(): Base {}\n",
        "index.ts": 'export { Base as Root } from "./lib";\nexport * from "./lib";\n',
        "use.ts": 'import make, { Root } from "./index";\nclass Sub extends Root {}\n'
        "make().hello();\nnew Sub().hello();\n",
    }
    extracts = {p: _extract(p, s) for p, s in sources.items()}
    specifiers, modules = _workspace(tmp_path, sources)
    resolver = JsResolver(modules, extracts.get, None, specifiers)
    calls = {
        (r.line, r.name): r.binding
        for name, sites in extracts["use.ts"].refs or ()
        for r in unpack(name, sites)
    }
    assert resolver.resolve("use.ts", calls[(3, "hello")]).symbols == [("lib.ts", "Base.hello")]
    assert resolver.resolve("use.ts", calls[(4, "hello")]).symbols == [("lib.ts", "Base.hello")]
    assert resolver.resolve("use.ts", calls[(2, "Root")]).symbols == [("lib.ts", "Base")]
    assert resolver.resolve("use.ts", "g:nothing").status == "unresolved"
    assert resolver.resolve("use.ts", "g:console").status == "builtin"


def test_unions_arrays_callbacks_and_this_parameters() -> None:
    extract = _extract(
        "t.ts",
        """
        class Pool {
          items: Item[] = [];
          spare?: Item | null;
          drain(xs: ReadonlyArray<Item>, ys: Array<A | B>, one: A | B | undefined) {
            for (const x of xs) x.close();
            for (const y of this.items) y.close();
            xs.forEach((x) => x.close());
            ys.map(function (y) { return y.run(); });
            this.items.filter(z => z.open);
            one?.run();
            xs[0].close();
            this.items.shift()!.close();
            this.spare?.close();
            let held: Item | null = null;
            held?.close();
            for (const k in xs) k.close();
          }
        }
        function bound(this: Pool, other: string | number) {
          this.drain();
          other.trim();
          const inner = function () { this.drain(); };
        }
        """,
    )
    bindings = {(line, name, binding) for line, _, name, _, _, binding in _sites(extract)}
    assert (6, "close", "g:Item>close") in bindings  # for...of an Item[] parameter
    assert (7, "close", "g:Item>close") in bindings  # for...of an Item[] field
    assert (8, "close", "g:Item>close") in bindings  # forEach's callback
    assert (9, "run", "g:A>run|g:B>run") in bindings  # map's, over a union's elements
    assert (10, "open", "g:Item>open") in bindings  # an arrow's single parameter
    assert (11, "run", "g:A>run|g:B>run") in bindings  # a union: each (undefined dropped)
    assert (12, "close", "g:Item>close") in bindings  # a subscript
    assert (13, "close", "g:Item>close") in bindings  # an element taken out
    assert (14, "close", "d:Pool>spare>close") in bindings
    assert (16, "close", "g:Item>close") in bindings  # `T | null` is a T
    assert (17, "close", "u") in bindings  # for...in: keys, no elements
    assert (21, "drain", "g:Pool>drain") in bindings  # `this: Pool`
    assert (22, "trim", "u") in bindings  # predefined types hold nothing of ours
    assert (23, "drain", "u") in bindings  # a function's own `this`, not the outer one's


def test_a_declared_field_type_wins_and_interfaces_extend(tmp_path: Path) -> None:
    sources = {
        "t.ts": """
        class Sub { stop() {} }
        interface Base { close(): void }
        interface Door extends Base { open(): void }
        class Owner {
          held: Sub | null = null;
          door?: Door;
          reset() { this.held = new Sub(); }
          run() { this.held?.stop(); this.door?.close(); }
        }
        """,
    }
    extracts = {p: _extract(p, s) for p, s in sources.items()}
    assert set(extracts["t.ts"].members or ()) == {
        ("Owner", "held", "g:Sub"),  # the declared type, not the value assigned elsewhere
        ("Owner", "door", "g:Door"),
    }
    specifiers, modules = _workspace(tmp_path, sources)
    resolver = JsResolver(modules, extracts.get, None, specifiers)
    calls = {
        (r.line, r.name): r.binding for n, s in extracts["t.ts"].refs or () for r in unpack(n, s)
    }
    assert resolver.resolve("t.ts", calls[(9, "stop")]).symbols == [("t.ts", "Sub.stop")]
    assert resolver.resolve("t.ts", calls[(9, "close")]).symbols == [("t.ts", "Base.close")]


def test_a_callbacks_parameters_take_the_types_its_callee_declares(tmp_path: Path) -> None:
    sources = {
        "lib.ts": """
        export class Sink { next(v: number): void {} }
        export function operate(init: (source: string, sink: Sink | null) => void): void {}
        export class Source {
          constructor(subscribe?: (this: Source, sink: Sink) => void) {}
        }
        """,
        "use.ts": """
        import { operate, Source } from "./lib";
        operate((source, sink) => sink.next(1));
        new Source(function (sink) { sink.next(2); });
        operate(function (a) { a.next(3); });
        """,
    }
    extracts = {p: _extract(p, s) for p, s in sources.items()}
    specifiers, modules = _workspace(tmp_path, sources)
    resolver = JsResolver(modules, extracts.get, None, specifiers)
    calls = {
        (r.line, r.name): r.binding for n, s in extracts["use.ts"].refs or () for r in unpack(n, s)
    }
    assert calls[(3, "next")] == "g:operate>@0.1>next"
    assert resolver.resolve("use.ts", calls[(3, "next")]).symbols == [("lib.ts", "Sink.next")]
    # a constructor's callback; its `this:` parameter is no parameter of the callback's
    assert resolver.resolve("use.ts", calls[(4, "next")]).symbols == [("lib.ts", "Sink.next")]
    # the callee's callback parameter 0 is a string: nothing of the workspace's
    assert resolver.resolve("use.ts", calls[(5, "next")]).status == "unresolved"


@pytest.mark.parametrize(
    ("signature", "argument", "parameter", "expected"),
    [
        (
            "<T, R>(init: (a: Observable<T>, b: Subscriber<R>) => (() => void) | void): R",
            0,
            1,
            "Subscriber",
        ),
        ("(f?: (this: X, y: ns.Y | undefined) => Map<K, V>)", 0, 0, "ns.Y"),
        ("(a: Map<string, (x: X) => void>, f: (x: A | B) => void)", 1, 0, None),  # a union
        ("(a: number)", 0, 0, None),  # no callback
        ("(f: (x: Foo[]) => void)", 0, 0, None),
        (None, 0, 0, None),
    ],
)
def test_callback_parameter_types_from_signatures(
    signature: str | None, argument: int, parameter: int, expected: str | None
) -> None:
    assert callback_parameter(signature, argument, parameter) == expected


def test_interface_properties_are_symbols_whose_types_are_followed() -> None:
    extract = _extract(
        "w.ts",
        """
        interface Watcher { notify: (n: number) => void; target?: Item | null; [k: string]: any }
        """,
    )
    assert [(s.qualname, s.kind) for s in extract.symbols] == [
        ("Watcher", "interface"),
        ("Watcher.notify", "property"),
        ("Watcher.target", "property"),
    ]
    assert extract.members == (("Watcher", "target", "g:Item"),)


def test_generic_bases_are_inherited_their_arguments_types() -> None:
    extract = _extract("g.ts", "class S extends Base<T> implements Observer<Item>, ns.I<X> {}\n")
    kinds = {(name, kind) for _, _, name, kind, _, _ in _sites(extract)}
    assert {("Base", "inherit"), ("Observer", "inherit"), ("I", "inherit")} <= kinds
    assert {("T", "type"), ("Item", "type"), ("X", "type")} <= kinds


def test_an_exported_typed_value_is_a_value_of_the_type_not_its_alias() -> None:
    extract = _extract("c.ts", "export const config: Config = {};\nexport interface Config {}\n")
    assert extract.exports == ("config\tg:Config()", "Config\tg:Config")
