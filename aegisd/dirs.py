"""The daemon's directories: created private, refused when others could meddle, locked.

- Directories the daemon creates (socket dir, state dir and their parents) are made 0700;
  directories that already exist keep their mode: they are the user's.
- A socket directory others can write (group- or world-writable without the sticky bit) or
  that belongs to another user is refused: whoever writes there can replace the socket.
- The state dir holds the database, the token, the hook spool: its files are tightened to
  0600 and its subdirectories to 0700 on start when an older version left them looser; a
  state dir that others can enter is reported (not changed: the user may share it on purpose).
- `hold_lock` takes an exclusive `flock` for the daemon's life: one daemon per socket, and
  one per state dir (two writers on one database collide, and their lint run ids too).
"""

from __future__ import annotations

import fcntl
import os
import stat
from pathlib import Path
from typing import IO

from loguru import logger

LOCK_FILE = "aegisd.lock"
_GROUP_OTHER = stat.S_IRWXG | stat.S_IRWXO
_WRITABLE_BY_OTHERS = stat.S_IWGRP | stat.S_IWOTH


class DirError(Exception):
    """A directory the daemon cannot safely use; the message says which and why."""


def make_private_dirs(directory: Path) -> list[Path]:
    """Create `directory` and its missing parents 0700 (whatever the umask); returns those
    created. Existing directories are left as they are."""
    missing: list[Path] = []
    for candidate in (directory, *directory.parents):
        if candidate.exists():
            break
        missing.append(candidate)
    created: list[Path] = []
    for path in reversed(missing):
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            continue  # made meanwhile by someone else: not ours to change
        os.chmod(path, 0o700)
        created.append(path)
    return created


def check_socket_dir(directory: Path) -> None:
    """Refuse a socket directory another user owns or may write into (`DirError`)."""
    info = directory.stat()
    if info.st_uid not in (os.getuid(), 0):
        raise DirError(f"socket directory {directory} belongs to another user (uid {info.st_uid})")
    if info.st_mode & _WRITABLE_BY_OTHERS and not info.st_mode & stat.S_ISVTX:
        raise DirError(
            f"socket directory {directory} is writable by other users "
            f"(mode {stat.S_IMODE(info.st_mode):04o}, no sticky bit): anyone could replace "
            "the socket; use a private directory (mode 0700)"
        )


def prepare_socket_dir(socket_path: Path) -> None:
    """The socket's directory: created 0700 when missing, else checked (`DirError`)."""
    directory = socket_path.parent
    if directory not in make_private_dirs(directory):
        check_socket_dir(directory)


def tighten_state_dir(directory: Path) -> None:
    """Tighten the daemon's files in an existing state dir; report the dir if others may enter."""
    info = directory.stat()
    if info.st_mode & _GROUP_OTHER:
        logger.warning(
            "state directory {} is open to other users (mode {:04o}); "
            "`chmod 700 {}` keeps them out of the database and the token",
            directory, stat.S_IMODE(info.st_mode), directory,
        )  # fmt: skip
    for entry in os.scandir(directory):
        _tighten(entry)


def _tighten(entry: os.DirEntry[str]) -> None:
    try:
        info = entry.stat(follow_symlinks=False)
    except OSError:
        return
    if info.st_uid != os.getuid() or not info.st_mode & _GROUP_OTHER:
        return
    if stat.S_ISREG(info.st_mode):
        mode = 0o600
    elif stat.S_ISDIR(info.st_mode):
        mode = 0o700
    else:
        return  # a socket or a link: its own access rules apply
    os.chmod(entry.path, mode)
    logger.info("tightened {} to {:04o}", entry.path, mode)


def hold_lock(lock_path: Path, holder_of: str) -> IO[str]:
    """An exclusive lock on `lock_path` (created 0600) for as long as the returned file is
    open; its content is our pid. When another process holds it, `DirError` names its pid:
    "aegisd is already running (pid N) <holder_of>"."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    fh = os.fdopen(fd, "r+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        pid = fh.read().strip() or "unknown"
        fh.close()
        raise DirError(f"aegisd is already running (pid {pid}) {holder_of}") from None
    fh.seek(0)
    fh.truncate()
    fh.write(str(os.getpid()))
    fh.flush()
    return fh
