"""Token streams: the Python lexer, the tree-sitter lexers and the FileTokens record."""

from __future__ import annotations

import keyword
import pickle
import re
import sysconfig
import token
import tokenize
from pathlib import Path

import pytest
from aegisd_similarity.lexicon import lexicon
from aegisd_similarity.tokens import (
    FileTokens,
    UnsupportedLanguageError,
    language_for,
    le_bytes,
    tokenize_file,
)

from tests.plugins.similarity.helpers import (
    FIXTURES,
    decode,
    load,
    python_texts,
    python_tokens,
)

PY_SOURCE = '''"""Module docstring."""
import os
from typing import (
    Any,
    Optional,
)

# a comment line

def f(a, b=2):
    """Function docstring,
    on two lines."""
    import sys  # imports inside functions go too
    x = a + b  # trailing comment
    s = """multi
line"""
    return x, \\
        s, 0x1F, 'q'
'''


def test_python_drops_comments_docstrings_and_imports() -> None:
    tokens = tokenize_file("m.py", PY_SOURCE.encode())
    assert decode(tokens, python_texts(PY_SOURCE)) == [
        *("def", "f", "(", "a", ",", "b", "=", "2", ")", ":", "NEWLINE", "INDENT"),
        *("x", "=", "a", "+", "b", "NEWLINE"),
        *("s", "=", '"""multi\nline"""', "NEWLINE"),
        *("return", "x", ",", "s", ",", "0x1F", ",", "'q'", "NEWLINE", "DEDENT"),
    ]


def test_python_normalizes_identifiers_strings_and_numbers() -> None:
    tokens = tokenize_file("m.py", PY_SOURCE.encode())
    normalized = decode(tokens, python_texts(PY_SOURCE), normalized=True)
    assert normalized[:10] == ["def", "ID", "(", "ID", ",", "ID", "=", "NUM", ")", ":"]
    assert normalized[-10:] == [
        "return",
        "ID",
        ",",
        "ID",
        ",",
        "NUM",
        ",",
        "STR",
        "NEWLINE",
        "DEDENT",
    ]


def test_layout_tokens_are_listed_and_not_counted() -> None:
    tokens = tokenize_file("m.py", PY_SOURCE.encode())
    texts = decode(tokens, python_texts(PY_SOURCE))
    layout = [i for i, t in enumerate(texts) if t in ("NEWLINE", "INDENT", "DEDENT")]
    assert list(tokens.layout) == layout
    assert tokens.size(0, len(tokens)) == len(tokens) - len(layout)
    assert tokens.size(0, 10) == 10  # "def f ( a , b = 2 ) :"
    assert tokenize_file("x.c", b"int x = 1;\n").layout.tolist() == []


def test_python_keeps_line_numbers() -> None:
    tokens = tokenize_file("m.py", PY_SOURCE.encode())
    texts = decode(tokens, python_texts(PY_SOURCE))
    lines = {text: tokens.line_of(i) for i, text in reversed(list(enumerate(texts)))}
    assert lines["def"] == 10
    assert lines["x"] == 14
    assert lines['"""multi\nline"""'] == 15
    assert lines["return"] == 17
    assert lines["0x1F"] == 18  # after a backslash continuation
    assert tokens.line_of(len(tokens) - 1) == 18  # the DEDENT closes the last statement
    assert tokens.line_count == 18


