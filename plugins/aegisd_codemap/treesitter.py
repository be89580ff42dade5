"""Shared tree-sitter plumbing: parsers per language, node text, positions, errors, doc comments."""

from __future__ import annotations

from functools import cache

import tree_sitter_c
import tree_sitter_cpp
import tree_sitter_javascript
import tree_sitter_typescript
from tree_sitter import Language, Node, Parser

from aegisd_codemap.model import SyntaxIssue

_GRAMMARS = {
    "javascript": tree_sitter_javascript.language,
    "typescript": tree_sitter_typescript.language_typescript,
    "tsx": tree_sitter_typescript.language_tsx,
    "c": tree_sitter_c.language,
    "cpp": tree_sitter_cpp.language,
}
MAX_ISSUES = 5
_SNIPPET = 40


@cache
def parser_for(language: str) -> Parser:
    """One parser per language and process (parsers are not picklable, so never shared)."""
    return Parser(Language(_GRAMMARS[language]()))


def text(node: Node | None) -> str:
    """The node's source, decoded leniently; '' for None."""
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", "replace")


def squeeze(value: str) -> str:
    """Collapse runs of whitespace, so multi-line parameter lists read as one line."""
    return " ".join(value.split())


def column(data: bytes, node: Node) -> int:
    """1-based column in characters (tree-sitter counts bytes)."""
    start = node.start_byte
    line_start = data.rfind(b"\n", 0, start) + 1
    return len(data[line_start:start].decode("utf-8", "replace")) + 1


def syntax_issues(root: Node, data: bytes) -> list[SyntaxIssue]:
    """The first ERROR/MISSING nodes in source order, innermost ones only (their spans are
    where recovery gave up, which is nearer the mistake than the enclosing ERROR)."""
    issues: list[SyntaxIssue] = []
    if not root.has_error:
        return issues
    stack = [root]
    while stack and len(issues) < MAX_ISSUES:
        node = stack.pop()
        if node.is_missing:
            message = f'missing "{node.type}"'
        elif node.is_error and not any(c.has_error or c.is_missing for c in node.children):
            first = text(node).strip().split("\n", 1)[0][:_SNIPPET]
            message = f'unexpected "{first}"'
        else:
            stack.extend(c for c in reversed(node.children) if c.has_error or c.is_missing)
            continue
        issues.append(SyntaxIssue(message, node.start_point.row + 1, column(data, node)))
    return issues


def error_count(root: Node) -> int:
    """How many ERROR and MISSING nodes the tree holds (to compare two parses of a file)."""
    count = 0
    stack = [root]
    while stack:
        node = stack.pop()
        count += node.is_error or node.is_missing
        stack.extend(c for c in node.children if c.has_error or c.is_missing)
    return count


def doc_comment(anchor: Node) -> str | None:
    """First meaningful line of the comment right above ``anchor`` (JSDoc, ``//``, ``/* */``)."""
    comment = anchor.prev_sibling
    if comment is None or comment.type != "comment":
        return None
    if comment.end_point.row + 1 < anchor.start_point.row:
        return None
    for line in text(comment).splitlines():
        stripped = line.strip().removeprefix("/**").removeprefix("/*").removesuffix("*/")
        stripped = stripped.lstrip("/*").strip()
        if stripped:
            return stripped
    return None
