"""The built-in tools come through the `aegisd_lint_tools` hook like any third-party tool."""

import pluggy
from aegisd_lint import bandit, hookspecs, max_file_length, mypy, pytest, ruff
from aegisd_lint import hooks as lint_hooks
from aegisd_lint.service import collect_tools
from aegisd_lint.tool import CommandTool, InProcessTool, LintTool

from aegisd import PROJECT_NAME, hookimpl
from aegisd.plugins import PluginHost


def test_hook_aegisd_lint_tools() -> None:
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for module in (ruff, mypy, bandit, pytest, max_file_length):
        pm.register(module)
    pm.check_pending()
    tools: dict[str, LintTool] = {
        tool.name: tool for contributed in pm.hook.aegisd_lint_tools() for tool in contributed
    }
    assert sorted(tools) == ["bandit", "max_file_length", "mypy", "pytest", "ruff"]
    assert {name for name, tool in tools.items() if tool.heavy} == {"mypy", "pytest"}
    assert {name for name, tool in tools.items() if tool.per_file} == {
        "bandit",
        "max_file_length",
        "ruff",
    }
    assert isinstance(tools["max_file_length"], InProcessTool)
    assert all(isinstance(tools[name], CommandTool) for name in ("ruff", "mypy", "bandit"))
    assert "mypy.ini" in tools["mypy"].config_files
    assert "conftest.py" in tools["pytest"].config_files


class _OtherRuff(ruff.Ruff):
    executable = "other-ruff"


class _ThirdParty:
    """A plugin contributing a duplicate of a built-in, a new tool and something else."""

    @hookimpl
    def aegisd_lint_tools(self) -> list[object]:
        return [_OtherRuff(), max_file_length.MaxFileLength(), "not a tool"]


def test_collecting_tools_ignores_duplicates_and_non_tools() -> None:
    host = PluginHost()
    host.register(lint_hooks, "aegisd_lint.hooks", builtin=True)
    host.register(ruff, "aegisd_lint.ruff", builtin=True)
    host.register(_ThirdParty(), "third_party")
    linters = collect_tools(host)
    assert list(linters.tools) == ["ruff", "max_file_length"]
    assert type(linters.tools["ruff"]) is ruff.Ruff  # the first registered keeps the name
    assert linters.problems == [
        "tool 'ruff' of plugin third_party ignored: plugin aegisd_lint.ruff already "
        "contributes a tool of that name",
        "plugin third_party contributed 'not a tool', not a LintTool: ignored",
    ]
