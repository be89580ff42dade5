"""Finding tools: the workspace virtualenv first, `python -m` there, then PATH; versions once."""

import os
import shutil
import sys
from pathlib import Path

from aegisd_lint.discovery import VersionCache, find_command, venv_python
from aegisd_lint.mypy import Mypy
from aegisd_lint.ruff import Ruff

from .conftest import write_script

COUNTING_RUFF = """
import sys
with open(sys.argv[0] + ".probes", "a") as log:
    log.write("x")
print("ruff 9.9.9")
"""


def _venv_with_python(root: Path, name: str = ".venv") -> Path:
    bindir = root / name / "bin"
    bindir.mkdir(parents=True)
    (bindir / "python").symlink_to(sys.executable)
    return bindir


def test_the_workspace_virtualenv_comes_before_path(tmp_path: Path) -> None:
    fake = write_script(tmp_path / "venv" / "bin" / "ruff", COUNTING_RUFF)
    assert find_command(Ruff(), tmp_path) == (str(fake),)


def test_python_dash_m_from_the_virtualenv(tmp_path: Path) -> None:
    bindir = _venv_with_python(tmp_path)
    site = tmp_path / ".venv" / "lib" / "python3.11" / "site-packages"
    (site / "mypy").mkdir(parents=True)
    assert find_command(Mypy(), tmp_path) == (str(bindir / "python"), "-m", "mypy")
    assert venv_python(tmp_path) == bindir / "python"


def test_path_is_the_fallback(tmp_path: Path) -> None:
    _venv_with_python(tmp_path)  # a virtualenv without ruff in it
    assert find_command(Ruff(), tmp_path) == (shutil.which("ruff"),)
    assert venv_python(tmp_path / "nowhere") is None


async def test_a_version_is_probed_once_per_executable(tmp_path: Path) -> None:
    fake = write_script(tmp_path / ".venv" / "bin" / "ruff", COUNTING_RUFF)
    probes = Path(f"{fake}.probes").read_text  # what the fake logs on every --version
    versions = VersionCache()
    first = await versions.resolve(Ruff(), tmp_path)
    second = await versions.resolve(Ruff(), tmp_path)
    assert first == second and first is not None
    assert (first.command, first.version) == ((str(fake),), "9.9.9")
    assert probes() == "x"
    # an upgrade in place (a new mtime) is probed again
    stat = fake.stat()
    os.utime(fake, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    await versions.resolve(Ruff(), tmp_path)
    assert probes() == "xx"


async def test_a_version_without_a_number_is_unknown(tmp_path: Path) -> None:
    write_script(tmp_path / ".venv" / "bin" / "ruff", "print('no numbers here')\n")
    resolved = await VersionCache().resolve(Ruff(), tmp_path)
    assert resolved is not None and resolved.version == "unknown"
