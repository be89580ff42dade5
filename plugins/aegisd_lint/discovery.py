"""Finding a tool's command (workspace virtualenv first, then PATH) and its version, once."""

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from aegisd_lint.process import execute, tool_env
from aegisd_lint.tool import CommandTool

VENV_DIRS = (".venv", "venv")
VERSION_TIMEOUT_S = 30.0
_VERSION = re.compile(r"\d+(?:\.\d+)+[\w.+-]*")


@dataclass(frozen=True)
class ResolvedTool:
    """An installed tool: the argv prefix that runs it and its version."""

    command: tuple[str, ...]
    version: str


def venv_python(root: Path) -> Path | None:
    """The interpreter of the workspace's own virtualenv, if it has one."""
    for name in VENV_DIRS:
        python = root / name / "bin" / "python"
        if _is_executable(python):
            return python
    return None


def find_command(tool: CommandTool, root: Path) -> tuple[str, ...] | None:
    """The argv prefix that runs `tool` for `root`, or None when it is not installed."""
    for name in VENV_DIRS:
        bindir = root / name / "bin"
        if _is_executable(bindir / tool.executable):
            return (str(bindir / tool.executable),)
        python = bindir / "python"
        if tool.module and _is_executable(python) and _has_module(bindir.parent, tool.module):
            return (str(python), "-m", tool.module)
    found = shutil.which(tool.executable)
    return (found,) if found else None


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _has_module(venv: Path, module: str) -> bool:
    for site in venv.glob("lib/python*/site-packages"):
        if (site / module).is_dir() or (site / f"{module}.py").is_file():
            return True
    return False


class VersionCache:
    """Tool versions by command, probed with `--version` once per installed executable.

    The executable's mtime is part of the key, so upgrading a tool in place is noticed.
    """

    def __init__(self) -> None:
        self._versions: dict[tuple[tuple[str, ...], int], str] = {}

    async def resolve(self, tool: CommandTool, root: Path) -> ResolvedTool | None:
        """The command and version of `tool` for `root`; None when it is not installed."""
        command = find_command(tool, root)
        if command is None:
            return None
        try:
            key = (command, os.stat(command[0]).st_mtime_ns)
        except OSError:
            return None
        if key not in self._versions:
            self._versions[key] = await probe_version(tool, command, root)
        return ResolvedTool(command, self._versions[key])


async def probe_version(tool: CommandTool, command: tuple[str, ...], root: Path) -> str:
    """Run `<command> --version` and pick the first version number; "unknown" if none."""
    out = bytearray()
    try:
        done = await execute(
            [*command, *tool.version_args],
            root,
            tool_env(venv_python(root)),
            VERSION_TIMEOUT_S,
            out.extend,
        )
    except OSError:
        return "unknown"
    match = _VERSION.search(out.decode(errors="replace") + done.stderr)
    return match.group(0) if match else "unknown"
