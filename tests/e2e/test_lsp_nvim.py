"""A real editor: headless Neovim attaches `aegisd lsp` to a fixture file through its own LSP
client, and sees the daemon's diagnostics and the file's symbols."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TESTS, DaemonProcess, isolated_env

FIXTURE = TESTS / "fixtures" / "lsp" / "project"
ATTACH = Path(__file__).parent / "nvim" / "attach.lua"
NVIM = shutil.which("nvim")


@pytest.mark.skipif(NVIM is None, reason="nvim is not installed (Debian: apt-get install neovim)")
def test_neovim_shows_diagnostics_and_symbols(daemon_factory: Any, tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(FIXTURE, project)
    daemon: DaemonProcess = daemon_factory()
    out = tmp_path / "nvim.json"
    env = isolated_env(
        tmp_path,
        AEGISD_TEST_PYTHON=sys.executable,
        AEGISD_TEST_SOCKET=str(daemon.socket),
        AEGISD_TEST_ROOT=str(project),
        AEGISD_TEST_FILE=str(project / "pkg" / "app.py"),
        AEGISD_TEST_OUT=str(out),
        HOME=str(tmp_path),
    )
    done = subprocess.run(
        [str(NVIM), "--headless", "--clean", "-u", str(ATTACH)],
        env=env,
        cwd=project,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    assert out.exists(), f"nvim wrote nothing (exit {done.returncode}):\n{done.stderr}"
    seen = json.loads(out.read_text())
    assert seen["error"] is None, seen
    by_code = {d["code"]: d for d in seen["diagnostics"]}
    assert (by_code["F401"]["source"], by_code["F401"]["lnum"], by_code["F401"]["col"]) == (
        "ruff",
        0,
        7,
    )
    assert (by_code["assignment"]["source"], by_code["assignment"]["lnum"]) == ("mypy", 15)
    assert seen["symbols"] == ["add", "Greeter"]
    assert daemon.proc.poll() is None  # the editor's server left the daemon running
