"""A Python tokenizer built on one compiled regular expression.

It yields the same significant tokens as the standard `tokenize` module (names, numbers,
strings, operators, NEWLINE, INDENT, DEDENT; tests compare the two on real files), normalized
and coded, in less time than `tokenize` takes only to produce its tokens (about 2.3 times less
on the standard library): `re.findall` scans in C, and each distinct token text is classified
once. Logical lines that are imports or bare strings (docstrings) are dropped whole.

An f-string is one string token, as `tokenize` gives it up to Python 3.11 (3.12 splits it into
parts), on every interpreter: the tokens depend on the source alone, so fingerprints computed
under one Python stay valid under another. An f-string whose fields hold the same quotes (PEP
701) is found whole by `fstrings.string_end` where the pattern stops at a quote inside it.
"""

from __future__ import annotations

import keyword
import re
import sys
import token
from array import array
from functools import lru_cache

from aegisd_similarity.fstrings import is_whole_fstring, string_end
from aegisd_similarity.lexicon import Lexed, lexicon

__all__ = ["lex_python"]


def _operators() -> str:
    """The operators of `token.EXACT_TOKEN_TYPES`, longest first, grouped by their first
    character: the engine rules a group out at its first character, not operator by operator.
    `!` (an operator from 3.12, for f-strings) is one on 3.11 too: the same pattern everywhere."""
    by_first: dict[str, list[str]] = {}
    for op in {*token.EXACT_TOKEN_TYPES, "!"}:
        by_first.setdefault(op[0], []).append(op[1:])
    single = "".join(re.escape(c) for c, rest in sorted(by_first.items()) if rest == [""])
    groups = [
        re.escape(c) + "(?:" + "|".join(map(re.escape, sorted(rest, key=len, reverse=True))) + ")"
        for c, rest in sorted(by_first.items())
        if rest != [""]
    ]
    return "|".join([*groups, f"[{single}]"])


_TRIPLE1 = r"'''[^'\\]*(?:(?:\\[\s\S]|'(?!''))[^'\\]*)*'''"
_SINGLE1 = r"'[^\n'\\]*(?:\\[\s\S][^\n'\\]*)*'"
_STRING = (
    r"(?:[bBrRuUfF]{1,2})?(?:"
    + "|".join((_TRIPLE1, _TRIPLE1.replace("'", '"'), _SINGLE1, _SINGLE1.replace("'", '"')))
    + ")"
)
_NUMBER = (
    r"0[xX](?:_?[0-9a-fA-F])+|0[bB](?:_?[01])+|0[oO](?:_?[0-7])+"
    r"|(?:[0-9](?:_?[0-9])*(?:\.(?:[0-9](?:_?[0-9])*)?)?|\.[0-9](?:_?[0-9])*)"
    r"(?:[eE][-+]?[0-9](?:_?[0-9])*)?[jJ]?"
)
# One match per token, blanks before it included (the group is the token): names first, as
# most tokens are names, unless a quote follows (a string's prefix); numbers before operators
# (".5"). The empty alternative ends a match that finds no token after blanks (a lone "\r"),
# which would otherwise be tried again from each of those blanks.
_TOKEN = re.compile(
    rf"[ \t\f]*+([^\W\d]\w*+(?!['\"])|{_NUMBER}|{_operators()}"
    rf"|(?:\r?\n[ \t\f]*(?:#[^\r\n]*)?)+|#[^\r\n]*|\\\r?\n|{_STRING}|\w+|\S|)"
)

# Kinds of token texts; plain tokens (the most common) are 0 so one comparison skips the rest.
# _CUT is an f-string the pattern ended early, at a quote inside one of its fields.
_PLAIN, _OPEN, _CLOSE, _STR, _NEWLINE, _SKIP, _CONTINUATION, _CUT = range(8)
_F_PREFIXES = frozenset({"f", "fr", "rf"})

# (kind, norm code, orig code); for _NEWLINE, which swallows the blank and comment lines after
# it: (kind, indentation of the next line, number of line breaks).
_Entry = tuple[int, int, int]
_LOW = 0xFFFFFFFF
_LOW64 = (1 << 64) - 1  # a coded token at most this is plain
_LITTLE = sys.byteorder == "little"  # which half of a uint64 comes first in memory


