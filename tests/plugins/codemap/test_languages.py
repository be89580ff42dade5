from __future__ import annotations

import pytest
from aegisd_codemap.extract import extract_file
from aegisd_codemap.languages import detect_language, is_binary, nonblank_prefix, span_loc


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("a/b.py", "python"),
        ("stubs/x.pyi", "python"),
        ("x.js", "javascript"),
        ("x.mjs", "javascript"),
        ("x.cjs", "javascript"),
        ("x.jsx", "javascript"),
        ("x.ts", "typescript"),
        ("x.mts", "typescript"),
        ("x.cts", "typescript"),
        ("types/x.d.ts", "typescript"),
        ("x.tsx", "tsx"),
        ("x.c", "c"),
        ("x.h", "c"),
        ("x.cc", "cpp"),
        ("x.cpp", "cpp"),
        ("x.cxx", "cpp"),
        ("x.hpp", "cpp"),
        ("x.hh", "cpp"),
        ("x.hxx", "cpp"),
        ("LOUD.PY", "python"),
        ("README.md", None),
        ("Makefile", None),
        ("dir.py/Makefile", None),
        ("x.", None),
    ],
)
def test_detect_language_by_extension(path: str, language: str | None) -> None:
    assert detect_language(path) == language


def test_binary_means_a_nul_byte_in_the_first_8_kib() -> None:
    assert is_binary(b"abc\0def")
    assert not is_binary(b"plain text\n")
    assert not is_binary(b"x" * 8192 + b"\0")
    assert is_binary(b"x" * 8191 + b"\0")


def test_binary_and_unknown_files_carry_no_symbols() -> None:
    binary = extract_file("blob.py", b"def f():\n    pass\n\0", False)
    assert (binary.language, binary.binary, binary.symbols, binary.lines) == ("python", True, [], 0)
    unknown = extract_file("notes.txt", b"def f():\n    pass\n", False)
    assert (unknown.language, unknown.binary, unknown.symbols) == (None, False, [])
    assert (unknown.lines, unknown.loc) == (2, 2)


def test_loc_counts_non_blank_lines() -> None:
    nonblank = nonblank_prefix(b"a\n\n  \nb\r\nc")
    assert nonblank == [0, 1, 1, 1, 2, 3]
    assert span_loc(nonblank, 1, 5) == 3
    assert span_loc(nonblank, 2, 3) == 0
    assert span_loc(nonblank, 4, 99) == 2  # clamped to the last line
