from __future__ import annotations

from aegisd_codemap.extract import extract_file
from aegisd_codemap.model import ClassInfo, FileExtract, ImportRef, SyntaxIssue

from tests.plugins.codemap.helpers import load

Row = tuple[str, str, int, int, str | None, tuple[str, ...], int, bool, bool]


def outline(result: FileExtract) -> list[Row]:
    """(qualname, kind, line, column, signature, decorators, complexity, async, exported)"""
    return [
        (
            s.qualname,
            s.kind,
            s.line,
            s.column,
            s.signature,
            s.decorators,
            s.complexity,
            s.is_async,
            s.exported,
        )
        for s in result.symbols
    ]


def test_javascript_outline() -> None:
    result = load("outline/sample.js")
    assert (result.language, result.errors, result.default_export) == ("javascript", [], "Widget")
    assert outline(result) == [
        ("add", "function", 5, 8, "(a, b = 1)", (), 3, False, True),
        ("twice", "function", 9, 14, "(x)", (), 3, True, True),
        ("Widget", "class", 18, 1, None, (), 1, False, True),
        ("Widget.constructor", "method", 19, 3, "(name)", (), 1, False, False),
        ("Widget.render", "method", 24, 3, "()", (), 1, False, False),
        ("Widget.render.helper", "function", 25, 11, "()", (), 2, False, False),
        ("Widget.create", "method", 31, 3, "()", (), 1, False, False),
        ("lazy", "function", 38, 7, "()", (), 1, False, False),
    ]
    assert [(s.qualname, s.end_line, s.loc) for s in result.symbols][:3] == [
        ("add", 7, 3),
        ("twice", 16, 8),
        ("Widget", 32, 13),
    ]


def test_javascript_imports_and_classes() -> None:
    result = load("outline/sample.js")
    assert result.imports == [
        ImportRef("fs", (("default", "fs"),), 0, 1, "import"),
        ImportRef("path", (("join", "join"),), 0, 2, "require"),
        ImportRef("./lazy.js", (), 0, 38, "dynamic", None, "deferred"),
    ]
    assert result.classes == [ClassInfo("Widget", 18, ("Base",), ("Label", "Widget"))]


def test_each_js_import_says_when_it_runs() -> None:
    source = b"""\
import type { Props } from './props';
import { type Row, Table } from './table';
export type { Shape } from './shape';
export { draw } from './draw';
const fs = require('fs');
if (process.env.DEBUG) { require('./debug'); }
try { require('optional'); } catch (e) {}
function load() { return require('./later'); }
const lazy = () => import('./lazy');
class Widget { render() { const x = require('./render'); } }
"""
    result = extract_file("mod.ts", source, False)
    assert [(i.module, i.line, i.context) for i in result.imports] == [
        ("./props", 1, "conditional"),
        ("./table", 2, "top_level"),
        ("./shape", 3, "conditional"),
        ("./draw", 4, "top_level"),
        ("fs", 5, "top_level"),
        ("./debug", 6, "conditional"),
        ("optional", 7, "conditional"),
        ("./later", 8, "deferred"),
        ("./lazy", 9, "deferred"),
        ("./render", 10, "deferred"),
    ]


def test_jsdoc_first_line_when_asked() -> None:
    result = load("outline/sample.js", include_docstrings=True)
    assert [(s.qualname, s.docstring) for s in result.symbols if s.docstring] == [
        ("add", "Adds two numbers.")
    ]


def test_typescript_outline() -> None:
    result = load("outline/sample.ts")
    assert (result.language, result.errors, result.default_export) == ("typescript", [], "default")
    assert outline(result) == [
        ("Shape", "interface", 5, 8, None, (), 1, False, True),
        ("Shape.area", "method", 6, 3, "(): number", (), 1, False, False),
        ("Color", "enum", 9, 8, None, (), 1, False, True),
        ("Circle", "class", 15, 8, None, ('Component({ selector: "x" })',), 1, False, True),
        ("Circle.constructor", "method", 16, 3, "(private radius: number)", (), 1, False, False),
        ("Circle.radius", "field", 16, 15, None, (), 1, False, False),  # a parameter property
        ("Circle.area", "method", 21, 3, "(): number", ("Memo()",), 1, False, False),
        (
            "Circle.load",
            "method",
            25,
            3,
            "<T>(url: string, opts?: Options): Promise<T | undefined>",
            (),
            2,
            True,
            False,
        ),
        ("Geometry", "namespace", 34, 8, None, (), 1, False, True),
        (
            "Geometry.distance",
            "function",
            35,
            10,
            "(a: number, b: number): number",
            (),
            2,
            False,
            True,
        ),
        ("default", "function", 40, 16, "(): shapes.Square", (), 1, False, True),
    ]


def test_typescript_imports_and_classes() -> None:
    result = load("outline/sample.ts")
    assert result.imports == [
        ImportRef("./base", (("Base", "Base"), ("Options", "Options")), 0, 1, "import"),
        ImportRef("./shapes", (("*", "shapes"),), 0, 2, "import"),
        ImportRef("./reexported", (("*", ""),), 0, 3, "export"),
    ]
    assert result.classes == [  # an interface with the interfaces it extends (none here)
        ClassInfo("Shape", 5, (), ()),
        ClassInfo("Circle", 15, ("Base", "Shape"), ()),
    ]


def test_tsx_outline() -> None:
    result = load("outline/component.tsx")
    assert (result.language, result.errors) == ("tsx", [])
    assert outline(result) == [
        ("Props", "type", 3, 1, None, (), 1, False, False),
        ("Header", "function", 5, 14, "({ title }: Props): JSX.Element", (), 2, False, True),
        ("Footer", "function", 9, 8, "(): JSX.Element", (), 1, False, True),
    ]
    assert result.imports == [ImportRef("react", (("default", "React"),), 0, 1, "import")]


def test_syntax_errors_keep_the_symbols_around_them() -> None:
    result = load("outline/broken.ts")
    assert result.errors == [SyntaxIssue('unexpected "x = ;"', 6, 7)]
    assert [(s.qualname, s.kind, s.line) for s in result.symbols] == [
        ("good", "function", 1),
        ("StillHere", "class", 9),
        ("StillHere.method", "method", 10),
    ]


def test_missing_tokens_are_reported_in_characters_not_bytes() -> None:
    result = extract_file("m.js", "const café = [1, 2;\n".encode(), False)
    assert result.errors == [SyntaxIssue('missing "]"', 1, 19)]
    result = extract_file("m.js", b"let a = foo(1, 2\nlet b = 3;\n", False)
    assert result.errors == [
        SyntaxIssue('unexpected "2"', 1, 16),
        SyntaxIssue('missing ")"', 2, 10),
    ]


def test_export_forms() -> None:
    source = b"""\
function a() {}
function b() {}
export { a, b as renamed };
export { c as default } from "./c";
export * as ns from "./ns";
export default async function main() {}
"""
    result = extract_file("e.js", source, False)
    assert [(s.name, s.exported, s.is_async) for s in result.symbols] == [
        ("a", True, False),
        ("b", True, False),
        ("main", True, True),
    ]
    assert result.default_export == "main"
    assert result.imports == [
        ImportRef("./c", (("c", "default"),), 0, 4, "export"),
        ImportRef("./ns", (("*", "ns"),), 0, 5, "export"),
    ]
