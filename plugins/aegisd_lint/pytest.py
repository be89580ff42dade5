"""pytest as a lint tool: each failed or errored test is an issue; totals from the JUnit XML.

It runs the workspace's code, so only in a trusted workspace, and only with the workspace's
own interpreter (its virtualenv, or `lint.python`), never a pytest found on PATH.

pytest writes `--junitxml` into the run's scratch dir (outside the workspace) in the xunit1
family, whose `file` and `line` attributes place each test. The issue's line is where the
traceback leaves the test's own file (the failing assert, the raising call), else the test's
`def` line. pytest's own cache is off and bytecode is not written; plugins of the workspace's
pytest may still write where they always do (e.g. pytest-benchmark's `.benchmarks`).
"""

import os
import re
from collections import Counter
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

# ElementTree reads a file pytest just wrote in our private scratch dir, not untrusted input
from xml.etree.ElementTree import Element, ParseError, iterparse  # nosec B405

from aegisd import hookimpl
from aegisd_lint.configfiles import ini_section, pyproject_table
from aegisd_lint.issues import Issue, Severity, Totals
from aegisd_lint.paths import is_test_file, rel_path
from aegisd_lint.tool import (
    CommandTool,
    LintTool,
    OutputParser,
    Parsed,
    RunContext,
    ToolFailure,
    tool_failed,
)

# 0 all passed, 1 some failed, 5 nothing collected: the XML is complete; 2 interrupted (by
# pytest.exit, a signal, a plugin): what it holds is not the verdict on every file
_REPORTED = frozenset({0, 1, 5})
INTERRUPTED = 2
_TAIL = 4096
_LOCATION = re.compile(r"^\s*(\S+?\.py):(\d+):", re.MULTILINE)
#: pytest's banner when `-x` / `--maxfail` (the user's own args) stopped the session early
_STOPPED = re.compile(r"^!+ (stopping after \d+ failures?|Interrupted: .*?|.*Exit.*?) !+$", re.M)


class PytestParser(OutputParser):
    """Keeps only the end of stdout (for error messages); the verdict is in the XML."""

    def __init__(self, ctx: RunContext, junit: Path) -> None:
        self.ctx = ctx
        self.junit = junit
        self._tail = bytearray()

    def feed(self, chunk: bytes) -> None:
        self._tail += chunk
        del self._tail[:-_TAIL]

    def finish(self, returncode: int, stderr: str) -> Parsed:
        tail = self._tail.decode(errors="replace")
        stopped = _STOPPED.search(tail)
        if returncode == INTERRUPTED or (stopped and returncode in _REPORTED):
            # which tests ran is unknown (pytest stops in the middle of a file): no verdicts
            why = stopped.group(1) if stopped else f"exited with {returncode}"
            return Parsed(incomplete=f"pytest stopped before running every test: {why}")
        if returncode not in _REPORTED or not self.junit.is_file():
            raise tool_failed(returncode, stderr, tail)
        try:
            return parse_junit(self.junit, self.ctx.root)
        except ParseError as exc:
            raise ToolFailure("BAD_OUTPUT", f"unreadable JUnit XML: {exc}") from exc


def parse_junit(path: Path, root: Path) -> Parsed:
    """Issues and totals, overall and per test file, from an xunit1 JUnit XML file (pytest's
    own, see the import), read incrementally."""
    issues: list[Issue] = []
    counts: dict[str, Counter[str]] = {}
    for _event, case in iterparse(path):  # nosec B314
        if case.tag != "testcase":
            continue
        kinds = {child.tag for child in case}
        for child in case:
            if child.tag in ("failure", "error"):
                issues.append(_issue(case, child, root))
        file_counts = counts.setdefault(rel_path(root, case.get("file") or ""), Counter())
        for kind, total in (("failure", "failed"), ("error", "errors"), ("skipped", "skipped")):
            if kind in kinds:
                file_counts[total] += 1
        if not kinds & {"failure", "error", "skipped"}:
            file_counts["passed"] += 1
        case.clear()
    file_totals = {file: Totals(**found) for file, found in counts.items()}
    overall: Counter[str] = sum(counts.values(), Counter())
    return Parsed(issues, Totals(**overall), file_totals)


def _issue(case: Element, outcome: Element, root: Path) -> Issue:
    file = case.get("file") or ""
    text = outcome.text or ""
    message = outcome.get("message") or ""
    if message in ("", "collection failure"):
        # the exception itself says more than pytest's generic message
        message = next((ln[1:].strip() for ln in reversed(text.splitlines()) if ln[:1] == "E"), "")
    return Issue(
        tool="pytest",
        code="FAILED" if outcome.tag == "failure" else "ERROR",
        message=f"{_node_id(file, case.get('classname') or '', case.get('name') or '')}: {message}",
        severity=Severity.HIGH if outcome.tag == "failure" else Severity.CRITICAL,
        path=rel_path(root, file),
        line=_line(text, file, case.get("line"), root),
    )


