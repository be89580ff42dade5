"""A third-party lint tool plugin for the e2e tests (loaded with `plugins.extra`): a tool that
is not installed, and one that takes a built-in's name (the built-in keeps it)."""

from aegisd_lint.ruff import Ruff
from aegisd_lint.tool import LintTool

from aegisd import hookimpl


class NotInstalled(Ruff):
    name = "not-installed"
    executable = "aegisd-no-such-linter"
    module = None


class SecondRuff(Ruff):
    executable = "aegisd-second-ruff"
    module = None


@hookimpl
def aegisd_lint_tools() -> list[LintTool]:
    return [NotInstalled(), SecondRuff()]
