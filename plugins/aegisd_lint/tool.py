"""What a lint tool declares: `LintTool`, and its two kinds `CommandTool` and `InProcessTool`.

A tool never runs itself: the runner finds the command, builds the argv from `options` and
`targets`, streams stdout into the tool's `OutputParser` and turns the `Parsed` outcome (or a
`ToolFailure`) into a `ToolResult`.
"""

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from aegisd.safeio import DEFAULT_MAX_FILE_BYTES
from aegisd.threads import step_aside
from aegisd_lint.issues import Issue, Totals

STEP_ASIDE_LINES = 256  # a whole-workspace pass prints ~50k lines: not a pause per line


@dataclass(frozen=True)
class RunContext:
    """Everything a tool needs to build its command line and read its output."""

    root: Path
    files: tuple[str, ...] | None  # "/" paths relative to root; None: the whole workspace
    scratch_dir: Path  # private to this run, outside the workspace, removed afterwards
    cache_dir: Path  # the tool's own cache (mypy), outside the workspace
    python: Path | None  # the workspace's interpreter (see `discovery.WorkspaceEnv`), if any
    exclude_dirs: frozenset[str]  # directory names a whole-workspace run skips
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES  # larger files are never read (the workspace's)
    trusted: bool = False  # the workspace may run tools that execute its code
    #: an unsaved buffer's text to check instead of the one file of `files` (`piped` tools)
    overlay: bytes | None = None


@dataclass
class Parsed:
    """The issues a run found, plus test totals (overall and per file) for a test runner.

    `incomplete` says why the tool did not check every file it was given (it stopped early,
    could not read some); `unchecked` names those files (None: all of them). Their results
    are left as they were, so the next run checks them again."""

    issues: list[Issue] = field(default_factory=list)
    totals: Totals | None = None
    file_totals: dict[str, Totals] | None = None
    incomplete: str | None = None
    unchecked: frozenset[str] | None = None