def _line(traceback: str, file: str, def_line: str | None, root: Path) -> int:
    for match in _LOCATION.finditer(traceback):
        if rel_path(root, match.group(1)) == rel_path(root, file):
            return max(int(match.group(2)), 1)
    # xunit1's line attribute is 0-based
    return int(def_line) + 1 if def_line and def_line.isdigit() else 1


def _node_id(file: str, classname: str, name: str) -> str:
    """pytest's node id (`file::Class::test`) rebuilt from xunit1's dotted classname."""
    if not classname:  # a collection error: the module itself
        return file
    module = file.removesuffix(".py").replace("/", ".")
    classes = classname[len(module) + 1 :] if classname.startswith(module + ".") else ""
    return "::".join(part for part in (file, classes.replace(".", "::"), name) if part)


class Pytest(CommandTool):
    name = "pytest"
    executable = "pytest"
    module = "pytest"
    config_files = (
        "pyproject.toml",
        "pytest.ini",
        ".pytest.ini",
        "tox.ini",
        "setup.cfg",
        "conftest.py",
        "tests/conftest.py",
        "test/conftest.py",
    )
    heavy = True
    ancestor_files = ("conftest.py",)
    junit_name: ClassVar[str] = "junit.xml"
    # it imports and runs the workspace's tests and conftest.py files, with its interpreter
    runs_workspace_code = True
    interpreter = "required"
    batch_files = 200

    def applies_to(self, path: str) -> bool:
        return is_test_file(path)

    def default_files(self, paths: list[str], root: Path) -> list[str]:
        """Test files under the workspace config's `testpaths` (all of them when unset)."""
        roots = _testpaths(root)
        return [
            path
            for path in paths
            if is_test_file(path) and (not roots or any(_under(path, top) for top in roots))
        ]

    def options(self, ctx: RunContext) -> list[str]:
        # the workspace's own config, or none at all: never one found above the root
        return [
            "-c",
            _config_file(ctx.root),
            f"--rootdir={ctx.root}",
            "-p",
            "no:cacheprovider",
            "-o",
            "junit_family=xunit1",
            f"--junitxml={ctx.scratch_dir / self.junit_name}",
            "--continue-on-collection-errors",
            # every test, whatever the config's addopts say (-x would stop at the first failure)
            "--maxfail=0",
            "--color=no",
            "-q",
        ]

    def targets(self, ctx: RunContext) -> list[str]:
        """The given test files, or none: pytest's `testpaths` or the root decide."""
        return [] if ctx.files is None else super().targets(ctx)

    def parser(self, ctx: RunContext) -> OutputParser:
        return PytestParser(ctx, ctx.scratch_dir / self.junit_name)


def _testpaths(root: Path) -> list[str]:
    """`testpaths` of the config file pytest picks in `root` (none: every test file counts)."""
    chosen = Path(_config_file(root)).name
    value: Any = None
    if chosen == "pyproject.toml":
        table = pyproject_table(root, "tool", "pytest") or {}
        options = table.get("ini_options")
        value = options.get("testpaths") if isinstance(options, dict) else table.get("testpaths")
    elif chosen in ("pytest.ini", ".pytest.ini", "tox.ini", "setup.cfg"):
        section = "tool:pytest" if chosen == "setup.cfg" else "pytest"
        value = (ini_section(root / chosen, section) or {}).get("testpaths")
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list):
        return []
    return [str(item).removeprefix("./").rstrip("/") for item in value]


def _under(path: str, top: str) -> bool:
    """Whether `path` is `top` or under it; `top` may be a glob, as pytest allows."""
    if top in ("", "."):
        return True
    parts = PurePosixPath(path).parts
    prefixes = ("/".join(parts[:end]) for end in range(1, len(parts) + 1))
    return any(fnmatchcase(prefix, top) for prefix in prefixes)


def _config_file(root: Path) -> str:
    """The config file pytest would pick in `root` itself, else the empty `os.devnull`."""
    candidates = (
        ("pytest.ini", (root / "pytest.ini").is_file()),
        (".pytest.ini", (root / ".pytest.ini").is_file()),
        ("pyproject.toml", pyproject_table(root, "tool", "pytest") is not None),
        ("tox.ini", ini_section(root / "tox.ini", "pytest") is not None),
        ("setup.cfg", ini_section(root / "setup.cfg", "tool:pytest") is not None),
    )
    return next((str(root / name) for name, used in candidates if used), os.devnull)


@hookimpl
def aegisd_lint_tools() -> list[LintTool]:
    return [Pytest()]
