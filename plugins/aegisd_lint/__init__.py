"""aegisd_lint: lint tools (ruff, mypy, bandit, pytest, max_file_length) behind one issue model.

For plugin authors: a lint tool is a `LintTool` subclass (see `aegisd_lint.tool`) returned from a
hook implementation, exactly like the built-ins in `aegisd_lint.ruff` or `aegisd_lint.bandit`:
subclass `CommandTool` for an external program (give its `executable`, the `options` and
`targets` of its command line and an `OutputParser` that turns its output into `Issue`s) or
`InProcessTool` for a check written in Python (give `check`), then write
`@hookimpl def aegisd_lint_tools() -> list[LintTool]: return [MyTool()]` in a module registered
under the `aegisd` entry point group. The runner finds the executable (workspace `.venv`/`venv`
first, then `PATH`), runs it in its own process group with a timeout, and reports a `ToolResult`;
a tool that is missing is `skipped`, one that hangs or prints garbage is an `error`, never a crash.
"""

__version__ = "0.1.0"
