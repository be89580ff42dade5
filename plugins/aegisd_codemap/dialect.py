"""Whether a header named ``.h`` is C or C++.

The extension says C, but C++ projects name their headers ``.h`` as often as not; parsed as C,
their classes, namespaces and templates vanish. A header is C++ when its code (comments and
literals aside) holds a construct C does not have, or when a C++ source or header of the same
name sits beside it (``widget.h`` next to ``widget.cpp``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Container, Iterable

#: comments and string/char literals, blanked before looking for C++ constructs
_NOISE = re.compile(rb'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
_CPP_CONSTRUCTS = re.compile(
    rb"^[ \t]*(?:"
    rb"template[ \t]*<"
    rb"|namespace(?:[ \t]+\w+(?:::\w+)*)?[ \t\n]*\{"
    rb"|class[ \t]+\w+[^;(){}]*\{"
    rb"|(?:public|private|protected)[ \t]*:"
    rb"|using[ \t]+(?:namespace[ \t]+)?\w+(?:::\w+)*[ \t]*[=;]"
    rb")"
    rb"|\b(?:virtual|constexpr|nullptr|static_cast|dynamic_cast|reinterpret_cast)\b"
    rb"|\w::~?\w",
    re.M,
)
_DIRECTIVE = re.compile(rb"^[ \t]*#[ \t]*(if|ifdef|ifndef|elif|else|endif)\b(.*)$", re.M)
#: preprocessor lines (continued ones included): a macro may say nullptr for C++ users
_PREPROCESSOR = re.compile(rb"^[ \t]*#(?:\\\n|[^\n])*", re.M)
_CPP_SIBLINGS = (".cpp", ".cc", ".cxx", ".hpp", ".hh", ".hxx")
SNIFF_BYTES = 256 * 1024


_HEADERS = (".h", ".hpp", ".hh", ".hxx")


def is_header(path: str) -> bool:
    return path.lower().endswith(".h")


def is_c_header(path: str) -> bool:
    """A C or C++ header (what other files include)."""
    return path.lower().endswith(_HEADERS)


def cplusplus_spans(code: bytes) -> list[tuple[int, int]]:
    """Where the branches only a C++ compiler sees are (``#ifdef __cplusplus ...``, the
    ``#else`` of ``#ifndef __cplusplus``), directives excluded: C headers carry C++ wrappers
    there."""
    spans: list[tuple[int, int]] = []
    # per open #if: whether it tests __cplusplus negated (None: not at all), and whether the
    # branch being read is C++-only
    stack: list[list[bool | None]] = []
    start = 0
    for match in _DIRECTIVE.finditer(code):
        directive, rest = match.group(1), match.group(2)
        hidden_before = any(entry[1] for entry in stack)
        if directive in (b"if", b"ifdef", b"ifndef"):
            tests = b"__cplusplus" in rest
            negated = directive == b"ifndef" or b"!" in rest
            stack.append([negated if tests else None, tests and not negated])
        elif not stack:
            continue
        elif directive == b"endif":
            stack.pop()
        elif stack[-1][0] is not None:  # #else / #elif of a __cplusplus test
            stack[-1][1] = bool(stack[-1][0]) if directive == b"else" else False
        elif directive == b"elif" and b"__cplusplus" in rest and b"!" not in rest:
            stack[-1] = [False, True]
        hidden_after = any(entry[1] for entry in stack)
        if hidden_after and not hidden_before:
            start = match.end()
        elif hidden_before and not hidden_after:
            spans.append((start, match.start()))
    if any(entry[1] for entry in stack):
        spans.append((start, len(code)))
    return spans


def blank_cplusplus(data: bytes) -> bytes:
    """``data`` as a C compiler reads it: C++-only branches blanked (lines stay put)."""
    if b"__cplusplus" not in data:
        return data
    out = bytearray(data)
    for start, end in cplusplus_spans(data):
        out[start:end] = re.sub(rb"[^\n]", b" ", data[start:end])
    return bytes(out)


def without_comments(data: bytes) -> bytes:
    """``data`` with comments and string literals blanked."""
    return _NOISE.sub(b" ", data)


def looks_cpp(data: bytes) -> bool:
    """A C++ construct in the code a C compiler sees: a template, namespace, class with a
    body, access label, ``using``, a C++-only keyword or a ``::`` scope."""
    code = blank_cplusplus(_NOISE.sub(b" ", data[:SNIFF_BYTES]))
    code = _PREPROCESSOR.sub(b" ", code)
    return _CPP_CONSTRUCTS.search(code) is not None


def has_cpp_sibling(root: str, path: str) -> bool:
    """A C++ file of the same name beside ``path`` (a few stats, no directory listing)."""
    stem = os.path.join(root, path)[: -len(".h")]
    return any(os.path.isfile(stem + suffix) for suffix in _CPP_SIBLINGS)


def headers_to_redecide(paths: Iterable[str], indexed: Container[str]) -> list[str]:
    """The indexed ``.h`` headers whose dialect a C++ file of ``paths`` coming or going may
    change (``widget.h`` when ``widget.cpp`` appears or disappears): their sibling is looked
    for only when they are parsed, so they are parsed again."""
    found: set[str] = set()
    for path in paths:
        stem, suffix = os.path.splitext(path)
        if suffix.lower() in _CPP_SIBLINGS and stem + ".h" in indexed:
            found.add(stem + ".h")
    return sorted(found)


def header_language(data: bytes, root: str | None, path: str) -> str:
    """``cpp`` or ``c`` for a ``.h`` file holding ``data`` (``root`` None: content only)."""
    if looks_cpp(data) or (root is not None and has_cpp_sibling(root, path)):
        return "cpp"
    return "c"