class ToolFailure(Exception):
    """The tool ran but gave no usable verdict; `code` is TOOL_FAILED or BAD_OUTPUT."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def tool_failed(returncode: int, stderr: str, extra: str = "") -> ToolFailure:
    """A TOOL_FAILED error quoting what the tool said."""
    said = "\n".join(part for part in (stderr.strip(), extra.strip()) if part)
    return ToolFailure("TOOL_FAILED", f"exited with {returncode}" + (f": {said}" if said else ""))


class OutputParser(ABC):
    """Consumes a tool's stdout as it arrives; `finish` runs in a worker thread at exit, or on
    the event loop when `quick_finish` says the work was done in `feed` (a thread hop would
    cost more than it)."""

    quick_finish: bool = False

    @abstractmethod
    def feed(self, chunk: bytes) -> None:
        """Take the next piece of stdout."""

    @abstractmethod
    def finish(self, returncode: int, stderr: str) -> Parsed:
        """Return the outcome, or raise `ToolFailure`."""


class JsonLinesParser(OutputParser):
    """Output of one JSON object per line. A short output (an edit's pass) is parsed as it
    arrives, so the finish is quick; past `LOOP_BYTES` the rest is kept and parsed by `finish`
    in a thread: a whole-workspace pass on the stdlib (~50k lines) held the event loop for
    seconds, line by line."""

    ok_returncodes: ClassVar[frozenset[int]] = frozenset({0, 1})
    LOOP_BYTES: ClassVar[int] = 64 * 1024  # ~130 issues: an edit's pass fits

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.issues: list[Issue] = []
        self.bad_lines = 0
        self.first_bad_line = ""
        self.quick_finish = True  # until the output outgrows LOOP_BYTES
        self._partial = bytearray()
        self._received = 0

    @abstractmethod
    def issue(self, obj: Any) -> Issue:
        """One decoded line as an issue; raise KeyError/TypeError/ValueError on a bad shape."""

    def feed(self, chunk: bytes) -> None:
        self._partial += chunk
        self._received += len(chunk)
        if self._received > self.LOOP_BYTES:
            self.quick_finish = False
        if not self.quick_finish:
            return
        end = self._partial.rfind(b"\n")
        if end >= 0:
            complete = self._partial[: end + 1]
            del self._partial[: end + 1]
            for line in complete.splitlines():
                self._line(line)

    def _line(self, line: bytes | bytearray) -> None:
        if not line.strip():
            return
        try:
            self.issues.append(self.issue(json.loads(line)))
        except (KeyError, TypeError, ValueError):
            self.bad_lines += 1
            self.first_bad_line = self.first_bad_line or line.decode(errors="replace")[:200]

    def drain(self) -> None:
        """Parse what `feed` kept for the end (all of it past `LOOP_BYTES`)."""
        for at, line in enumerate(self._partial.splitlines()):
            if not at % STEP_ASIDE_LINES:
                step_aside()
            self._line(line)
        self._partial = bytearray()

    def finish(self, returncode: int, stderr: str) -> Parsed:
        self.drain()
        if returncode not in self.ok_returncodes:
            raise tool_failed(returncode, stderr, self.first_bad_line)
        if self.bad_lines:
            raise ToolFailure(
                "BAD_OUTPUT",
                f"{self.bad_lines} unparseable output line(s), first: {self.first_bad_line!r}",
            )
        return Parsed(self.issues)


class JsonDocumentParser(OutputParser):
    """Output of one JSON document: collected, then decoded once at exit."""

    ok_returncodes: ClassVar[frozenset[int]] = frozenset({0, 1})

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self._data = bytearray()

    @abstractmethod
    def parsed(self, doc: Any) -> Parsed:
        """The decoded document as an outcome; raise KeyError/TypeError/ValueError on a bad shape."""

    def feed(self, chunk: bytes) -> None:
        self._data += chunk

    def finish(self, returncode: int, stderr: str) -> Parsed:
        if returncode not in self.ok_returncodes:
            raise tool_failed(returncode, stderr)
        text = self._data.decode(errors="replace")
        self._data = bytearray()  # hold the output once, as text, while it is decoded
        try:
            return self.parsed(json.loads(text))
        except (KeyError, TypeError, ValueError) as exc:
            raise ToolFailure("BAD_OUTPUT", f"unparseable output ({exc}): {text[:200]!r}") from exc


class LintTool(ABC):
    """A lint tool, as the `aegisd_lint_tools` hook contributes it.

    `per_file`: a file's issues depend only on that file (and the config), so results are
    cached by content hash and the tool runs on just the changed files. Otherwise a file's
    result also depends on the files it imports, transitively, and on the `ancestor_files`
    (e.g. pytest's conftest.py) in its directory and above. `heavy`: slow or whole-program;
    the scheduler runs few of these at once.
    """

    name: ClassVar[str]
    config_files: ClassVar[tuple[str, ...]] = ()  # relative to the root; changes re-run the tool
    per_file: ClassVar[bool] = False
    heavy: ClassVar[bool] = False
    suffixes: ClassVar[frozenset[str]] = frozenset({".py", ".pyi"})
    ancestor_files: ClassVar[tuple[str, ...]] = ()
    #: the tool executes the workspace's code (its tests, plugins its config names): it runs
    #: only in a trusted workspace (see `workspace_code`), elsewhere it is skipped
    runs_workspace_code: ClassVar[bool] = False
    #: files per run at most (a timeout then costs only that batch's results); None: only
    #: the length of the command line limits a batch
    batch_files: ClassVar[int | None] = 1000
    #: the workspace's interpreter: "unused"; "optional" (results depend on its installed
    #: packages: mypy); "required" (a command run only as `python -m module` with it, or from
    #: the trusted virtualenv, never from PATH: pytest)
    interpreter: ClassVar[Literal["unused", "optional", "required"]] = "unused"

    def workspace_code(self, root: Path) -> str | None:
        """Why running the tool in `root` would execute the workspace's code, or None when it
        would not. The default follows `runs_workspace_code`; a tool whose config decides it
        (mypy's `plugins`) reads that config here, off the event loop or on a few files."""
        return "it runs the workspace's code" if self.runs_workspace_code else None

    def applies_to(self, path: str) -> bool:
        """Whether the tool can check this file ("/" path relative to the root) when named."""
        dot = path.rfind(".")
        return dot > path.rfind("/") and path[dot:] in self.suffixes

    def default_files(self, paths: list[str], root: Path) -> list[str]:
        """The files of `paths` a whole-workspace run covers (the tool's own config may narrow
        them), each judged on its own. It may read config files, so it is called off the event
        loop, except for a per-file tool on the few files of an edit."""
        return [path for path in paths if self.applies_to(path)]


class CommandTool(LintTool):
    """A tool run as a subprocess: `<command> <options> <extra args> <targets>`.

    The command is `executable` from the workspace virtualenv, else `python -m module` with the
    virtualenv's interpreter (when `module` is set and installed there), else `executable` on
    PATH.
    """

    executable: ClassVar[str]
    module: ClassVar[str | None] = None
    version_args: ClassVar[tuple[str, ...]] = ("--version",)

    @abstractmethod
    def options(self, ctx: RunContext) -> list[str]:
        """Arguments before the targets; never anything that writes inside the workspace."""

    def targets(self, ctx: RunContext) -> list[str]:
        """The given files, or "." for the whole workspace."""
        if ctx.files is None:
            return ["."]
        # "./" keeps a file named like an option from being read as one
        return [f"./{name}" if name.startswith("-") else name for name in ctx.files]

    def piped(self, ctx: RunContext) -> tuple[list[str], bytes] | None:
        """Targets, and the content to write to the tool's stdin, to check `ctx.files` through
        stdin rather than by name (quicker for some tools on one file); None (the default):
        `targets` names them. It reads files: keep what it reads small."""
        return None

    @abstractmethod
    def parser(self, ctx: RunContext) -> OutputParser:
        """A fresh parser for one run's output."""


class InProcessTool(LintTool):
    """A check written in Python; `check` runs in a worker thread and must not write anything."""

    version: ClassVar[str]

    @abstractmethod
    def check(self, ctx: RunContext) -> Parsed:
        """Inspect the files (or the whole workspace) and return the issues found."""
