"""f-strings as Python 3.12 reads them (PEP 701): one string token on every interpreter, so the
similarity index's tokens and fingerprints do not depend on the Python that computed them."""

from __future__ import annotations

import hashlib
import sys

import pytest
from aegisd_similarity.fingerprint import analyze_file
from aegisd_similarity.fstrings import string_end
from aegisd_similarity.tokens import le_bytes, tokenize_file

from tests.plugins.similarity.helpers import decode, python_texts

# Valid from Python 3.12 on: fields holding the f-string's own quotes, a nested f-string, a
# field over several lines of a single-quoted f-string, a comment inside a field.
NESTED = """\
def render(d, width, decorator):
    a = f"{d["key"]} and {d['other']!r:>{width}}"
    b = f'{f' {decorator}\\n' if decorator else ''} def'
    c = f"{(
        1 +  # a comment
        2
    )} done"
    e = f\"\"\"{d[\"\"\"k\"\"\"]:{"x"}}\"\"\"
    return a + b + c + e
"""
STRINGS = [
    'f"{d["key"]} and {d[\'other\']!r:>{width}}"',
    "f'{f' {decorator}\\n' if decorator else ''} def'",
    'f"{(\n        1 +  # a comment\n        2\n    )} done"',
    'f"""{d["""k"""]:{"x"}}"""',
]


def test_an_fstring_with_its_own_quotes_inside_is_one_string_token() -> None:
    tokens = tokenize_file("render.py", NESTED.encode())
    names = ["def", "render", "d", "width", "decorator", "a", "b", "c", "e", "return"]
    texts = decode(tokens, [*STRINGS, *names, "+", "=", "(", ")", ",", ":"])
    assert texts == [
        *("def", "render", "(", "d", ",", "width", ",", "decorator", ")", ":"),
        *("NEWLINE", "INDENT"),
        *("a", "=", STRINGS[0], "NEWLINE"),
        *("b", "=", STRINGS[1], "NEWLINE"),
        *("c", "=", STRINGS[2], "NEWLINE"),
        *("e", "=", STRINGS[3], "NEWLINE"),
        *("return", "a", "+", "b", "+", "c", "+", "e", "NEWLINE", "DEDENT"),
    ]
    first_line = {text: tokens.line_of(i) for i, text in reversed(list(enumerate(texts)))}
    assert (first_line["c"], first_line["e"], first_line["return"]) == (4, 8, 9)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="tokenize reads PEP 701 from 3.12 on")
def test_the_same_strings_as_tokenize_from_312() -> None:
    assert [t for t in python_texts(NESTED) if t[-1:] in ("'", '"')] == STRINGS


@pytest.mark.parametrize(
    ("text", "end"),
    [
        ("f'{x}' + y", 6),
        ("rf'\\{x}' + y", 8),  # a backslash before a brace escapes nothing
        ("f'\\N{DASH}{x}' + y", 14),  # a named escape's braces are no field
        ("f'{{' + '}}'", 5),
        ("f'{x:{'a'}}' + y", 12),
        ("b'\\''", 5),
        ("'''a\n'b'''", 10),
        ("f'{x", None),
        ("f'a\nb'", None),
        ("f'{x:'}", None),
        ("nope'x'", None),
    ],
)
def test_string_end(text: str, end: int | None) -> None:
    assert string_end(text, 0) == end


def test_tokens_and_fingerprints_are_the_same_on_every_interpreter() -> None:
    """CI runs this on each supported Python: a stored index stays valid across them. A
    change of the lexer changes the digest on purpose: stored rows must then be analyzed again
    (see `aegisd_similarity.tokens.LEXER`)."""
    source = NESTED + "type Alias = list[int]\nmatch x:\n    case [a, *_] if a != b: pass\n"
    tokens, prints = analyze_file("render.py", source.encode(), "python", 5, 4)
    digest = hashlib.sha256()
    for part in (tokens.norm, tokens.orig, tokens.breaks, tokens.layout, prints.hashes):
        digest.update(le_bytes(part))
    assert digest.hexdigest()[:16] == "6dac768a56da51e7"
