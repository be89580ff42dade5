"""The built-in tools come through the `aegisd_lint_tools` hook like any third-party tool."""

import pluggy
from aegisd_lint import bandit, hookspecs, max_file_length, mypy, pytest, ruff
from aegisd_lint.tool import CommandTool, InProcessTool, LintTool

from aegisd import PROJECT_NAME


def test_each_builtin_module_contributes_its_tool() -> None:
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
