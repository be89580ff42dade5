"""Where a string literal ends when it may be an f-string as Python 3.12 reads it (PEP 701).

A replacement field holds any expression, strings in the same quotes and nested f-strings
included, so the first closing quote need not end the f-string, and no regular expression can
follow the nesting. The lexer's pattern reads an f-string up to that first quote; it asks
`string_end` for the real end when the text it got is not a whole f-string. Python 3.11 code has
no such f-strings, so the lexer (and every fingerprint) is the same on each interpreter.
"""

from __future__ import annotations

import re

__all__ = ["is_whole_fstring", "string_end"]

_PREFIXES = frozenset({"r", "u", "b", "br", "rb", "f", "fr", "rf"})
_NAME = re.compile(r"\w+")


def is_whole_fstring(text: str) -> bool:
    """Whether `text`, a string token with an `f` prefix, ends where its f-string ends."""
    return string_end(text, 0) == len(text)


def string_end(text: str, start: int) -> int | None:
    """The index just past the string literal whose prefix (or quote) is at `start`, or None
    when it does not end in `text` or is no string literal."""
    name = _NAME.match(text, start)
    prefix = name.group().lower() if name else ""
    at = start + len(prefix)
    if (prefix and prefix not in _PREFIXES) or at >= len(text) or text[at] not in "'\"":
        return None
    quote = text[at] * 3 if text.startswith(text[at] * 3, at) else text[at]
    at += len(quote)
    if "f" in prefix:
        return _literal(text, at, quote, raw="r" in prefix)
    return _plain(text, at, quote)


def _plain(text: str, at: int, quote: str) -> int | None:
    """The end of a string without replacement fields, from just after its opening quote."""
    while at < len(text):
        if text[at] == "\\":
            at += 2
        elif text.startswith(quote, at):
            return at + len(quote)
        elif text[at] == "\n" and len(quote) == 1:
            return None
        else:
            at += 1
    return None


def _literal(text: str, at: int, quote: str, raw: bool) -> int | None:
    """The end of an f-string, from its literal text just after the opening quote."""
    while at < len(text):
        char = text[at]
        if char == "\\":
            if not raw and text.startswith("N{", at + 1):  # a named escape, braces and all
                close = text.find("}", at)
                if close < 0:
                    return None
                at = close + 1
            else:  # an escaped brace is still a brace
                at += 1 if text[at + 1 : at + 2] in ("{", "}") else 2
        elif text.startswith(quote, at):
            return at + len(quote)
        elif text.startswith(("{{", "}}"), at):
            at += 2
        elif char == "{":
            found = _field(text, at + 1, quote, raw)
            if found is None:
                return None
            at = found
        elif char == "\n" and len(quote) == 1:
            return None
        else:
            at += 1
    return None


def _field(text: str, at: int, quote: str, raw: bool) -> int | None:
    """The end of a replacement field, from just after its `{`: an expression, then maybe a
    conversion and a format spec."""
    depth = 0
    while at < len(text):
        char = text[at]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            if not depth:
                return at + 1 if char == "}" else None
            depth -= 1
        elif char == ":" and not depth:
            return _spec(text, at + 1, quote, raw)
        elif char in "'\"" or char.isalnum() or char == "_":
            name = _NAME.match(text, at)
            word = name.end() if name else at
            if word < len(text) and text[word] in "'\"":  # a string, perhaps with a prefix
                found = string_end(text, at)
                if found is None:
                    return None
                at = found
            else:
                at = max(word, at + 1)
            continue
        elif char == "#":  # a comment, in a field that spans lines
            at = text.find("\n", at)
            if at < 0:
                return None
        at += 1
    return None


def _spec(text: str, at: int, quote: str, raw: bool) -> int | None:
    """The end of a format spec, from just after its `:`: literal text and nested fields."""
    while at < len(text):
        char = text[at]
        if char == "{":
            found = _field(text, at + 1, quote, raw)
            if found is None:
                return None
            at = found
        elif char == "}":
            return at + 1
        elif char == "\\":
            at += 2
        elif text.startswith(quote, at) or (char == "\n" and len(quote) == 1):
            return None
        else:
            at += 1
    return None
