"""Finding tools: the workspace virtualenv first (trusted workspaces only), `python -m` there,
then PATH; pytest only with the workspace's interpreter; versions once."""

import os
import shlex
import shutil
import sys
from pathlib import Path

from aegisd_lint.discovery import (
    VersionCache,
    WorkspaceEnv,
    find_command,
    missing_reason,
    venv_python,
    workspace_env,
)
from aegisd_lint.mypy import Mypy
from aegisd_lint.pytest import Pytest
from aegisd_lint.ruff import Ruff

from .conftest import write_script

COUNTING_RUFF = """
import sys
with open(sys.argv[0] + ".probes", "a") as log:
    log.write("x")
print("ruff 9.9.9")
"""


def _venv_with_python(root: Path, name: str = ".venv") -> Path:
    """A virtualenv whose python runs this suite's interpreter, with this suite's packages.

    A script, not a symlink: a symlinked interpreter finds no `pyvenv.cfg` beside it and starts
    as the base installation, without the packages of the venv the suite may run in."""
    bindir = root / name / "bin"
    bindir.mkdir(parents=True)
    python = bindir / "python"
    python.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} "$@"\n')
    python.chmod(0o755)
    return bindir


def trusted(root: Path) -> WorkspaceEnv:
    return workspace_env(root, True)


def test_the_workspace_virtualenv_comes_before_path(tmp_path: Path) -> None:
    fake = write_script(tmp_path / "venv" / "bin" / "ruff", COUNTING_RUFF)
    assert find_command(Ruff(), trusted(tmp_path)) == (str(fake),)


def test_an_untrusted_workspace_virtualenv_is_never_used(tmp_path: Path) -> None:
    """Its executables are the workspace's code: a cloned repo could ship `.venv/bin/ruff`."""
    write_script(tmp_path / ".venv" / "bin" / "ruff", COUNTING_RUFF)
    _venv_with_python(tmp_path, "venv")
    env = workspace_env(tmp_path, False)
    assert env.python is None
    assert find_command(Ruff(), env) == (shutil.which("ruff"),)
    assert find_command(Pytest(), env) is None


def test_python_dash_m_from_the_virtualenv(tmp_path: Path) -> None:
    bindir = _venv_with_python(tmp_path)
    site = tmp_path / ".venv" / "lib" / "python3.11" / "site-packages"
    (site / "mypy").mkdir(parents=True)
    assert find_command(Mypy(), trusted(tmp_path)) == (str(bindir / "python"), "-m", "mypy")
    assert venv_python(tmp_path) == bindir / "python"


def test_path_is_the_fallback(tmp_path: Path) -> None:
    _venv_with_python(tmp_path)  # a virtualenv without ruff in it
    assert find_command(Ruff(), trusted(tmp_path)) == (shutil.which("ruff"),)
    assert venv_python(tmp_path / "nowhere") is None


async def test_pytest_runs_only_with_the_workspace_interpreter(tmp_path: Path) -> None:
    """Never an unrelated pytest from PATH (here one is on PATH: this suite's)."""
    assert shutil.which("pytest") is not None
    bare = trusted(tmp_path)
    assert find_command(Pytest(), bare) is None
    assert missing_reason(Pytest(), bare).startswith("no workspace interpreter")
    bindir = _venv_with_python(tmp_path)
    venv = trusted(tmp_path)
    assert find_command(Pytest(), venv) == (str(bindir / "python"), "-m", "pytest")
    resolved = await VersionCache().resolve(Pytest(), venv)
    assert resolved is not None and resolved.version.startswith("9.")  # this suite's pytest
    configured = workspace_env(tmp_path, True, sys.executable)
    assert find_command(Pytest(), configured) == (sys.executable, "-m", "pytest")
    # an interpreter without pytest: looked for, not found, said so
    without = write_script(tmp_path / "bare" / "python", "import sys; sys.exit(1)\n")
    lacking = workspace_env(tmp_path, True, str(without))
    assert await VersionCache().resolve(Pytest(), lacking) is None
    assert missing_reason(Pytest(), lacking) == (
        f"not installed for the workspace interpreter {without}"
    )


async def test_a_version_is_probed_once_per_executable(tmp_path: Path) -> None:
    fake = write_script(tmp_path / ".venv" / "bin" / "ruff", COUNTING_RUFF)
    probes = Path(f"{fake}.probes").read_text  # what the fake logs on every --version
    versions = VersionCache()
    first = await versions.resolve(Ruff(), trusted(tmp_path))
    second = await versions.resolve(Ruff(), trusted(tmp_path))
    assert first == second and first is not None
    assert (first.command, first.version) == ((str(fake),), "9.9.9")
    assert probes() == "x"
    # an upgrade in place (a new mtime) is probed again
    stat = fake.stat()
    os.utime(fake, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    await versions.resolve(Ruff(), trusted(tmp_path))
    assert probes() == "xx"


async def test_a_version_without_a_number_is_unknown(tmp_path: Path) -> None:
    write_script(tmp_path / ".venv" / "bin" / "ruff", "print('no numbers here')\n")
    resolved = await VersionCache().resolve(Ruff(), trusted(tmp_path))
    assert resolved is not None and resolved.version == "unknown"
