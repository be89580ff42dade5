"""Loading fixtures of tests/fixtures/similarity and reading token streams back as text."""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

from aegisd_similarity.index import CloneIndex
from aegisd_similarity.lexicon import lexicon
from aegisd_similarity.tokens import FileTokens, tokenize_file

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "similarity"


def load(relative: str) -> FileTokens:
    """Tokenize one fixture file, keeping its path relative to tests/fixtures/similarity."""
    return tokenize_file(relative, (FIXTURES / relative).read_bytes())


def index_of(*relatives: str, **options: int) -> CloneIndex:
    index = CloneIndex(**options)
    for relative in relatives:
        index.add_file(load(relative))
    return index


# From 3.12 tokenize splits an f-string into parts and the expressions inside (PEP 701).
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)


def python_tokens(source: str) -> Iterator[tokenize.TokenInfo]:
    """`tokenize`'s tokens of `source` with each f-string as one STRING token, as on 3.11.

    The similarity lexer keeps an f-string whole on every interpreter, so that fingerprints
    (and the index stored with them) do not change with the Python that computed them.
    """
    starts = [0, *(m.end() for m in re.finditer("\n", source))]  # offset of each line
    depth, first = 0, None
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == _FSTRING_START:
            depth += 1
            first = first or tok
        elif not depth:
            yield tok
        elif tok.type == _FSTRING_END:
            depth -= 1
            if not depth and first is not None:
                begin = starts[first.start[0] - 1] + first.start[1]
                end = starts[tok.end[0] - 1] + tok.end[1]
                text = source[begin:end]
                yield tokenize.TokenInfo(tokenize.STRING, text, first.start, tok.end, first.line)
                first = None


def python_texts(source: str) -> list[str]:
    """The token texts `tokenize` sees in `source`, for decoding codes back to text."""
    return [t.string for t in python_tokens(source)]


def decode(tokens: FileTokens, texts: list[str], normalized: bool = False) -> list[str]:
    """Codes back to text: layout and placeholders by name, the rest by their source text."""
    lx = lexicon(tokens.language)
    names = {lx.code(t): t for t in texts}
    names.update({lx.newline: "NEWLINE", lx.indent: "INDENT", lx.dedent: "DEDENT"})
    if normalized:
        names.update({lx.ident: "ID", lx.string: "STR", lx.number: "NUM"})
    return [names.get(c, f"?{c}") for c in (tokens.norm if normalized else tokens.orig)]
