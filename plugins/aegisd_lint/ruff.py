"""ruff as a lint tool: `ruff check --output-format json-lines`, one issue per line of output."""

from typing import Any

from aegisd import hookimpl
from aegisd.safeio import read_bytes
from aegisd_lint.issues import FixEdit, Issue, Severity
from aegisd_lint.paths import rel_path
from aegisd_lint.tool import CommandTool, JsonLinesParser, LintTool, OutputParser, RunContext

# syntax errors, undefined names, invalid comparisons and statements: flake8's stop-the-build set
_HIGH_PREFIXES = ("E9", "F63", "F7", "F82")
_MEDIUM_PREFIXES = ("F", "B", "S", "PLE", "ASYNC")
_SYNTAX_CODES = frozenset({"invalid-syntax", "syntax-error"})


def severity(code: str | None) -> Severity:
    """ruff has no severities of its own; this ranks rule families (see issues.py)."""
    if code is None or code in _SYNTAX_CODES or code.startswith(_HIGH_PREFIXES):
        return Severity.HIGH
    if code.startswith(_MEDIUM_PREFIXES):
        return Severity.MEDIUM
    return Severity.LOW


class RuffParser(JsonLinesParser):
    def issue(self, obj: Any) -> Issue:
        fix = obj.get("fix")
        return Issue(
            tool="ruff",
            code=obj["code"],
            message=obj["message"],
            severity=severity(obj["code"]),
            path=rel_path(self.ctx.root, obj["filename"]),
            line=obj["location"]["row"],
            column=obj["location"]["column"],
            end_line=obj["end_location"]["row"],
            end_column=obj["end_location"]["column"],
            fix=(fix.get("message") or "auto-fix available") if fix else None,
            edits=_edits(fix),
            url=obj.get("url"),
        )


def _edits(fix: Any) -> tuple[FixEdit, ...] | None:
    if not fix or not fix.get("edits"):
        return None
    return tuple(
        FixEdit(
            line=edit["location"]["row"],
            column=edit["location"]["column"],
            end_line=edit["end_location"]["row"],
            end_column=edit["end_location"]["column"],
            content=edit.get("content") or "",
        )
        for edit in fix["edits"]
    )


class Ruff(CommandTool):
    name = "ruff"
    executable = "ruff"
    module = "ruff"
    config_files = ("pyproject.toml", "ruff.toml", ".ruff.toml")
    per_file = True

    def options(self, ctx: RunContext) -> list[str]:
        # --no-fix: a config with `fix = true` must not make the daemon edit files;
        # --force-exclude: excluded files stay excluded when named explicitly
        options = ["check", "--output-format", "json-lines", "--no-cache", "--no-fix"]
        options.append("--force-exclude")
        if ctx.exclude_dirs:
            options += ["--extend-exclude", ",".join(sorted(ctx.exclude_dirs))]
        return options

    def piped(self, ctx: RunContext) -> tuple[list[str], bytes] | None:
        # one file (an edit) through stdin: ruff then skips discovering files, ~2 ms of ~7;
        # --force-exclude still applies to the name
        if ctx.files is None or len(ctx.files) != 1:
            return None
        name = ctx.files[0]
        if ctx.overlay is not None:  # an unsaved buffer: its text under the file's name
            return [f"--stdin-filename={name}", "-"], ctx.overlay
        try:
            content = read_bytes(ctx.root, name, ctx.max_file_bytes)
        except OSError:
            return None  # named instead, ruff reports what is wrong with it
        return [f"--stdin-filename={name}", "-"], content

    def parser(self, ctx: RunContext) -> OutputParser:
        return RuffParser(ctx)


@hookimpl
def aegisd_lint_tools() -> list[LintTool]:
    return [Ruff()]
