"""Tokens of JavaScript, TypeScript, C and C++: the leaves of tree-sitter parse trees.

String-like nodes (template strings with their substitutions, regexes, character literals) are
one token each; comments, imports and `#include` lines are skipped with their whole subtree.
"""

from __future__ import annotations

import threading
import zlib
from array import array
from functools import cache

import tree_sitter
import tree_sitter_c
import tree_sitter_cpp
import tree_sitter_javascript
import tree_sitter_typescript

from aegisd_similarity.lexicon import Lexed, lexicon

__all__ = ["lex_tree_sitter"]

_GRAMMARS = {
    "javascript": tree_sitter_javascript.language,
    "typescript": tree_sitter_typescript.language_typescript,
    "tsx": tree_sitter_typescript.language_tsx,
    "c": tree_sitter_c.language,
    "cpp": tree_sitter_cpp.language,
}
_SKIPPED = frozenset(("comment", "import_statement", "preproc_include", "hash_bang_line"))
_STRINGS = frozenset(
    (
        "string",
        "template_string",
        "regex",
        "jsx_text",
        "string_literal",
        "raw_string_literal",
        "char_literal",
        "system_lib_string",
    )
)
_IDENTIFIERS = frozenset(
    (
        "identifier",
        "property_identifier",
        "shorthand_property_identifier",
        "shorthand_property_identifier_pattern",
        "private_property_identifier",
        "type_identifier",
        "field_identifier",
        "statement_identifier",
        "namespace_identifier",
    )
)
_NUMBERS = frozenset(("number", "number_literal"))


_local = threading.local()


@cache
def _language(name: str) -> tree_sitter.Language:
    return tree_sitter.Language(_GRAMMARS[name]())


def _parser(language: str) -> tree_sitter.Parser:
    """This thread's parser of `language` (a parser must not be used by two threads at once:
    the daemon tokenizes in several)."""
    parsers: dict[str, tree_sitter.Parser] = _local.__dict__.setdefault("parsers", {})
    parser = parsers.get(language)
    if parser is None:
        parser = parsers[language] = tree_sitter.Parser(_language(language))
    return parser


def lex_tree_sitter(data: bytes, language: str) -> Lexed:
    """The token arrays of UTF-8 source `data` (see `FileTokens`); these languages have no
    layout tokens."""
    lx = lexicon(language)
    seed = lx.seed
    norm: list[int] = []
    orig: list[int] = []
    breaks: list[int] = []
    codes: dict[bytes, int] = {}
    cursor = _parser(language).parse(data).walk()
    line = 0  # 0-based row of the last token
    while True:
        node = cursor.node
        assert node is not None
        kind = node.type
        if kind not in _SKIPPED:
            atomic = kind in _STRINGS and node.is_named
            if not atomic and cursor.goto_first_child():
                continue
            start, end = node.start_byte, node.end_byte
            if end > start:  # zero-width nodes are ones the parser invented to recover
                text = data[start:end]
                code = codes.get(text)
                if code is None:
                    code = codes[text] = zlib.crc32(text, seed)
                row = node.start_point.row
                if row > line:
                    breaks.extend([len(norm)] * (row - line))
                    line = row
                orig.append(code)
                if atomic:
                    norm.append(lx.string)
                elif not node.is_named:
                    norm.append(code)
                elif kind in _IDENTIFIERS:
                    norm.append(lx.ident)
                elif kind in _NUMBERS:
                    norm.append(lx.number)
                else:
                    norm.append(code)
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return Lexed(array("I", norm), array("I", orig), array("I", breaks), array("I"))
