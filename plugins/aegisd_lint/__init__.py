"""aegisd_lint: lint tools (ruff, mypy, bandit, pytest, max_file_length) behind one issue model.

For plugin authors: a lint tool is a `LintTool` subclass (see `aegisd_lint.tool`) returned from a
hook implementation, exactly like the built-ins in `aegisd_lint.ruff` or `aegisd_lint.bandit`:
subclass `CommandTool` for an external program (give its `executable`, the `options` and
`targets` of its command line and an `OutputParser` that turns its output into `Issue`s) or
`InProcessTool` for a check written in Python (give `check`), then write
`@hookimpl def aegisd_lint_tools() -> list[LintTool]: return [MyTool()]` in a module registered
under the `aegisd` entry point group. The runner finds the executable (a trusted workspace's
`.venv`/`venv` first, then `PATH`), runs it in its own process group over batches of files
(`batch_files`), each with a timeout and a memory limit, and reports a `ToolResult`; a tool that
is missing is `skipped`, one that hangs, runs out of memory or prints garbage is an `error`,
never a crash. A tool that executes the workspace's code sets `runs_workspace_code` (or
overrides `workspace_code`, as mypy does for its plugins): it then runs only in trusted
workspaces. A parser that sees its tool stop early returns `Parsed(incomplete=..., unchecked=...)`
so those files keep no verdict and are checked again.
"""

__version__ = "0.1.0"
