"""Token streams of source files: the `FileTokens` record and `tokenize_file`.

Each token has two codes (see lexicon.py): `orig` hashes its text and tells type-1 from type-2
clones; `norm` collapses identifiers, strings and numbers to placeholders and is what matches.
Comments, docstrings and imports are dropped; every token keeps its 1-based line.
"""

from __future__ import annotations

import posixpath
import sys
import unicodedata
import zlib
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from aegisd.languages import EXTENSIONS
from aegisd_similarity.lexicon import FAMILIES, Lexicon, lexicon
from aegisd_similarity.pylex import lex_python
from aegisd_similarity.tslex import lex_tree_sitter

__all__ = [
    "LEXER",
    "FileTokens",
    "UnsupportedLanguageError",
    "language_for",
    "le_bytes",
    "lexer_of",
    "pack_array",
    "packed_arrays",
    "tokenize_file",
    "unpack",
    "unpack_array",
    "unpack_source",
    "valid_lexers",
]

_SWAP = sys.byteorder != "little"  # stored blobs are little-endian

#: Stored with each file's tokens; tokens made by another lexer are made again. Bump it when
#: a lexer changes what it produces (test_fstrings pins the tokens of a sample), or how its
#: tokens are stored (3: the arrays compressed, `packed_arrays`).
LEXER = "3"
#: Python tokens depend on the source alone (`pylex`), on any interpreter, but for where
#: identifiers with non-ASCII letters split: that follows the interpreter's Unicode database.
_UNICODE_LEXER = f"{LEXER}+unicode-{unicodedata.unidata_version}"


def lexer_of(text: str, language: str) -> str:
    """What made the tokens of `text`, as far as they can differ between interpreters."""
    return _UNICODE_LEXER if language == "python" and not text.isascii() else LEXER


def packed_arrays(lexer: str) -> bool:
    """Whether a stored row made by `lexer` holds its arrays compressed (lexer 3 on; older
    rows, read until they are made again, hold them raw)."""
    major = lexer.split("+", 1)[0]
    return major.isdigit() and int(major) >= 3


def valid_lexers() -> frozenset[str]:
    """The `lexer_of` values of stored tokens this interpreter would make alike."""
    return frozenset((LEXER, _UNICODE_LEXER))


class UnsupportedLanguageError(ValueError):
    """The file's language has no tokenizer here."""


def language_for(path: str) -> str | None:
    """The language of `path` from its extension, or None when it has no tokenizer."""
    return EXTENSIONS.get(posixpath.splitext(path)[1].lower())


@dataclass(frozen=True, slots=True)
class FileTokens:
    """One file's tokens as arrays of unsigned 32-bit ints (compact and picklable).

    `norm[i]` and `orig[i]` are the codes of token i. `breaks[j]` is the number of tokens that
    start before line j + 2, so lines cost 4 bytes each instead of 4 bytes per token. `layout`
    lists, ascending, the tokens that are layout (Python's NEWLINE, INDENT, DEDENT), which do
    not count towards a clone's size. `packed_source` (zlib) is kept for previews, at about a
    quarter of the text's size.
    """

    path: str
    language: str
    line_count: int
    norm: array[int]
    orig: array[int]
    breaks: array[int]
    layout: array[int]
    packed_source: bytes
    lexer: str = LEXER  # `lexer_of` the source

    @property
    def source(self) -> str:
        return unpack_source(self.packed_source)

    def __len__(self) -> int:
        return len(self.norm)

    def line_of(self, token: int) -> int:
        """The 1-based line token `token` starts on."""
        return bisect_right(self.breaks, token) + 1

    def size(self, start: int, end: int) -> int:
        """How many tokens of [start, end) are not layout."""
        layout = self.layout
        return end - start - bisect_left(layout, end) + bisect_left(layout, start)

    @property
    def lexicon(self) -> Lexicon:
        return lexicon(self.language)

    def to_record(self) -> dict[str, str | int | bytes]:
        """A flat row for storage: the arrays as compressed little-endian uint32 blobs (a
        quarter of their size, or less: token codes repeat), the source packed."""
        return {
            "path": self.path,
            "language": self.language,
            "line_count": self.line_count,
            "norm": pack_array(self.norm),
            "orig": pack_array(self.orig),
            "breaks": pack_array(self.breaks),
            "layout": pack_array(self.layout),
            "source": self.packed_source,
            "lexer": self.lexer,
        }

    @classmethod
    def from_record(cls, row: dict[str, str | int | bytes]) -> FileTokens:
        """The inverse of `to_record` (and of a row stored before the arrays were packed)."""
        lexer = str(row.get("lexer", ""))
        read = unpack_array if packed_arrays(lexer) else unpack
        return cls(
            path=str(row["path"]),
            language=str(row["language"]),
            line_count=int(row["line_count"]),
            norm=read(row["norm"]),
            orig=read(row["orig"]),
            breaks=read(row["breaks"]),
            layout=read(row["layout"]),
            packed_source=_bytes(row["source"]),
            lexer=lexer,
        )


def le_bytes(values: array[int]) -> bytes:
    """The little-endian bytes of a uint32 array (hashes and blobs agree across machines)."""
    if not _SWAP:
        return values.tobytes()
    swapped = array("I", values)
    swapped.byteswap()
    return swapped.tobytes()


def _bytes(blob: object) -> bytes:
    if not isinstance(blob, bytes):
        raise TypeError(f"expected bytes, got {type(blob).__name__}")
    return blob


def unpack_source(packed: object) -> str:
    """The text of a packed source (`FileTokens.packed_source`)."""
    return zlib.decompress(_bytes(packed)).decode("utf-8", "surrogatepass")


def unpack(blob: object) -> array[int]:
    """The uint32 array of a blob from `le_bytes`."""
    values = array("I")
    values.frombytes(_bytes(blob))
    if _SWAP:
        values.byteswap()
    return values


def pack_array(values: array[int]) -> bytes:
    """A uint32 array compressed for storage (`unpack_array` reads it)."""
    return zlib.compress(le_bytes(values), 1)


def unpack_array(blob: object) -> array[int]:
    """The uint32 array of a blob from `pack_array`."""
    return unpack(zlib.decompress(_bytes(blob)))


def tokenize_file(path_rel: str, data: bytes, language: str | None = None) -> FileTokens:
    """Tokenize one file; module-level so a process pool can run it.

    `language` defaults to the one implied by the extension; without one this raises
    `UnsupportedLanguageError`. A BOM is dropped, undecodable bytes become U+FFFD.
    """
    lang = language or language_for(path_rel)
    if lang not in FAMILIES:
        raise UnsupportedLanguageError(f"no tokenizer for {path_rel!r}")
    text = data.decode("utf-8-sig", "replace")
    lexed = lex_python(text, lang) if lang == "python" else lex_tree_sitter(text.encode(), lang)
    line_count = text.count("\n") + (1 if text and not text.endswith("\n") else 0)
    packed = zlib.compress(text.encode("utf-8", "surrogatepass"), 1)
    return FileTokens(path_rel, lang, line_count, *lexed, packed, lexer_of(text, lang))
