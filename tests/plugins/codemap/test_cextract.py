from __future__ import annotations

from aegisd_codemap.extract import extract_file
from aegisd_codemap.model import SyntaxIssue

from tests.plugins.codemap.helpers import load


def test_c_outline() -> None:
    result = load("outline/sample.c", include_docstrings=True)
    assert (result.language, result.errors, result.classes) == ("c", [], [])
    # includes are the file's imports (`cbind`)
    assert [(i.module, i.kind, i.line) for i in result.imports] == [("stdio.h", "system", 1)]
    assert [
        (s.qualname, s.kind, s.line, s.end_line, s.column, s.signature, s.complexity, s.docstring)
        for s in result.symbols
    ] == [
        ("Point", "typedef", 4, 7, 1, None, 1, "A point in the plane."),
        ("Point", "struct", 4, 7, 9, None, 1, None),
        ("Mode", "enum", 9, 9, 1, None, 1, None),
        ("Value", "union", 11, 14, 1, None, 1, None),
        ("callback_t", "typedef", 16, 16, 1, None, 1, None),
        ("clamp", "function", 20, 34, 1, "(int *value, int low, int high) -> int *", 5, None),
    ]


def test_cpp_outline() -> None:
    result = load("outline/sample.cpp")
    assert (result.language, result.errors) == ("cpp", [])
    assert [
        (s.qualname, s.kind, s.line, s.column, s.parent, s.signature, s.complexity)
        for s in result.symbols
    ] == [
        ("geo", "namespace", 3, 1, None, None, 1),
        ("geo.Shape", "class", 5, 1, "geo", None, 1),
        ("geo.Shape.Shape", "method", 7, 5, "geo.Shape", "()", 1),
        ("geo.Shape.~Shape", "method", 8, 5, "geo.Shape", "()", 1),
        ("geo.Shape.area", "method", 9, 5, "geo.Shape", "() -> double", 3),
        ("geo.Shape.sides", "method", 10, 5, "geo.Shape", "(int n) -> int", 1),
        ("geo.Point", "struct", 17, 1, "geo", None, 1),
        ("geo.Shape.Shape", "method", 24, 1, "geo.Shape", "()", 1),
        ("geo.Shape.sides", "method", 26, 1, "geo.Shape", "(int n) -> int", 3),
        ("Size", "typedef", 38, 1, None, None, 1),
        ("identity", "function", 41, 1, None, "(T value) -> T", 1),
    ]


def test_c_syntax_error_keeps_other_functions() -> None:
    source = b"int good(void) { return 1; }\nint bad(void) { return (1 + ; }\nint after(void) {}\n"
    result = extract_file("x.c", source, False)
    assert [s.name for s in result.symbols] == ["good", "bad", "after"]
    assert result.errors == [SyntaxIssue('unexpected "(1 +"', 2, 24)]
