"""Loading fixtures of tests/fixtures/similarity and reading token streams back as text."""

from __future__ import annotations

import io
import tokenize
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


def python_texts(source: str) -> list[str]:
    """The token texts `tokenize` sees in `source`, for decoding codes back to text."""
    return [t.string for t in tokenize.generate_tokens(io.StringIO(source).readline)]


def decode(tokens: FileTokens, texts: list[str], normalized: bool = False) -> list[str]:
    """Codes back to text: layout and placeholders by name, the rest by their source text."""
    lx = lexicon(tokens.language)
    names = {lx.code(t): t for t in texts}
    names.update({lx.newline: "NEWLINE", lx.indent: "INDENT", lx.dedent: "DEDENT"})
    if normalized:
        names.update({lx.ident: "ID", lx.string: "STR", lx.number: "NUM"})
    return [names.get(c, f"?{c}") for c in (tokens.norm if normalized else tokens.orig)]
