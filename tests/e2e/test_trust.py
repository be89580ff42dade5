"""Opening a repository must not run it: workspace trust through a real daemon and the CLI.

The project is shaped like a cloned repository that would run code the moment something
lints it: a conftest.py, a mypy plugin its config names, and an executable in its own
virtualenv. Each leaves a marker (outside the workspace) when it runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aegisd.client import RpcCallError
from tests.conftest import DaemonProcess
from tests.e2e.test_lint import settled, wait_for
from tests.plugins.lint.conftest import make_venv

MARKS = "TRUST_TEST_MARKERS"
CONFTEST = f"import os, pathlib\npathlib.Path(os.environ[{MARKS!r}], 'conftest').touch()\n"
PLUGIN = (
    "import os, pathlib\n"
    f"pathlib.Path(os.environ[{MARKS!r}], 'mypy-plugin').touch()\n"
    "from mypy.plugin import Plugin\n\n\n"
    "def plugin(version: str) -> type[Plugin]:\n    return Plugin\n"
)
VENV_RUFF = (
    "import os, pathlib, sys\n"
    f"pathlib.Path(os.environ[{MARKS!r}], 'venv-ruff').touch()\n"
    "os.execv({ruff!r}, [{ruff!r}, *sys.argv[1:]])\n"
)


@pytest.fixture
def cloned(tmp_path: Path) -> Path:
    root = tmp_path / "cloned"
    (root / "pkg").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "mod.py").write_text('def f() -> int:\n    return "x"\n')
    (root / "tests" / "test_mod.py").write_text(
        "def test_ok() -> None:\n    assert True\n\n\ndef test_bad() -> None:\n    assert 1 == 2\n"
    )
    (root / "conftest.py").write_text(CONFTEST)
    (root / "evil_plugin.py").write_text(PLUGIN)
    (root / "mypy.ini").write_text("[mypy]\nplugins = evil_plugin.py\n")
    make_venv(root)
    ruff = root / ".venv" / "bin" / "ruff"
    ruff.write_text(f"#!{sys.executable}\n" + VENV_RUFF.format(ruff=shutil.which("ruff")))
    ruff.chmod(0o755)
    return root.resolve()


def by_tool(d: DaemonProcess) -> dict[str, dict[str, Any]]:
    return settled(d)["summary"]["by_tool"]  # type: ignore[no-any-return]


def cli(d: DaemonProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aegisd", *args, "--socket", str(d.socket)],
        env=d.env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_opened_repository_runs_nothing_of_its_own_until_trusted(
    daemon_factory: Any, cloned: Path, tmp_path: Path
) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    d: DaemonProcess = daemon_factory(env={MARKS: str(marks)})
    opened = d.call("workspace.open", {"root": str(cloned)})["workspace"]
    assert opened["trusted"] is False
    tools = by_tool(d)
    assert tools["pytest"]["status"] == "skipped"
    assert tools["pytest"]["message"].startswith("workspace not trusted: ")
    assert (tools["mypy"]["status"], "evil_plugin.py" in tools["mypy"]["message"]) == (
        "skipped",
        True,
    )
    for name in ("ruff", "bandit", "max_file_length"):  # everything else works
        assert tools[name]["status"] in ("pass", "warn") and tools[name]["files"] == 5, name
    listed = {tool["name"]: tool for tool in d.call("lint.tools")["tools"]}
    assert listed["ruff"]["command"] == [shutil.which("ruff")]  # not the workspace's own
    assert listed["pytest"]["not_trusted"] and listed["ruff"]["not_trusted"] is None
    assert sorted(os.listdir(marks)) == []

    # trusted (no restart): what was skipped runs, with the workspace's own tools
    done = cli(d, "trust", str(cloned))
    assert done.returncode == 0 and f"{cloned}: trusted" in done.stdout
    wait_for(lambda: by_tool(d)["pytest"]["status"] == "fail")
    tools = by_tool(d)
    assert tools["pytest"]["totals"] == {"passed": 1, "failed": 1, "skipped": 0, "errors": 0}
    assert (tools["mypy"]["status"], tools["mypy"]["issues"]) == ("warn", 1)
    assert sorted(os.listdir(marks)) == ["conftest", "mypy-plugin", "venv-ruff"]
    assert d.call("workspace.list")["workspaces"][0]["trusted"] is True
    assert "trusted" in cli(d, "status").stdout

    # revoked: they stop again, and the decision outlives a restart
    assert cli(d, "trust", "--revoke", str(cloned)).stdout.startswith(f"{cloned}: not trusted")
    wait_for(lambda: by_tool(d)["pytest"]["status"] == "skipped")
    assert by_tool(d)["mypy"]["status"] == "skipped"
    assert d.stop() == 0
    again: DaemonProcess = daemon_factory(env={MARKS: str(marks)})
    assert again.call("workspace.open", {"root": str(cloned)})["workspace"]["trusted"] is False
    answer = again.call("workspace.trust", {"workspace": str(cloned)})
    assert (answer["trusted"], answer["source"], answer["via"]) == (True, "store", str(cloned))
    assert [ws["trusted"] for ws in answer["workspaces"]] == [True]


def test_trust_comes_from_serve_roots_config_patterns_and_parents(
    daemon_factory: Any, tmp_path: Path
) -> None:
    served, src = tmp_path / "served", tmp_path / "src"
    for folder in (served, src / "one" / "sub", src / "two", tmp_path / "elsewhere"):
        folder.mkdir(parents=True)
    env = {"AEGISD_TRUST__ROOTS": f"{src}/*"}
    d: DaemonProcess = daemon_factory("--root", str(served), env=env)

    def trusted(root: Path) -> bool:
        return d.call("workspace.open", {"root": str(root)})["workspace"]["trusted"]  # type: ignore[no-any-return]

    assert trusted(served)  # `serve --root` trusts what it is given
    assert trusted(src / "one") and trusted(src / "two") and trusted(src / "one" / "sub")
    assert not trusted(tmp_path / "elsewhere")
    # a stored decision beats a pattern, and covers what is under it
    revoked = d.call("workspace.trust", {"workspace": str(src / "one"), "trusted": False})
    assert (revoked["trusted"], revoked["source"]) == (False, "store")
    assert [ws["root"] for ws in revoked["workspaces"]] == [str(src / "one"), str(src / "one/sub")]
    states = {ws["root"]: ws["trusted"] for ws in d.call("workspace.list")["workspaces"]}
    assert states[str(src / "one" / "sub")] is False and states[str(src / "two")] is True
    # a root not open yet may be decided on
    later = tmp_path / "later"
    later.mkdir()
    assert d.call("workspace.trust", {"workspace": str(later)})["workspaces"] == []
    assert trusted(later)

    for params, code in [
        ({"workspace": str(tmp_path / "missing")}, "INVALID_PATH"),
        ({"workspace": "not-an-open-workspace"}, "NOT_FOUND"),
        ({"workspace": str(later), "trusted": "maybe"}, "INVALID_PARAMS"),
        ({"workspace": str(later), "extra": 1}, "INVALID_PARAMS"),
    ]:
        with pytest.raises(RpcCallError) as info:
            d.call("workspace.trust", params)
        assert info.value.code_name == code, params
    assert cli(d, "trust", str(tmp_path / "missing")).returncode == 1
    d.stop()
    assert cli(d, "trust", str(later)).returncode == 2  # no daemon answers
