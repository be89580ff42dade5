# mypy: disable-error-code="empty-body"
"""The lint plugin's own hook: other plugins (and the built-in tools) contribute lint tools."""

from aegisd import hookspec
from aegisd_lint.tool import LintTool


@hookspec
def aegisd_lint_tools() -> list[LintTool]:
    """Return the lint tools this plugin contributes (`CommandTool` or `InProcessTool` objects).

    Called once when the lint plugin starts, after every plugin is registered, with no
    arguments. The lint plugin collects the tools of all implementations by `name` (a later
    duplicate name is reported and ignored), lists them in `lint.tools`, and runs them on
    `lint.run` and when watched files change; a tool whose executable is missing, or that would
    run the code of a workspace that is not trusted, is reported as `skipped`, never as a
    failure of the plugin.
    """
