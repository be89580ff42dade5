"""File names in SQLite TEXT columns, losslessly.

A name that is not valid UTF-8 reaches Python as a `surrogateescape` string (each undecodable
byte 0xXY as the lone surrogate U+DCXY), which SQLite's UTF-8 text cannot hold: binding one
raised `UnicodeEncodeError`, and one such file stopped its whole workspace from being stored.
In the database each lone surrogate is written as a NUL followed by its four hex digits. No
file name or path contains NUL, so the form is unambiguous, and every other name is stored
exactly as before (existing rows need no migration). Write paths with `to_db`, read them with
`from_db`; `PathField` does both for peewee models.
"""

from __future__ import annotations

import json
import re

import peewee

ESCAPE = "\x00"
_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPED = re.compile("\x00([0-9a-f]{4})")


def to_db(path: str) -> str:
    """`path` as stored: lone surrogates escaped, anything else unchanged."""
    if path.isascii():
        return path
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub(lambda m: f"{ESCAPE}{ord(m.group()):04x}", path)
    return path


def display(path: str) -> str:
    """`path` for text meant to be read (titles, diffs, messages): each lone surrogate as its
    `\\udcXY` escape, the form JSON shows it in; anything else unchanged."""
    if path.isascii():
        return path
    return path.encode("utf-8", "backslashreplace").decode("utf-8")


def from_db(text: str) -> str:
    """A stored path back as the daemon's string (the reverse of `to_db`)."""
    if ESCAPE not in text:
        return text
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)


class PathField(peewee.TextField):
    """A TEXT column holding a file path (see the module docstring)."""

    def db_value(self, value: str | None) -> str | None:
        return None if value is None else to_db(value)

    def python_value(self, value: str | None) -> str | None:
        return None if value is None else from_db(value)


def in_list(column: str, stored: list[str]) -> tuple[str, list[str]]:
    """SQL that is true where `column` is one of the `stored` paths (already `to_db`), and its
    arguments. SQLite's `json_each` ends a text at its first NUL, so an escaped name passed
    through it would match nothing (and "NOT IN" would keep it): those few go as parameters."""
    plain = [p for p in stored if ESCAPE not in p]
    escaped = [p for p in stored if ESCAPE in p]
    sql = f"{column} IN (SELECT value FROM json_each(?))"
    if escaped:
        sql = f"({sql} OR {column} IN ({', '.join('?' * len(escaped))}))"
    return sql, [json.dumps(plain), *escaped]
