"""max_file_length: a custom in-process rule; over 500 lines is high, 1000 or more critical."""

import os
from collections.abc import Iterator
from pathlib import Path

from aegisd import hookimpl
from aegisd.safeio import open_file
from aegisd.threads import step_aside
from aegisd_lint.issues import Issue, Severity
from aegisd_lint.tool import InProcessTool, LintTool, Parsed, RunContext

HIGH_OVER = 500
CRITICAL_AT = 1000
CODE_SUFFIXES = frozenset(
    {".py", ".pyi", ".js", ".jsx", ".mjs", ".ts", ".tsx", ".c", ".h", ".cc", ".cpp", ".hpp"}
)
_CHUNK = 1024 * 1024


def count_lines(root: Path, rel: str, max_bytes: int) -> int:
    """Lines in workspace file `rel`, the last one counted even without a final newline (read
    safely: a FIFO or a file over `max_bytes` raises `aegisd.safeio.Skip`)."""
    lines = 0
    last = b"\n"
    with open_file(root, rel, max_bytes) as stream:
        for chunk in stream.chunks(_CHUNK):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines if last == b"\n" else lines + 1


def severity(lines: int) -> Severity | None:
    """The rule itself: None up to 500 lines, high above, critical from 1000."""
    if lines >= CRITICAL_AT:
        return Severity.CRITICAL
    if lines > HIGH_OVER:
        return Severity.HIGH
    return None


class MaxFileLength(InProcessTool):
    name = "max_file_length"
    version = "1"
    per_file = True
    suffixes = CODE_SUFFIXES

    def check(self, ctx: RunContext) -> Parsed:
        """Given files are all checked; a workspace run checks code files outside excluded dirs."""
        issues: list[Issue] = []
        for rel in ctx.files if ctx.files is not None else _code_files(ctx):
            step_aside()  # in a background pass: requests first
            try:
                lines = count_lines(ctx.root, rel, ctx.max_file_bytes)
            except OSError:
                continue  # deleted, unreadable or skipped since it was listed: nothing to say
            level = severity(lines)
            if level is not None:
                issues.append(
                    Issue(
                        tool=self.name,
                        code=self.name,
                        message=f"{lines} lines; the limit is {HIGH_OVER} "
                        f"({CRITICAL_AT} or more is critical)",
                        severity=level,
                        path=rel,
                        line=HIGH_OVER + 1,
                        fix="Split the file into smaller modules, one job each.",
                        # the count changes with every edit; the finding stays the same one
                        identity=f"over {HIGH_OVER} lines",
                    )
                )
        return Parsed(issues)


def _code_files(ctx: RunContext) -> Iterator[str]:
    for dirpath, dirnames, filenames in os.walk(ctx.root):
        dirnames[:] = sorted(name for name in dirnames if name not in ctx.exclude_dirs)
        for name in sorted(filenames):
            if os.path.splitext(name)[1] in CODE_SUFFIXES:
                yield Path(dirpath, name).relative_to(ctx.root).as_posix()


@hookimpl
def aegisd_lint_tools() -> list[LintTool]:
    return [MaxFileLength()]
