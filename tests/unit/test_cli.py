"""`aegisd` subcommands contributed through the `aegisd_cli_commands` hook."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aegisd import cli, hookimpl
from tests.conftest import REPO, isolated_env


class Greeter:
    """A plugin adding `aegisd greet NAME`."""

    def __init__(self) -> None:
        self.greeted: list[str] = []

    @hookimpl
    def aegisd_cli_commands(self, subparsers: Any) -> None:
        greet = subparsers.add_parser("greet", help="say hello")
        greet.add_argument("name")
        greet.set_defaults(handler=self.greet)

    def greet(self, args: argparse.Namespace) -> int:
        self.greeted.append(args.name)
        return 7


class Broken:
    @hookimpl
    def aegisd_cli_commands(self, subparsers: Any) -> None:
        raise RuntimeError("cannot add my commands")


def test_hook_aegisd_cli_commands(
    capsys: pytest.CaptureFixture[str],
) -> None:
    greeter = Greeter()
    assert cli.main(["greet", "world"], plugins=[Broken(), greeter]) == 7
    assert greeter.greeted == ["world"]
    # one plugin failing to add its commands is reported; the others' and the core's work
    assert "cannot add my commands" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["--help"], plugins=[greeter])
    assert "greet" in capsys.readouterr().out


def test_the_core_imports_no_plugin_for_its_commands(tmp_path: Path) -> None:
    """`aegisd audit` comes from the audit plugin through the hook, by dotted path only."""
    source = (REPO / "aegisd" / "cli.py").read_text()
    assert "import aegisd_" not in source and "from aegisd_" not in source
    parser = cli.build_parser(["audit", "hook"])
    args = parser.parse_args(["audit", "exec", "--run", "3", "--", "true"])
    assert args.handler.__module__ == "aegisd_audit.commands"
    code = "from aegisd import cli; cli.build_parser(['status']); import sys; print(sorted(sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=isolated_env(tmp_path),
    ).stdout
    assert "'aegisd_audit.commands'" in loaded and "'aegisd_audit.cli'" not in loaded
