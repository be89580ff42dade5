"""Starting a program on a new pseudo-terminal, as the leader of its own session with the
PTY as its controlling terminal (so ^C, job control and SIGWINCH reach its foreground group).

`subprocess` cannot make the PTY the controlling terminal without a `preexec_fn`, which is
unsafe in a process with threads; a tiny Python trampoline does the ioctl and execs the
program instead (the pid stays the same).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import pwd
import shutil
import struct
import sys
import termios
from collections.abc import Mapping

TRAMPOLINE = (
    "import fcntl, os, sys, termios\n"
    "fcntl.ioctl(0, termios.TIOCSCTTY, 0)\n"
    "try:\n"
    "    os.execvp(sys.argv[1], sys.argv[1:])\n"
    "except OSError as exc:\n"
    "    print(f'aegisd: cannot run {sys.argv[1]}: {exc.strerror}', file=sys.stderr)\n"
    "    os._exit(127)\n"
)


def login_shell() -> str:
    """The user's login shell (passwd), else $SHELL, else /bin/sh."""
    try:
        shell = pwd.getpwuid(os.getuid()).pw_shell
    except KeyError:
        shell = ""
    return shell or os.environ.get("SHELL") or "/bin/sh"


def find_program(name: str, env: Mapping[str, str]) -> str | None:
    """The executable `name` stands for, looked up on the session's PATH."""
    return shutil.which(name, path=env.get("PATH", os.defpath))


def set_size(fd: int, cols: int, rows: int) -> None:
    """Set the terminal size (the kernel sends SIGWINCH to the foreground process group)."""
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


async def spawn(
    argv: list[str], cwd: str, env: Mapping[str, str], cols: int, rows: int
) -> tuple[asyncio.subprocess.Process, int]:
    """Start `argv` on a new PTY; returns the process and the PTY's master side (non-blocking,
    not inherited by later children)."""
    master, slave = os.openpty()
    try:
        set_size(slave, cols, rows)
        os.set_blocking(master, False)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-I", "-S", "-c", TRAMPOLINE, *argv,
            stdin=slave, stdout=slave, stderr=slave,
            cwd=cwd, env=dict(env), start_new_session=True,
        )  # fmt: skip
    except BaseException:
        os.close(master)
        raise
    finally:
        os.close(slave)
    return process, master
