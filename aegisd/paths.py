"""Where things live on disk: socket, state dir, config file. Shared by daemon and clients.

Each is resolved the same way everywhere: flag, then `AEGISD_*` env var, then the user's config
file, then the default from DESIGN.md. Only the standard library is used here, so the light
clients (`aegisd call`, `aegisd audit hook`) start fast.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

APP = "aegisd"


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value and os.path.isabs(value) else Path.home() / fallback


def default_socket() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime):
        return Path(runtime) / APP / f"{APP}.sock"
    return Path(f"/tmp/{APP}-{os.getuid()}") / f"{APP}.sock"


def default_data_dir() -> Path:
    return _xdg("XDG_STATE_HOME", ".local/state") / APP


def user_config_file() -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config") / APP / f"{APP}.toml"


def config_file(flag: str | os.PathLike[str] | None = None) -> Path:
    """The user's config file: `--config`, then `AEGISD_CONFIG`, then the XDG default."""
    if flag:
        return Path(flag)
    env = os.environ.get("AEGISD_CONFIG")
    return Path(env) if env else user_config_file()


def _from_user_config(key: str, config: str | os.PathLike[str] | None) -> str | None:
    path = config_file(config)
    try:
        with path.open("rb") as fh:
            data: dict[str, Any] = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        return None
    value = data.get(key)
    return str(value) if isinstance(value, str) and value else None


def resolve_socket(
    flag: str | os.PathLike[str] | None = None, config: str | os.PathLike[str] | None = None
) -> Path:
    """The socket path a client or the daemon uses."""
    if flag:
        return Path(flag)
    env = os.environ.get("AEGISD_SOCKET") or _from_user_config("socket", config)
    return Path(env).expanduser() if env else default_socket()


def resolve_data_dir(
    flag: str | os.PathLike[str] | None = None, config: str | os.PathLike[str] | None = None
) -> Path:
    """The state directory (database, spool, token) a client or the daemon uses."""
    if flag:
        return Path(flag)
    env = os.environ.get("AEGISD_DATA_DIR") or _from_user_config("data_dir", config)
    return Path(env).expanduser() if env else default_data_dir()


def shipped_file(relative: str) -> Path:
    """A file shipped with aegisd: inside the wheel, or in the source tree when run from it."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_shipped" / relative, here.parent / relative):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"shipped file {relative} not found next to {here}")
