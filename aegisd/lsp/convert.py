"""The daemon's answers as LSP types: diagnostics, symbols, hover text.

The daemon counts lines and columns from 1, in characters (code points); LSP counts from 0, in
UTF-16 code units by default. `Lines` converts with the text the editor sees.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from lsprotocol import types as lsp

SEVERITY = {
    "critical": lsp.DiagnosticSeverity.Error,
    "high": lsp.DiagnosticSeverity.Error,
    "medium": lsp.DiagnosticSeverity.Warning,
    "low": lsp.DiagnosticSeverity.Information,
    "info": lsp.DiagnosticSeverity.Hint,
}
#: rule documentation where a tool has it and the daemon did not name a URL
MYPY_CODES_URL = "https://mypy.readthedocs.io/en/stable/error_code_list.html"
BANDIT_PLUGINS_URL = "https://bandit.readthedocs.io/en/latest/plugins/index.html"
SYMBOL_KIND = {
    "function": lsp.SymbolKind.Function,
    "method": lsp.SymbolKind.Method,
    "class": lsp.SymbolKind.Class,
    "interface": lsp.SymbolKind.Interface,
    "enum": lsp.SymbolKind.Enum,
    "struct": lsp.SymbolKind.Struct,
    "variable": lsp.SymbolKind.Variable,
    "constant": lsp.SymbolKind.Constant,
    "module": lsp.SymbolKind.Module,
    "namespace": lsp.SymbolKind.Namespace,
    "property": lsp.SymbolKind.Property,
    "field": lsp.SymbolKind.Field,
    "type": lsp.SymbolKind.TypeParameter,
}


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class Lines:
    """A document's lines, to turn 1-based character positions into LSP positions."""

    def __init__(self, text: str, encoding: str = "utf-16") -> None:
        self._lines = _LINE_BREAK.split(text)  # LSP's line breaks only (not str.splitlines')
        self._codec = {"utf-16": "utf-16-le", "utf-8": "utf-8"}.get(encoding)  # else code points
        self._unit = 2 if encoding == "utf-16" else 1

    def __len__(self) -> int:
        return len(self._lines)

    def position(self, line: int, column: int = 1) -> lsp.Position:
        """The LSP position of 1-based `line`, `column` (clamped to the text)."""
        row = max(line - 1, 0)
        if row >= len(self._lines):
            return lsp.Position(line=row, character=0)
        text = self._lines[row]
        chars = min(max(column - 1, 0), len(text))
        return lsp.Position(line=row, character=self._units(text[:chars]))

    def _units(self, text: str) -> int:
        if self._codec is None:
            return len(text)
        return len(text.encode(self._codec, "surrogatepass")) // self._unit

    def find(self, line: int, name: str, column: int) -> int:
        """The 1-based column of `name` on `line` from `column` on (a definition's column is
        where its keyword or decorator starts); `column` when it is not there."""
        row = line - 1
        if not name or not 0 <= row < len(self._lines):
            return column
        found = self._lines[row].find(name, max(column - 1, 0))
        return found + 1 if found >= 0 else column

    def line_end(self, line: int) -> lsp.Position:
        row = max(line - 1, 0)
        length = len(self._lines[row]) + 1 if row < len(self._lines) else 1
        return self.position(line, length)

    def characters(self, position: lsp.Position) -> int:
        """The 1-based character column of an LSP position (the inverse of `position`)."""
        if position.line >= len(self._lines) or self._codec is None:
            return position.character + 1
        units = 0
        for index, char in enumerate(self._lines[position.line]):
            if units >= position.character:
                return index + 1
            units += self._units(char)
        return len(self._lines[position.line]) + 1


def rule_url(issue: Mapping[str, Any]) -> str | None:
    if issue.get("url"):
        return str(issue["url"])
    code = issue.get("code")
    if not code:
        return None
    if issue.get("tool") == "mypy":
        return f"{MYPY_CODES_URL}#code-{code}"
    if issue.get("tool") == "bandit":
        return BANDIT_PLUGINS_URL
    return None


def diagnostic(issue: Mapping[str, Any], lines: Lines) -> lsp.Diagnostic:
    line, column = int(issue.get("line") or 1), int(issue.get("column") or 1)
    start = lines.position(line, column)
    end_line = issue.get("end_line")
    if end_line is not None and issue.get("end_column") is not None:
        end = lines.position(int(end_line), int(issue["end_column"]))
    else:
        end = lines.line_end(line)  # a whole-line finding (mypy without an end, pytest)
    if (end.line, end.character) < (start.line, start.character):
        end = start
    url = rule_url(issue)
    return lsp.Diagnostic(
        range=lsp.Range(start=start, end=end),
        message=str(issue.get("message", "")),
        severity=SEVERITY.get(str(issue.get("severity")), lsp.DiagnosticSeverity.Warning),
        source=str(issue.get("tool", "aegisd")),
        code=issue.get("code") or None,
        code_description=lsp.CodeDescription(href=url) if url else None,
        data={"fix": issue.get("fix"), "edits": issue["edits"]} if issue.get("edits") else None,
    )


