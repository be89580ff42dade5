"""Finding a tool's command and its version, once.

Where a tool comes from depends on the workspace (`WorkspaceEnv`): in a trusted workspace its
own virtualenv (`.venv`, `venv`) comes first, then PATH; in an untrusted one, the virtualenv is
never used (its executables are the workspace's code), only PATH. A tool that runs the
workspace's code (pytest) runs only with the workspace's interpreter: `lint.python` when set,
else the trusted virtualenv's; never from PATH.
"""

import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from aegisd_lint.process import execute, tool_env
from aegisd_lint.tool import CommandTool

VENV_DIRS = (".venv", "venv")
VERSION_TIMEOUT_S = 30.0
MISSING_RECHECK_S = 30.0  # a tool found missing from an interpreter is looked for again after
_VERSION = re.compile(r"\d+(?:\.\d+)+[\w.+-]*")


@dataclass(frozen=True)
class WorkspaceEnv:
    """Where a workspace's tools come from: `python` is the interpreter tools use (for mypy's
    view of installed packages; the only one pytest runs with), None when there is none."""

    root: Path
    trusted: bool
    python: Path | None = None
    configured: bool = False  # `python` is the user's `lint.python`, not the virtualenv's


def workspace_env(root: Path, trusted: bool, python: str | None = None) -> WorkspaceEnv:
    """The env of `root`: `python` (the `lint.python` setting: absolute, or relative to the
    root) when given, else the virtualenv's interpreter of a trusted workspace."""
    if python:
        return WorkspaceEnv(root, trusted, root / Path(python).expanduser(), configured=True)
    return WorkspaceEnv(root, trusted, venv_python(root) if trusted else None)


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


def find_command(tool: CommandTool, env: WorkspaceEnv) -> tuple[str, ...] | None:
    """The argv prefix that runs `tool` in `env`, or None when it is not installed there."""
    if tool.interpreter == "required" and env.configured:
        return _module_command(tool, env.python)
    if env.trusted:
        for name in VENV_DIRS:
            bindir = env.root / name / "bin"
            if _is_executable(bindir / tool.executable):
                return (str(bindir / tool.executable),)
            python = bindir / "python"
            if tool.module and _is_executable(python) and _has_module(bindir.parent, tool.module):
                return (str(python), "-m", tool.module)
    if tool.interpreter == "required":
        return _module_command(tool, env.python)
    found = shutil.which(tool.executable)
    return (found,) if found else None


def missing_reason(tool: CommandTool, env: WorkspaceEnv) -> str:
    """Why `find_command` (or the version probe) found no `tool` in `env`."""
    if tool.interpreter != "required":
        return "not installed"
    if env.python is None:
        return (
            "no workspace interpreter: it runs only with the workspace's own Python "
            "(a .venv or venv in the root, or the lint.python setting)"
        )
    return f"not installed for the workspace interpreter {env.python}"


def _module_command(tool: CommandTool, python: Path | None) -> tuple[str, ...] | None:
    if python is None or tool.module is None or not _is_executable(python):
        return None
    return (str(python), "-m", tool.module)


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _has_module(venv: Path, module: str) -> bool:
    for site in venv.glob("lib/python*/site-packages"):
        if (site / module).is_dir() or (site / f"{module}.py").is_file():
            return True
    return False


class VersionCache:
    """Tool versions by command, probed with `--version` once per installed executable.

    The executable's mtime is part of the key, so upgrading a tool in place is noticed. A
    module an interpreter lacks (`python -m tool` failing) is looked for again after
    `MISSING_RECHECK_S`: it may be installed meanwhile.
    """

    def __init__(self) -> None:
        self._versions: dict[tuple[tuple[str, ...], int], str] = {}
        self._missing: dict[tuple[tuple[str, ...], int], float] = {}

    async def resolve(self, tool: CommandTool, env: WorkspaceEnv) -> ResolvedTool | None:
        """The command and version of `tool` in `env`; None when it is not installed."""
        command = find_command(tool, env)
        if command is None:
            return None
        try:
            key = (command, os.stat(command[0]).st_mtime_ns)
        except OSError:
            return None
        if time.monotonic() < self._missing.get(key, 0.0):
            return None
        if key not in self._versions:
            version = await probe_version(tool, command, env)
            if version is None:
                self._missing[key] = time.monotonic() + MISSING_RECHECK_S
                return None
            self._versions[key] = version
        return ResolvedTool(command, self._versions[key])


async def probe_version(
    tool: CommandTool, command: tuple[str, ...], env: WorkspaceEnv
) -> str | None:
    """Run `<command> --version` and pick the first version number ("unknown" if none).
    None when `python -m module` fails: the module is not installed for that interpreter."""
    out = bytearray()
    try:
        done = await execute(
            [*command, *tool.version_args],
            env.root,
            tool_env(env.python),
            VERSION_TIMEOUT_S,
            out.extend,
        )
    except OSError:
        return None if _is_module_command(command) else "unknown"
    if _is_module_command(command) and done.returncode != 0:
        return None
    match = _VERSION.search(out.decode(errors="replace") + done.stderr)
    return match.group(0) if match else "unknown"


def _is_module_command(command: tuple[str, ...]) -> bool:
    return len(command) == 3 and command[1] == "-m"
