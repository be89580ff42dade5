"""The daemon's own files, which no workspace may show: state dir, socket dir, config.

A workspace that contains one of them (a root of `$HOME` holds `~/.local/state/aegisd`) hides
it: it is not walked, watched, indexed or previewed, and a method naming a path inside it gets
INVALID_PATH. A root inside the state or config dir is refused outright. A directory the daemon
only shares (the socket's, when it is the root or above it, e.g. `--socket /tmp/x.sock`) hides
just the daemon's files in it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from aegisd import paths
from aegisd.config import DaemonConfig


@dataclass(frozen=True)
class OwnPaths:
    """Real absolute paths of the daemon's own directories and files."""

    #: wholly the daemon's: hidden when inside a root; a root inside one is refused
    exclusive_dirs: tuple[str, ...]
    #: the daemon's when inside a root (the socket dir), otherwise shared
    dirs: tuple[str, ...]
    files: tuple[str, ...]

    def within(self, root: Path) -> OwnInRoot:
        """What of these lies inside `root` (root-relative `/` paths)."""
        top = str(root)
        dirs = {rel for d in (*self.exclusive_dirs, *self.dirs) if (rel := _strictly_in(d, top))}
        files = {rel for f in self.files if (rel := _strictly_in(f, top))}
        return OwnInRoot(frozenset(dirs), frozenset(files))

    def refusal(self, root: Path) -> str | None:
        """Why `root` cannot be a workspace (it lies inside the daemon's own data), or None."""
        for own in self.exclusive_dirs:
            if str(root) == own or _strictly_in(str(root), own):
                return f"it is inside the daemon's own directory {own}"
        return None


@dataclass(frozen=True)
class OwnInRoot:
    """The daemon's paths inside one workspace root."""

    dirs: frozenset[str] = frozenset()
    files: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.dirs or self.files)

    def holds(self, rel: str) -> bool:
        """True when the root-relative `rel` is, or lies inside, one of the daemon's paths."""
        if rel in self.files:
            return True
        return any(rel == d or rel.startswith(d + "/") for d in self.dirs)


def own_paths(config: DaemonConfig) -> OwnPaths:
    """The daemon's own paths for `config`, symlinks resolved."""
    socket = config.socket_path
    config_dir = paths.user_config_file().parent
    files = [socket, socket.with_name(socket.name + ".lock"), config.db_path]
    if config.config_file is not None:
        files.append(config.config_file)
    return OwnPaths(
        exclusive_dirs=_real(config.data_path, config_dir),
        dirs=_real(socket.parent),
        files=_real(*files),
    )


def _real(*items: Path) -> tuple[str, ...]:
    return tuple(os.path.realpath(item) for item in items)


def _strictly_in(path: str, top: str) -> str | None:
    """`path` relative to `top` when strictly inside it, else None."""
    if path.startswith(top.rstrip("/") + "/"):
        return path[len(top.rstrip("/")) + 1 :]
    return None
