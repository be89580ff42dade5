"""bandit as a lint tool: `bandit -f json`, one JSON document with results and scan errors."""

from typing import Any

from aegisd import hookimpl
from aegisd_lint.configfiles import pyproject_table
from aegisd_lint.issues import Issue, Severity
from aegisd_lint.paths import rel_path
from aegisd_lint.tool import (
    CommandTool,
    JsonDocumentParser,
    LintTool,
    OutputParser,
    Parsed,
    RunContext,
)

# (bandit severity, bandit confidence) -> severity; see the table in issues.py
_SEVERITY = {
    ("HIGH", "HIGH"): Severity.CRITICAL,
    ("HIGH", "MEDIUM"): Severity.HIGH,
    ("HIGH", "LOW"): Severity.MEDIUM,
    ("MEDIUM", "HIGH"): Severity.MEDIUM,
    ("MEDIUM", "MEDIUM"): Severity.MEDIUM,
    ("MEDIUM", "LOW"): Severity.LOW,
    ("LOW", "HIGH"): Severity.LOW,
    ("LOW", "MEDIUM"): Severity.LOW,
    ("LOW", "LOW"): Severity.INFO,
}


def severity(bandit_severity: str, confidence: str) -> Severity:
    """Bandit's severity, raised to critical or lowered by its confidence; unknown -> low."""
    return _SEVERITY.get((bandit_severity.upper(), confidence.upper()), Severity.LOW)


class BanditParser(JsonDocumentParser):
    def parsed(self, doc: Any) -> Parsed:
        issues = [self._result(result) for result in doc["results"]]
        # a file bandit could not scan (it does not parse, it cannot be read) has no verdict
        failed = {rel_path(self.ctx.root, e["filename"]): str(e["reason"]) for e in doc["errors"]}
        if not failed:
            return Parsed(issues)
        path, reason = min(failed.items())
        return Parsed(
            issues,
            incomplete=f"bandit could not scan {len(failed)} file(s), first {path}: {reason}",
            unchecked=frozenset(failed),
        )

    def _result(self, result: Any) -> Issue:
        lines = result.get("line_range") or [result["line_number"]]
        end_col = result.get("end_col_offset")
        return Issue(
            tool="bandit",
            code=result["test_id"],
            message=result["issue_text"],
            severity=severity(result["issue_severity"], result["issue_confidence"]),
            path=rel_path(self.ctx.root, result["filename"]),
            line=result["line_number"],
            column=result.get("col_offset", 0) + 1,
            end_line=max(lines),
            end_column=end_col + 1 if isinstance(end_col, int) and end_col >= 0 else None,
            url=result.get("more_info"),
        )


class Bandit(CommandTool):
    name = "bandit"
    executable = "bandit"
    module = "bandit"
    config_files = ("pyproject.toml", ".bandit")
    per_file = True
    suffixes = frozenset({".py"})

    def options(self, ctx: RunContext) -> list[str]:
        options = ["-f", "json", "-q"]
        if (ctx.root / ".bandit").is_file():
            options += ["--ini", ".bandit"]
        elif pyproject_table(ctx.root, "tool", "bandit") is not None:
            options += ["-c", "pyproject.toml"]
        if ctx.files is None:
            options.append("-r")
            if ctx.exclude_dirs:
                # "*/name/*" matches the directory at any depth
                excluded = ",".join(f"*/{name}/*" for name in sorted(ctx.exclude_dirs))
                options += ["-x", excluded]
        return options

    def parser(self, ctx: RunContext) -> OutputParser:
        return BanditParser(ctx)


@hookimpl
def aegisd_lint_tools() -> list[LintTool]:
    return [Bandit()]
