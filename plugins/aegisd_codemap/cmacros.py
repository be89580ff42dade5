"""Recovering C/C++ parses broken by macros in declaration position.

``int XMLCALL XML_Parse(...)``, ``static FORCE_INLINE int f(...)``, ``class U_COMMON_API
UnicodeString``: tree-sitter does not expand macros, so these fail to parse, and functions go
missing or get the macro's name. When a parse has errors, the macros that may be to blame are
blanked (replaced by spaces, so every line and column stays put) and the file parsed again; the
second parse is kept when it has fewer errors. Blamed are the usual suspects (`COMMON`), the
file's own ``#define NAME`` with an empty or attribute-like body, and all-caps names the parser
choked on. A macro wrapping a type (``Py_LOCAL_INLINE(int) f(...)``) loses its name and
parentheses, keeping the type.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tree_sitter import Node, Tree

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
_TYPE_WORDS = frozenset(
    {"void", "int", "char", "short", "long", "float", "double", "unsigned", "signed", "bool"}
    | {"const", "struct", "union", "enum", "size_t", "static", "inline"}
)
_ALL_CAPS = re.compile(r"[A-Z][A-Z0-9_]*[A-Z0-9]\Z")
#: what an attribute-like macro body may hold: nothing, attributes, specifiers, other macros
_ATTRIBUTE_BODY = re.compile(
    rb"(?:\s|__attribute__\s*\(\(.*\)\)|__declspec\s*\(.*\)|\[\[.*\]\]|__inline__|__inline"
    rb"|__forceinline|inline|static|extern|__cdecl|__stdcall|__fastcall|[A-Z][A-Z0-9_]*)*",
)
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
        rb"(?:\w+[ \t*&]+)+[*&]*\w+[ \t]*\(",
        re.M,
    ),
)
#: names the file declares as types (``typedef unsigned long DWORD;``): never blanked
_DECLARED = re.compile(
    rb"typedef[^;{}]*?\b("
    + _CAPS
    + rb")[ \t]*;|\b(?:struct|class|union|enum)[ \t]+("
    + _CAPS
    + rb")[ \t\n]*[{:]"
)
_DEFINE = re.compile(rb"^[ \t]*#[ \t]*define[ \t]+(\w+)(?:[ \t]+((?:\\\n|[^\n])*))?$", re.M)
_PREPROCESSOR = re.compile(rb"^[ \t]*#(?:\\\n|[^\n])*", re.M)
_NAMES = frozenset({"identifier", "type_identifier"})
_ROUNDS = 2


def defined_attributes(data: bytes) -> set[str]:
    """Object-like macros the file defines as nothing or as attributes and specifiers."""
    found: set[str] = set()
    for match in _DEFINE.finditer(data):
        body = (match.group(2) or b"").replace(b"\\\n", b" ")
        if _ATTRIBUTE_BODY.fullmatch(body):
            found.add(match.group(1).decode("ascii", "replace"))
    return found


def spotted(data: bytes) -> set[str]:
    """All-caps names standing where only a macro fits, less the file's own types."""
    found = {m.group(1) for pattern in _MACRO_SPOTS for m in pattern.finditer(data)}
    declared = {name for m in _DECLARED.finditer(data) for name in m.groups() if name}
    return {name.decode("ascii") for name in found - declared}


def _error_names(root: Node, data: bytes) -> set[str]:
    """All-caps names the parser could not place (not called like functions), and the one
    just before a type it could not place (``FORCE_INLINE int f()``: ``int`` is the error)."""
    names: set[str] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_error:
            suspects = list(node.children)
            before = node.prev_sibling
            if before is not None and any(_text(c) in _TYPE_WORDS for c in node.children):
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
    for match in pattern.finditer(data):
        start, end = match.span()
        if any(a <= start < b for a, b in directives):
            continue
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


def recover(data: bytes, parse: Callable[[bytes], Tree]) -> tuple[bytes, Tree, frozenset[str]]:
    """The parse of ``data`` with the fewest errors, the source it was parsed from, and the
    macros blanked for it."""
    tree = parse(data)
    if not tree.root_node.has_error:
        return data, tree, frozenset()
    best = (error_count(tree.root_node), data, tree, frozenset[str]())
    present = {n for n in COMMON | TYPE_WRAPPERS if n.encode() in data}
    blamed = present | defined_attributes(data) | spotted(data)
    for _ in range(_ROUNDS):
        blamed |= _error_names(best[2].root_node, data)
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