def _reference(source: str, language: str = "python") -> list[tuple[int, int, int]]:
    """What the lexer must produce, built on the standard tokenize module."""
    lx = lexicon(language)
    heads = (lx.code("import"), lx.code("from"))
    out: list[tuple[int, int, int]] = []
    stmt, newline_line = 0, 1
    for tok in python_tokens(source):
        kind, text, line = tok.type, tok.string, tok.start[0]
        if kind in (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER):
            continue
        if kind == tokenize.NEWLINE:
            body = out[stmt:]
            if body[0][1] in heads or all(t[0] == lx.string for t in body):
                del out[stmt:]
            else:
                out.append((lx.newline, lx.newline, line))
            stmt, newline_line = len(out), line
        elif kind in (tokenize.INDENT, tokenize.DEDENT):
            code = lx.indent if kind == tokenize.INDENT else lx.dedent
            out.append((code, code, line if kind == tokenize.INDENT else newline_line))
            stmt = len(out)
        else:
            code = lx.code(text)
            norm = {tokenize.STRING: lx.string, tokenize.NUMBER: lx.number}.get(kind, code)
            if kind == tokenize.NAME and not keyword.iskeyword(text):
                norm = lx.ident
            out.append((norm, code, line))
    return out


def _triples(tokens: FileTokens) -> list[tuple[int, int, int]]:
    pairs = zip(tokens.norm, tokens.orig, strict=True)
    return [(n, o, tokens.line_of(i)) for i, (n, o) in enumerate(pairs)]


def _stdlib_samples() -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    names = ["textwrap.py", "argparse.py", "tokenize.py", "json/decoder.py", "ast.py", "difflib.py"]
    names += ["email/_header_value_parser.py", "dataclasses.py", "typing.py", "pydoc.py"]
    return [root / name for name in names if (root / name).exists()]


