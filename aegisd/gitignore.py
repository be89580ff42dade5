"""gitignore(5) patterns, matched the way git matches them.

Each source of patterns (a `.gitignore`, `$GIT_DIR/info/exclude`, `core.excludesFile`) becomes
one `PatternList`: its patterns compiled into two regular expressions (one for directories, one
for everything else, since `dir/` patterns match directories only), alternatives in reverse
order so the first alternative that matches is the file's *last* matching pattern — git's
"last match wins" at C speed. A pattern matches the path itself, never "anything under it":
like git, callers decide a directory first and do not look inside an ignored one.

Git matches bytes, so `?` and `[...]` stand for one byte: patterns are compiled from their bytes
(read as Latin-1, one character per byte) and a non-ASCII path is matched in the same form.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

UTF8_BOM = b"\xef\xbb\xbf"
#: POSIX classes wildmatch knows, as Latin-1 regex class bodies (git matches ASCII only)
_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "blank": " \\t",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "\\x21-\\x7e",
    "lower": "a-z",
    "print": "\\x20-\\x7e",
    "punct": "!-/:-@\\[-`{-~",
    "space": " \\t\\n\\r\\x0b\\x0c",
    "upper": "A-Z",
    "xdigit": "0-9A-Fa-f",
}
_NEVER = "(?!)"


@dataclass(frozen=True)
class Pattern:
    """One gitignore line, compiled: `regex` matches a path relative to the list's base."""

    source: str  # the line as written (for messages)
    regex: str
    negative: bool
    dir_only: bool
    #: no slash: matched against the last part of a path only (git's basename match)
    name_only: bool = False
    #: a name-only pattern without wildcards: that exact name
    literal_name: str | None = None


def matchable(path: str) -> str:
    """`path` in the form patterns are compiled for: one character per byte of the name."""
    return path if path.isascii() else os.fsencode(path).decode("latin-1")


def parse(data: bytes) -> list[Pattern]:
    """The patterns of a gitignore-format file (blank lines and comments dropped)."""
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
    patterns = []
    for raw in data.split(b"\n"):
        pattern = compile_line(raw.decode("latin-1"))
        if pattern is not None:
            patterns.append(pattern)
    return patterns


def compile_line(line: str) -> Pattern | None:
    """One line (Latin-1, a character per byte) as a `Pattern`, or None for no pattern."""
    source = line = line.removesuffix("\r")
    line = _trim_trailing_spaces(line)
    if not line or line.startswith("#"):
        return None
    negative = line.startswith("!")
    if negative:
        line = line[1:]
    dir_only = line.endswith("/")
    if dir_only:
        line = line[:-1]  # one slash: "a//" keeps one and so never matches, as in git
    if not line:
        return None
    if "/" not in line:
        # No slash: the last part of the path, at any depth (a basename match).
        name = line if _literal_prefix(line) == len(line) else None
        return Pattern(source, _wildmatch(line), negative, dir_only, True, name)
    # Anchored to the list's base (the leading slash only says so). git compares the part
    # before the first wildcard literally and wildmatches the rest from its own start.
    line = line.removeprefix("/")
    literal = _literal_prefix(line)
    return Pattern(
        source, re.escape(line[:literal]) + _wildmatch(line[literal:]), negative, dir_only
    )


def _literal_prefix(pattern: str) -> int:
    """How many leading characters have no glob meaning (git's `simple_length`)."""
    for at, ch in enumerate(pattern):
        if ch in "*?[\\":
            return at
    return len(pattern)


def _trim_trailing_spaces(line: str) -> str:
    """Trailing spaces go unless the last one is escaped with a backslash (as git does)."""
    end = len(line)
    while end and line[end - 1] == " ":
        backslashes = 0
        at = end - 2
        while at >= 0 and line[at] == "\\":
            backslashes += 1
            at -= 1
        if backslashes % 2:
            break
        end -= 1
    return line[:end]


