"""mypy as a lint tool: `mypy -O json` (mypy >= 1.11), one JSON object per line of output."""

import re
from pathlib import Path
from typing import Any, ClassVar

from aegisd import hookimpl
from aegisd_lint.configfiles import ini_section, pyproject_table
from aegisd_lint.issues import Issue, Severity
from aegisd_lint.paths import rel_path
from aegisd_lint.tool import (
    CommandTool,
    JsonLinesParser,
    LintTool,
    OutputParser,
    Parsed,
    RunContext,
    tool_failed,
)

_URL = re.compile(r"https?://\S+")


def severity(level: str, code: str | None) -> Severity:
    """Notes are info, syntax errors high, every other error medium (see issues.py)."""
    if level == "note":
        return Severity.INFO
    return Severity.HIGH if code == "syntax" else Severity.MEDIUM


def _positive(value: Any) -> int | None:
    # mypy reports -1 for positions it does not know
    return value if isinstance(value, int) and value >= 1 else None


class MypyParser(JsonLinesParser):
    # 2: blocking errors (syntax errors, duplicate modules) which still come as JSON lines
    ok_returncodes: ClassVar[frozenset[int]] = frozenset({0, 1, 2})

    def issue(self, obj: Any) -> Issue:
        hint = obj.get("hint")
        url = _URL.search(hint) if hint else None
        column = _positive(obj["column"] + 1)  # mypy's JSON columns are 0-based
        end_column = obj.get("end_column")
        return Issue(
            tool="mypy",
            code=obj["code"],
            message=obj["message"],
            severity=severity(obj["severity"], obj["code"]),
            path=rel_path(self.ctx.root, obj["file"]),
            line=_positive(obj["line"]) or 1,
            column=column or 1,
            end_line=_positive(obj.get("end_line")),
            end_column=_positive(end_column + 1) if isinstance(end_column, int) else None,
            fix=hint if hint and not hint.startswith("See ") else None,
            url=url.group(0) if url else None,
        )

    def finish(self, returncode: int, stderr: str) -> Parsed:
        self.drain()
        # a fatal error (unreadable file, bad config) prints text, not JSON, and exits 2
        if returncode == 2 and not self.issues:
            raise tool_failed(returncode, stderr, self.first_bad_line)
        parsed = super().finish(returncode, stderr)
        if returncode == 2:
            # A blocking error (a syntax error; a crash) stopped mypy: only the files it
            # reported on have a verdict, the rest were never checked.
            reported = {issue.path for issue in parsed.issues}
            parsed.incomplete = _stopped_early(parsed.issues, stderr)
            files = self.ctx.files
            parsed.unchecked = None if files is None else frozenset(files) - reported
        return parsed


def _stopped_early(issues: list[Issue], stderr: str) -> str:
    blocking = next((issue for issue in issues if issue.code == "syntax"), issues[0])
    where = f"{blocking.path}:{blocking.line}: {blocking.message}"
    said = stderr.strip().splitlines()[:1]
    return (
        "mypy stopped early, errors prevented further checking ("
        + where
        + (f"; {said[0][:200]}" if said else "")
        + ")"
    )


class Mypy(CommandTool):
    name = "mypy"
    executable = "mypy"
    module = "mypy"
    config_files = ("pyproject.toml", "mypy.ini", ".mypy.ini", "setup.cfg")
    heavy = True
    interpreter = "optional"
    batch_files = None  # whole-program: each batch would analyse the shared imports again

    def workspace_code(self, root: Path) -> str | None:
        """mypy imports the plugins its config names, and runs the `python_executable` it
        names to find installed packages: the workspace's code, in both cases."""
        plugins = _as_list(_setting(root, "plugins"), split=True)
        if plugins:
            return f"its mypy config names plugins, which mypy imports ({', '.join(plugins)})"
        executable = _setting(root, "python_executable")
        if executable:
            return f"its mypy config names a python_executable, which mypy runs ({executable})"
        return None

    def options(self, ctx: RunContext) -> list[str]:
        options = ["-O", "json", "--no-error-summary", "--cache-dir", str(ctx.cache_dir)]
        if ctx.python is not None:
            # find the workspace's installed packages even when mypy comes from PATH
            options += ["--python-executable", str(ctx.python)]
        if ctx.files is None and not _configured(ctx.root, "exclude") and ctx.exclude_dirs:
            names = "|".join(re.escape(name) for name in sorted(ctx.exclude_dirs))
            options += ["--exclude", f"(^|/)({names})/"]
        return options

    def targets(self, ctx: RunContext) -> list[str]:
        # the workspace's own `files` setting, when it has one, defines "everything"
        if ctx.files is None and _configured(ctx.root, "files"):
            return []
        return super().targets(ctx)

    def parser(self, ctx: RunContext) -> OutputParser:
        return MypyParser(ctx)

    def default_files(self, paths: list[str], root: Path) -> list[str]:
        """The Python files mypy's own `files` and `exclude` settings leave in, when set."""
        files = _as_list(_setting(root, "files"), split=True)
        excludes = _patterns(_as_list(_setting(root, "exclude")))
        return [
            path
            for path in super().default_files(paths, root)
            if (not files or any(_under(path, entry) for entry in files))
            and not any(pattern.search(path) for pattern in excludes)
        ]


def _configured(root: Path, key: str) -> bool:
    """Whether the workspace's mypy config sets `key`."""
    return _setting(root, key) is not None


def _setting(root: Path, key: str) -> Any:
    """`key` of the workspace's mypy config (the first config found is mypy's), or None."""
    for name in ("mypy.ini", ".mypy.ini", "pyproject.toml", "setup.cfg"):
        if name == "pyproject.toml":
            section = pyproject_table(root, "tool", "mypy")
        else:
            section = ini_section(root / name, "mypy")
        if section is not None:
            return section.get(key)
    return None


def _as_list(value: Any, split: bool = False) -> list[str]:
    """A setting given as a TOML list or a string (with `split`, one separated by commas or
    newlines, as INI files write `files`; a regex is never split)."""
    if isinstance(value, str):
        items = re.split(r"[,\n]", value) if split else [value]
        return [item.strip() for item in items if item.strip()]
    return [str(item) for item in value] if isinstance(value, list) else []


def _patterns(sources: list[str]) -> list[re.Pattern[str]]:
    """The compilable ones: mypy itself reports an invalid pattern when it runs."""
    patterns = []
    for source in sources:
        try:
            patterns.append(re.compile(source))
        except re.error:
            continue
    return patterns


def _under(path: str, entry: str) -> bool:
    """Whether `path` is the file or directory `entry` of a `files` setting, or under it."""
    entry = entry.removeprefix("./").rstrip("/")
    return entry in ("", ".") or path == entry or path.startswith(entry + "/")


@hookimpl
def aegisd_lint_tools() -> list[LintTool]:
    return [Mypy()]