@pytest.mark.parametrize(
    "path",
    [*sorted(FIXTURES.rglob("*.py")), *_stdlib_samples()],
    ids=lambda p: p.name,
)
def test_python_lexer_matches_tokenize(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    tokens = tokenize_file(path.name, path.read_bytes())
    assert _triples(tokens) == _reference(source)


def test_python_operators_and_stray_whitespace() -> None:
    source = " ".join(f"x {op} y" for op in sorted(token.EXACT_TOKEN_TYPES)) + "\n"
    source += "a = .5 + 1..real   \r  b\x0b\x0b  c  \f\n"  # a lone CR, vertical tabs, a form feed
    tokens = tokenize_file("ops.py", source.encode())
    texts = decode(tokens, python_texts(source.replace("\r", " ").replace("\x0b", " ")))
    ops = [t for t in texts if t in token.EXACT_TOKEN_TYPES]
    assert ops[: len(token.EXACT_TOKEN_TYPES)] == sorted(token.EXACT_TOKEN_TYPES)
    assert texts[-10:] == ["a", "=", ".5", "+", "1.", ".", "real", "b", "c", "NEWLINE"]


def test_python_tab_indentation_and_crlf() -> None:
    source = "if x:\r\n\tif y:\r\n\t\treturn 1\r\n\r\nz = 2\r\n"
    tokens = tokenize_file("t.py", source.encode())
    assert _triples(tokens) == _reference(source)
    assert decode(tokens, python_texts(source)).count("INDENT") == 2


JS_SOURCE = b"""// header comment
import { a } from "./a.js";
/* block
   comment */
export function total(items) {
  const label = `sum ${items.length}`;
  return items.reduce((s, x) => s + x.price * 2, 0) + label.length; // tail
}
"""


def _texts(tokens: FileTokens, data: bytes, normalized: bool = False) -> list[str]:
    """Leaves of the tree as texts, for decoding tree-sitter token codes."""
    candidates = re.findall(rb"`[^`]*`|\"[^\"]*\"|'[^']*'|\w+|=>|\S", data)
    return decode(tokens, [c.decode() for c in candidates], normalized)


def test_javascript_tokens() -> None:
    tokens = tokenize_file("web/total.js", JS_SOURCE)
    assert tokens.language == "javascript"
    texts = _texts(tokens, JS_SOURCE)
    assert texts[:8] == ["export", "function", "total", "(", "items", ")", "{", "const"]
    assert "`sum ${items.length}`" in texts  # a template string is one token
    assert "import" not in texts and "from" not in texts
    assert tokens.line_of(0) == 5 and tokens.line_of(len(tokens) - 1) == 8
    normalized = _texts(tokens, JS_SOURCE, normalized=True)
    assert normalized[:8] == ["export", "function", "ID", "(", "ID", ")", "{", "const"]
    assert normalized.count("STR") == 1 and normalized.count("NUM") == 2


def test_typescript_tsx_c_and_cpp_tokens() -> None:
    ts = tokenize_file("a.ts", b"import type { T } from './t';\nlet x: number = 1;\n")
    assert _texts(ts, b"let x: number = 1;", normalized=True) == [
        *("let", "ID", ":", "number", "=", "NUM", ";"),
    ]
    tsx = tokenize_file("a.tsx", b"const e = <div>{name}</div>;\n")
    assert tsx.language == "tsx" and len(tsx) > 5
    c_src = b'#include <stdio.h>\n#include "x.h"\nint main(void) { return puts("hi"); }\n'
    c = tokenize_file("main.c", c_src)
    assert _texts(c, c_src)[:4] == ["int", "main", "(", "void"]
    assert c.line_of(0) == 3
    cpp_src = b"#include <vector>\nauto s = R\"(raw)\"; // note\nchar c = 'a';\n"
    cpp = tokenize_file("x.cpp", cpp_src)
    assert cpp.language == "cpp"
    assert _texts(cpp, cpp_src, normalized=True) == [
        *("auto", "ID", "=", "STR", ";", "char", "ID", "=", "STR", ";"),
    ]


def test_bom_and_undecodable_bytes() -> None:
    plain = tokenize_file("a.py", b"x = 1\n")
    assert tokenize_file("a.py", b"\xef\xbb\xbfx = 1\n").orig == plain.orig
    assert tokenize_file("b.js", b"\xef\xbb\xbflet x = 1;\n").line_of(0) == 1
    broken = tokenize_file("a.py", b"s = '\xff'\n")
    assert len(broken) == 4 and broken.source == "s = '\ufffd'\n"


def test_language_detection_and_unsupported_files() -> None:
    assert language_for("src/App.TSX") == "tsx"
    assert language_for("lib/x.hpp") == "cpp"
    assert language_for("README.md") is None
    with pytest.raises(UnsupportedLanguageError):
        tokenize_file("README.md", b"# title\n")
    assert tokenize_file("notes.txt", b"x = 1\n", language="python").language == "python"


def test_empty_comment_only_and_import_only_files_have_no_tokens() -> None:
    for name in ("empty.py", "comments_only.py", "imports_only.py"):
        tokens = load(f"python/{name}")
        assert len(tokens) == 0, name
        assert tokens.line_count == len((FIXTURES / "python" / name).read_text().splitlines())


def test_record_round_trip_and_pickling() -> None:
    tokens = load("python/exact_a.py")
    row = tokens.to_record()
    assert all(isinstance(row[k], bytes) for k in ("norm", "orig", "breaks", "layout", "source"))
    assert FileTokens.from_record(row) == tokens
    assert pickle.loads(pickle.dumps(tokens)) == tokens


def test_stored_arrays_are_compressed_and_older_raw_rows_still_read() -> None:
    big = tokenize_file("big.py", b"".join(b"v%d = f(v%d, 1)\n" % (n, n) for n in range(3000)))
    row = big.to_record()
    assert len(row["norm"]) * 4 < 4 * len(big)  # type: ignore[arg-type]  # raw: 4 bytes a token
    assert FileTokens.from_record(row) == big
    # A row stored by lexer 2 holds the arrays raw; it is read as it was written.
    raw = {
        **row,
        "lexer": "2",
        **{k: le_bytes(getattr(big, k)) for k in ("norm", "orig", "breaks", "layout")},
    }
    assert FileTokens.from_record(raw).norm == big.norm
    assert FileTokens.from_record({**raw, "lexer": "2+unicode-15.0.0"}).orig == big.orig