def clone_diagnostic(clone: Mapping[str, Any], path: str, lines: Lines) -> lsp.Diagnostic | None:
    """A Hint on this file's side of a clone (`b` is the file checked) naming the other side."""
    here, other = clone.get("b") or {}, clone.get("a") or {}
    if here.get("path") not in (path, "<snippet>") or not other.get("path"):
        return None
    kind = {1: "identical", 2: "renamed", 3: "similar"}.get(int(clone.get("type", 3)), "similar")
    where = f"{other['path']}:{other['start_line']}-{other['end_line']}"
    percent = round(float(clone.get("similarity", 0)) * 100)
    return lsp.Diagnostic(
        range=lsp.Range(
            start=lines.position(int(here["start_line"])),
            end=lines.line_end(int(here["end_line"])),
        ),
        message=f"duplicate ({kind}, {percent}%, {clone.get('tokens')} tokens) of {where}",
        severity=lsp.DiagnosticSeverity.Hint,
        source="similarity",
        code=f"clone-type-{clone.get('type')}",
        data={"clone": dict(other)},
    )


def document_symbols(
    outline: Iterable[Mapping[str, Any]], lines: Lines
) -> list[lsp.DocumentSymbol]:
    symbols = []
    for entry in outline:
        line = int(entry["line"])
        full = lsp.Range(
            start=lines.position(line), end=lines.line_end(int(entry.get("end_line") or line))
        )
        name = str(entry["name"])
        column = lines.find(line, name, int(entry.get("column") or 1))
        start = lines.position(line, column)
        name_end = lines.position(line, column + len(name))
        symbols.append(
            lsp.DocumentSymbol(
                name=str(entry["name"]) or "<anonymous>",
                kind=SYMBOL_KIND.get(str(entry.get("kind")), lsp.SymbolKind.Variable),
                detail=entry.get("signature") or None,
                range=full,
                selection_range=lsp.Range(start=start, end=name_end),
                children=document_symbols(entry.get("children") or [], lines),
            )
        )
    return symbols


def innermost(outline: Sequence[Mapping[str, Any]], line: int) -> Mapping[str, Any] | None:
    """The deepest outline entry spanning 1-based `line`."""
    for entry in outline:
        if int(entry["line"]) <= line <= int(entry.get("end_line") or entry["line"]):
            return innermost(entry.get("children") or [], line) or entry
    return None


def hover_text(symbol: Mapping[str, Any], references: int | None = None) -> str:
    """Markdown: the signature, the docstring's first line, complexity (and references)."""
    kind = str(symbol.get("kind", ""))
    keyword = "class" if kind == "class" else "def" if kind in ("function", "method") else kind
    head = (
        f"{keyword} {symbol.get('qualname') or symbol.get('name')}{symbol.get('signature') or ''}"
    )
    parts = [f"```python\n{head}\n```"]
    doc = str(symbol.get("docstring") or "").strip().splitlines()
    if doc:
        parts.append(doc[0])
    facts = []
    if symbol.get("complexity") is not None:
        facts.append(f"complexity {symbol['complexity']}")
    if symbol.get("loc") is not None:
        facts.append(f"{symbol['loc']} lines of code")
    if references is not None:
        facts.append(f"{references} references")
    if facts:
        parts.append(", ".join(facts))
    return "\n\n".join(parts)


def symbol_information(
    hits: Iterable[Mapping[str, Any]], root: str, to_uri: Callable[[str], str]
) -> list[lsp.SymbolInformation]:
    """`index.search` hits as workspace symbols (the line only: the hit has no column)."""
    found = []
    for hit in hits:
        start = lsp.Position(line=max(int(hit["line"]) - 1, 0), character=0)
        end = lsp.Position(line=max(int(hit.get("end_line") or hit["line"]) - 1, 0), character=0)
        qualname = str(hit.get("qualname") or hit["name"])
        container = qualname.rpartition(".")[0] or None
        found.append(
            lsp.SymbolInformation(
                name=str(hit["name"]),
                kind=SYMBOL_KIND.get(str(hit.get("kind")), lsp.SymbolKind.Variable),
                location=lsp.Location(
                    uri=to_uri(f"{root}/{hit['path']}"), range=lsp.Range(start=start, end=end)
                ),
                container_name=container,
            )
        )
    return found