def _wildmatch(pattern: str) -> str:
    """git's wildmatch with WM_PATHNAME, as a regex body: `*`, `?` and classes never match
    `/`; `**` between slashes (or at either end) matches across them."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= n:
                return _NEVER  # a trailing backslash matches nothing in git
            out.append(re.escape(pattern[i + 1]))
            i += 2
        elif ch == "?":
            out.append("[^/]")
            i += 1
        elif ch == "*":
            start = i
            while i < n and pattern[i] == "*":
                i += 1
            after_slash = start == 0 or pattern[start - 1] == "/"
            if i - start < 2 or not after_slash:
                out.append("[^/]*")
            elif i == n:
                out.append(".*")  # trailing `/**`: everything inside
            elif pattern[i] == "/":
                out.append("(?:.*/)?")  # `**/`: zero or more directories
                i += 1
            elif pattern.startswith("\\/", i):
                out.append(".*")  # `**\/`: git skips its zero-directory shortcut here
            else:
                out.append("[^/]*")
        elif ch == "[":
            body, i = _bracket(pattern, i)
            if body is None:
                return _NEVER  # an unterminated or unknown class aborts the match in git
            out.append(body)
        else:
            out.append(re.escape(ch))
            i += 1
    return "".join(out)


def _bracket(pattern: str, i: int) -> tuple[str | None, int]:
    """The class starting at `pattern[i] == "["` as a regex class; None if git would abort."""
    n = len(pattern)
    i += 1
    negate = i < n and pattern[i] in "!^"
    if negate:
        i += 1
    parts: list[str] = []
    first = True
    prev: str | None = None
    while True:
        if i >= n:
            return None, i
        ch = pattern[i]
        if ch == "]" and not first:
            i += 1
            break
        first = False
        if ch == "\\":
            i += 1
            if i >= n:
                return None, i
            ch = pattern[i]
            parts.append(_class_char(ch))
            prev = ch
            i += 1
        elif ch == "-" and prev is not None and i + 1 < n and pattern[i + 1] != "]":
            i += 1
            end = pattern[i]
            if end == "\\":
                i += 1
                if i >= n:
                    return None, i
                end = pattern[i]
            if ord(prev) <= ord(end):  # a reversed range adds nothing (`prev` stays)
                parts.append(f"{_class_char(prev)}-{_class_char(end)}")
            prev = None
            i += 1
        elif ch == "[" and i + 1 < n and pattern[i + 1] == ":":
            close = pattern.find("]", i + 2)
            if close < 0:
                return None, i
            if close - 1 < i + 2 or pattern[close - 1] != ":":
                parts.append(_class_char(ch))  # no ":]" before the "]": a literal "["
                prev = ch
                i += 1
                continue
            members = _POSIX_CLASSES.get(pattern[i + 2 : close - 1])
            if members is None:
                return None, i
            parts.append(members)
            prev = None
            i = close + 1
        else:
            parts.append(_class_char(ch))
            prev = ch
            i += 1
    members = "".join(parts)
    if negate:
        return f"[^/{members}]", i
    if not members:
        return _NEVER, i
    return f"(?!/)[{members}]", i


def _class_char(ch: str) -> str:
    return f"\\x{ord(ch):02x}"


class PatternList:
    """One source's patterns, relative to `base` (a `/` path from the matching root, "" for
    the root itself)."""

    def __init__(self, base: str, patterns: list[Pattern], origin: str = "") -> None:
        self.base = base
        self.cut = len(base) + 1 if base else 0  # strips the base from a root-relative path
        self.origin = origin
        self.patterns = patterns
        self._files = _Matcher([(i, p) for i, p in enumerate(patterns) if not p.dir_only])
        self._dirs = _Matcher(list(enumerate(patterns)))

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def verdict(self, rel: str, is_dir: bool) -> bool | None:
        """True (ignored) or False (re-included) by this list's last matching pattern for
        `rel` (matchable form, relative to `base`); None when no pattern matches."""
        return (self._dirs if is_dir else self._files).verdict(rel)


class _Matcher:
    """Patterns in three lookups; the highest-numbered pattern any of them finds wins:
    literal names (a dict), other name patterns (one regex on the last path part) and
    patterns with a slash (one regex on the whole path)."""

    def __init__(self, numbered: list[tuple[int, Pattern]]) -> None:
        self.literals: dict[str, tuple[int, bool]] = {}
        names: list[tuple[int, Pattern]] = []
        paths: list[tuple[int, Pattern]] = []
        for number, pattern in numbered:
            if pattern.literal_name is not None:
                self.literals[pattern.literal_name] = (number, pattern.negative)
            elif pattern.name_only:
                names.append((number, pattern))
            else:
                paths.append((number, pattern))
        self.names = _combine(names)
        self.paths = _combine(paths)

    def verdict(self, rel: str) -> bool | None:
        best = -1
        ignored: bool | None = None
        name = rel.rpartition("/")[2]
        if self.literals:
            found = self.literals.get(name)
            if found is not None:
                best, ignored = found[0], not found[1]
        for combined, subject in ((self.names, name), (self.paths, rel)):
            if combined is None:
                continue
            regex, numbers = combined
            match = regex.match(subject)
            if match is not None:
                number, negative = numbers[match.lastindex or 0]
                if number > best:
                    best, ignored = number, not negative
        return ignored


def _combine(
    numbered: list[tuple[int, Pattern]],
) -> tuple[re.Pattern[str], list[tuple[int, bool]]] | None:
    """One regex over the patterns, last first: the first alternative that matches is the
    last matching pattern. Group k (1-based) is the k-th alternative tried."""
    if not numbered:
        return None
    ordered = list(reversed(numbered))
    alternatives = "|".join(f"({p.regex})" for _, p in ordered)
    numbers = [(-1, False), *((number, p.negative) for number, p in ordered)]
    return re.compile(f"(?:{alternatives})\\Z", re.DOTALL), numbers
