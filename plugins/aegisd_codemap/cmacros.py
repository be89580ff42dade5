"""Recovering C/C++ parses broken by macros in declaration position.

``int XMLCALL XML_Parse(...)``, ``static FORCE_INLINE int f(...)``, ``class U_COMMON_API
UnicodeString``: tree-sitter does not expand macros, so these fail to parse, and functions go
missing or get the macro's name. When a parse has errors, the macros that may be to blame are
blanked (replaced by spaces, so every line and column stays put) and the file parsed again; the
second parse is kept when it has fewer errors. Blamed are the usual suspects (`COMMON`), the
file's own ``#define NAME`` with an empty or attribute-like body, the project's (the headers'
such defines, handed to the parse workers as a `MacroSet`: `cprojmacros`), and all-caps names
the parser choked on. A macro wrapping a type (``Py_LOCAL_INLINE(int) f(...)``) loses its name and
parentheses, keeping the type.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from typing import NamedTuple

from tree_sitter import Node, Tree

from aegisd_codemap.dialect import without_comments
from aegisd_codemap.treesitter import error_count

#: macros seen in declaration position in well-known C projects (expat, CPython, lz4, zstd,
#: xxhash, Windows), blanked whenever a parse fails
COMMON = frozenset(
    {
        "XMLCALL", "XMLIMPORT", "XMLPARSEAPI", "FORCE_INLINE", "FORCEINLINE", "FASTCALL",
        "FASTCALL_MSVC", "WINAPI", "CALLBACK", "APIENTRY", "WINBASEAPI", "NOINLINE",
        "FORCE_NOINLINE", "LZ4LIB_API", "LZ4_FORCE_INLINE", "ZSTDLIB_API", "ZSTD_ALLOW_POINTER_OVERFLOW_ATTR",
        "XXH_PUBLIC_API", "XXH_FORCE_INLINE", "MEM_STATIC", "HINT_INLINE",
        "Py_ALWAYS_INLINE", "Py_NO_INLINE", "_Py_NO_RETURN", "Py_GCC_ATTRIBUTE", "CPy_NOINLINE",
        "NPY_INLINE", "NPY_FINLINE", "SQLITE_API", "SQLITE_PRIVATE", "ZEXTERN", "ZEXPORT",
    }
)  # fmt: skip
#: macros that wrap a type: ``Py_LOCAL_INLINE(int) f(...)`` is ``static inline int f(...)``
TYPE_WRAPPERS = frozenset({"Py_LOCAL_INLINE", "Py_LOCAL", "PyAPI_FUNC", "PyAPI_DATA"})
#: C and C++ keywords: never the name of a symbol (a broken parse reads ``if (x) {`` as one)
KEYWORDS = frozenset(
    {
        "if", "else", "for", "while", "do", "switch", "case", "default", "return", "break",
        "continue", "goto", "sizeof", "typedef", "struct", "union", "enum", "class", "static",
        "extern", "const", "volatile", "inline", "register", "auto", "signed", "unsigned",
        "void", "int", "char", "short", "long", "float", "double", "new", "delete", "try",
        "catch", "throw", "namespace", "template", "typename", "using", "public", "private",
        "protected", "virtual", "friend", "operator", "this", "alignof", "decltype",
        "static_assert", "_Static_assert", "defined",
    }
)  # fmt: skip
#: what an ERROR starting with a type looks like (``FORCE_INLINE int f()``: ``int`` is it)
_TYPE_NODES = frozenset({"identifier", "type_identifier", "primitive_type", "sized_type_specifier"})
_ALL_CAPS = re.compile(r"[A-Z][A-Z0-9_]*[A-Z0-9]\Z")
#: what an attribute-like macro body may hold besides attributes and other all-caps macros
_SPECIFIERS = frozenset(
    {b"inline", b"__inline", b"__inline__", b"__forceinline", b"static", b"extern"}
    | {b"__cdecl", b"__stdcall", b"__fastcall", b"__vectorcall"}
)
_ATTRIBUTES = re.compile(
    rb"__attribute__\s*\(\((?:[^()]|\([^()]*\))*\)\)|__declspec\s*\([^()]*\)|\[\[[^\]]*\]\]"
)
_TOKEN_CAPS = re.compile(rb"[A-Z][A-Z0-9_]*\Z")
_CAPS = rb"[A-Z][A-Z0-9_]*[A-Z0-9]"
#: where only a macro fits: a line of one all-caps word (``U_NAMESPACE_BEGIN``), between
#: ``class`` and the class's name, between a declaration's type and its name (``int XMLCALL
#: f(``), or before a type (``FORCE_INLINE int f(``, ``U_CAPI int32_t U_EXPORT2 f(``)
_MACRO_SPOTS = (
    # (not a return type on a line of its own: ``PyMODINIT_FUNC\nPyInit_x(void)``)
    re.compile(rb"^[ \t]*(" + _CAPS + rb")[ \t]*$(?!\n[ \t*]*\w+[ \t]*\()", re.M),
    re.compile(rb"\b(?:class|struct|union)[ \t]+(" + _CAPS + rb")[ \t]+\w+[ \t\n]*[:{]"),
    re.compile(rb"[\w*&][ \t]+(" + _CAPS + rb")[ \t\n]+[*&]*\w+[ \t]*\("),
    re.compile(
        rb"^[ \t]*(?:(?:static|inline|extern)[ \t]+)*(" + _CAPS + rb")[ \t]+"
        rb"\w+[ \t*&]*\n?[ \t*&]*[\w \t*&]*\(",
        re.M,
    ),
)
#: names the file declares as types (``typedef unsigned long DWORD;``): never blanked
_TYPEDEF = re.compile(rb"\btypedef\b[^;{}]*?(\w+)[ \t]*;")
_RECORD = re.compile(
    rb"\b(?:struct|class|union|enum)[ \t]+(?:" + _CAPS + rb"[ \t]+)?(" + _CAPS + rb")[ \t\n]*[{:]"
)
_DEFINE = re.compile(rb"^[ \t]*#[ \t]*define[ \t]+(\w+)(?:[ \t]+((?:\\\n|[^\n])*))?$", re.M)
_PREPROCESSOR = re.compile(rb"^[ \t]*#(?:\\\n|[^\n])*", re.M)
_NAMES = frozenset({"identifier", "type_identifier"})
_ROUNDS = 2
_IDENTIFIERS = re.compile(rb"[A-Za-z_]\w*")
#: a C/C++ extract's ``exports`` entries (beside `cbind`'s declarations): an attribute-like
#: macro a header defines, and the digest of the project set a failed first parse was
#: recovered with (no qualname starts with ``#``)
DEFINES, RECOVERED = "#a:", "#u:"
#: attribute-like macros one header contributes at most
MAX_PER_HEADER = 200


class MacroSet(NamedTuple):
    """The project's attribute-like macros a parse may blame, and a digest naming the set (a
    file records which set its recovery used: `cprojmacros`)."""

    digest: str
    names: frozenset[str]


NO_MACROS = MacroSet("", frozenset())


def defined_attributes(data: bytes) -> set[str]:
    """Object-like macros the file defines as nothing or as attributes and specifiers."""
    found: set[str] = set()
    for match in _DEFINE.finditer(data):
        body = _ATTRIBUTES.sub(b" ", (match.group(2) or b"").replace(b"\\\n", b" "))
        if all(t in _SPECIFIERS or _TOKEN_CAPS.match(t) for t in body.split()):
            found.add(match.group(1).decode("ascii", "replace"))
    return found


def spotted(code: bytes) -> set[str]:
    """All-caps names standing where only a macro fits in ``code`` (without comments)."""
    return {m.group(1).decode("ascii") for p in _MACRO_SPOTS for m in p.finditer(code)}


def declared(code: bytes) -> set[str]:
    """The all-caps types ``code`` declares (``typedef ... DWORD;``, ``class U_API IDNA {``):
    never blamed."""
    found = set(_TYPEDEF.findall(code)) | set(_RECORD.findall(code))
    return {name.decode("ascii", "replace") for name in found}


def _error_names(root: Node, data: bytes) -> set[str]:
    """All-caps names the parser could not place (not called like functions), and the one
    just before a type it could not place (``FORCE_INLINE int f()``, ``static
    BASE64_FORCE_INLINE __m256i f()``: the type is the error)."""
    names: set[str] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_error:
            suspects = list(node.children)
            before = node.prev_sibling
            first = node.children[0] if node.children else None
            if before is not None and first is not None and first.type in _TYPE_NODES:
                suspects.append(before)
            for suspect in suspects:
                name = _text(suspect)
                called = data[suspect.end_byte : suspect.end_byte + 64].lstrip()[:1] == b"("
                if suspect.type in _NAMES and _ALL_CAPS.match(name) and not called:
                    names.add(name)
        stack.extend(c for c in node.children if c.has_error)
    return names


def _text(node: Node) -> str:
    return "" if node.text is None else node.text.decode("utf-8", "replace")


def _blank(data: bytes, names: set[str]) -> bytes:
    """``data`` with ``names`` (and type wrappers' parentheses) replaced by spaces outside
    preprocessor lines."""
    pattern = re.compile(rb"\b(?:" + b"|".join(re.escape(n.encode()) for n in names) + rb")\b")
    out = bytearray(data)
    directives = [m.span() for m in _PREPROCESSOR.finditer(data)]
    starts = [a for a, _ in directives]
    for match in pattern.finditer(data):
        start, end = match.span()
        at = bisect_right(starts, start) - 1
        if at >= 0 and start < directives[at][1]:
            continue  # in a directive: #define XMLCALL stays
        out[start:end] = b" " * (end - start)
        if match.group().decode() in TYPE_WRAPPERS:
            _blank_parentheses(out, end)
    return bytes(out)


def _blank_parentheses(out: bytearray, at: int) -> None:
    """Blank the parentheses of a call-like macro starting at ``at``, keeping what is inside."""
    i = at
    while i < len(out) and out[i] in b" \t":
        i += 1
    if i >= len(out) or out[i] != ord("("):
        return
    depth = 0
    for j in range(i, len(out)):
        if out[j] == ord("("):
            depth += 1
        elif out[j] == ord(")"):
            depth -= 1
            if not depth:
                out[i] = out[j] = ord(" ")
                return


def recover(
    data: bytes, parse: Callable[[bytes], Tree], project: frozenset[str] = frozenset()
) -> tuple[bytes, Tree, frozenset[str]]:
    """The parse of ``data`` with the fewest errors, the source it was parsed from, and the
    macros blanked for it (``project``: the workspace's attribute-like macros, blamed too)."""
    tree = parse(data)
    if not tree.root_node.has_error:
        return data, tree, frozenset()
    best = (error_count(tree.root_node), data, tree, frozenset[str]())
    code = without_comments(data)
    present = {name for name in COMMON | TYPE_WRAPPERS if name.encode() in code}
    blamed = present | defined_attributes(code) | spotted(code)
    if project:
        blamed |= project & {t.decode("ascii") for t in _IDENTIFIERS.findall(code)}
    types = declared(code)
    for _ in range(_ROUNDS):
        blamed = (blamed | _error_names(best[2].root_node, data)) - types
        if not blamed or blamed <= best[3]:
            break
        blanked = _blank(data, blamed)
        again = parse(blanked)
        errors = error_count(again.root_node)
        if errors >= best[0]:
            break
        best = (errors, blanked, again, frozenset(blamed))
        if not errors:
            break
    return best[1], best[2], best[3]


def macro_entries(data: bytes, header: bool, recovered: str | None) -> tuple[str, ...]:
    """The ``exports`` entries of a file: a header's attribute-like defines (bounded), and
    ``recovered``, the digest of the project set used when its first parse failed."""
    found: list[str] = []
    if header:
        names = sorted(defined_attributes(without_comments(data)))[:MAX_PER_HEADER]
        found += [DEFINES + name for name in names]
    if recovered is not None:
        found.append(RECOVERED + recovered)
    return tuple(found)


def with_macro_entries(
    kept: tuple[str, ...] | None, fresh: tuple[str, ...] | None
) -> tuple[str, ...] | None:
    """A file's last good ``exports`` with its fresh parse's macro entries (a file that stops
    parsing keeps its declarations, yet says which macros it defines and was recovered
    with now)."""
    marks = (DEFINES, RECOVERED)
    entries = [e for e in fresh or () if e.startswith(marks)]
    if not entries and not any(e.startswith(marks) for e in kept or ()):
        return kept  # not a C file's, or no macro entries either way
    return (*(e for e in kept or () if not e.startswith(marks)), *entries)