def _column(indent: str) -> int:
    """The indentation width as `tokenize` counts it (tabs to multiples of 8, form feed resets)."""
    col = 0
    for ch in indent:
        if ch == " ":
            col += 1
        elif ch == "\t":
            col = (col // 8 + 1) * 8
        elif ch == "\f":
            col = 0
    return col


@lru_cache(maxsize=1 << 16)
def _classify(text: str, language: str) -> _Entry:
    lx = lexicon(language)
    first = text[0]
    if first in "\r\n":
        return (_NEWLINE, _column(text.rpartition("\n")[2]), text.count("\n"))
    if first == "#":
        return (_SKIP, 0, 0)
    if first == "\\" and len(text) > 1:
        return (_CONTINUATION, 0, 0)
    code = lx.code(text)
    if text in ("'", '"'):  # a string that did not end on its line: f"{(\n 1\n)}" from 3.12
        return (_CUT, code, code)
    if len(text) > 1 and text[-1] in "'\"":
        prefix = text[: len(text) - len(text.lstrip("bBrRuUfF"))]
        if "f" in prefix.lower() and not is_whole_fstring(text):
            return (_CUT, lx.string, code)
        return (_STR, lx.string, code)
    if first.isdigit() or (first == "." and text[1:2].isdigit()):
        return (_PLAIN, lx.number, code)
    if text.isidentifier():
        return (_PLAIN, code if keyword.iskeyword(text) else lx.ident, code)
    if text in "([{":
        return (_OPEN, code, code)
    if text in ")]}":
        return (_CLOSE, code, code)
    return (_PLAIN, code, code)


def lex_python(text: str, language: str = "python") -> Lexed:
    """The token arrays of Python source `text` (see `FileTokens`)."""
    # Trailing blanks would otherwise read as the indentation of a line that never comes.
    source = text.rstrip() + "\n"
    try:
        return _lex(_TOKEN.findall(source), language, cut_fails=True)
    except _CutFString:  # rare: an f-string with its own quotes inside, read again whole
        return _lex(_whole_fstrings(source, language), language, cut_fails=False)


class _CutFString(Exception):
    """The pattern ended an f-string at a quote inside one of its fields."""


def _whole_fstrings(source: str, language: str) -> list[str]:
    """The pattern's tokens of `source`, each f-string whole (see `fstrings`)."""
    out: list[str] = []
    at = 0
    while True:
        before: re.Match[str] | None = None
        for match in _TOKEN.finditer(source, at):
            tok, begin = match.group(1), match.start(1)
            if tok and _classify(tok, language)[0] == _CUT:
                if (
                    tok in ("'", '"')
                    and before is not None
                    and before.end(1) == begin
                    and before.group(1).lower() in _F_PREFIXES
                ):
                    begin = before.start(1)  # the prefix, read as a name
                end = string_end(source, begin)
                if end is not None and end > match.end(1):
                    del out[len(out) - (begin < match.start(1)) :]
                    out.append(source[begin:end])
                    at = end
                    break
            out.append(tok)
            before = match
        else:
            return out


def _lex(tokens: list[str], language: str, cut_fails: bool) -> Lexed:
    """The arrays of the pattern's tokens; `_CutFString`, if `cut_fails`, at an f-string the
    pattern cut short (else it is taken as it is: one string token).

    Each token is one int while lexing, `kind << 64 | norm << 32 | orig` (kind 0 for plain
    tokens, so one comparison tells them apart); the output keeps `norm << 32 | orig`, which
    becomes the two arrays in a single pass in C.
    """
    lx = lexicon(language)
    out: list[int] = []  # norm << 32 | orig of each token
    put = out.append
    breaks: list[int] = []
    layout: list[int] = []  # where NEWLINE, INDENT and DEDENT are in `out`
    # Cheaper than the process-wide cache for repeats in a file; "" is what the pattern's
    # empty alternative finds.
    codes: dict[str, int] = {"": _SKIP << 64}
    get = codes.get
    string = lx.string
    newline = lx.newline << 32 | lx.newline
    indent = lx.indent << 32 | lx.indent
    dedent = lx.dedent << 32 | lx.dedent
    dropped_heads = (lx.code("import"), lx.code("from"))
    indents = [0]
    depth = 0
    stmt = stmt_breaks = 0  # where the current logical line starts in `out` and `breaks`

    for tok in tokens:
        code = get(tok)
        if code is None:
            kind, first, second = _classify(tok, language)
            code = codes[tok] = kind << 64 | first << 32 | second
        if code <= _LOW64:  # a plain token
            put(code)
            continue
        kind = code >> 64
        if kind == _NEWLINE:
            lines = code & _LOW
            if depth:
                breaks.extend([len(out)] * lines)
                continue
            if len(out) > stmt:  # the logical line ends: imports and docstrings go
                head = out[stmt]
                if head & _LOW in dropped_heads or (
                    head >> 32 == string and all(c >> 32 == string for c in out[stmt:])
                ):
                    del out[stmt:]
                    breaks[stmt_breaks:] = [stmt] * (len(breaks) - stmt_breaks)
                else:
                    layout.append(len(out))
                    put(newline)
            column = code >> 32 & _LOW
            while column < indents[-1]:
                indents.pop()
                layout.append(len(out))
                put(dedent)
            breaks.extend([len(out)] * lines)
            if column > indents[-1]:
                indents.append(column)
                layout.append(len(out))
                put(indent)
            stmt, stmt_breaks = len(out), len(breaks)
            continue
        if kind == _SKIP:
            continue
        if kind == _CONTINUATION:
            breaks.append(len(out))
            continue
        if kind == _CUT and cut_fails:
            raise _CutFString
        if kind == _OPEN:
            depth += 1
        elif kind == _CLOSE:
            if depth:
                depth -= 1
        elif "\n" in tok:  # a _STR spanning lines
            put(code & _LOW64)
            breaks.extend([len(out)] * tok.count("\n"))
            continue
        put(code & _LOW64)
    both = memoryview(array("Q", out)).cast("B").cast("I")  # norm and orig, interleaved
    low, high = (both[0::2], both[1::2]) if _LITTLE else (both[1::2], both[0::2])
    return Lexed(
        array("I", high.tobytes()),
        array("I", low.tobytes()),
        array("I", breaks),
        array("I", layout),
    )
