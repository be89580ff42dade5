"""Reading a tool's settings from the workspace's config files, tolerating broken ones."""

import configparser
import tomllib
from pathlib import Path
from typing import Any

from aegisd.safeio import read_bytes

#: config files larger than this are taken as absent
CONFIG_MAX_BYTES = 1024 * 1024


def read_config(root: Path, name: str) -> bytes | None:
    """A config file of the workspace, read safely (see `aegisd.safeio`); None when it is
    absent or cannot be read, which the tools see the same way."""
    try:
        return read_bytes(root, name, CONFIG_MAX_BYTES)
    except OSError:
        return None


def pyproject_table(root: Path, *keys: str) -> dict[str, Any] | None:
    """The `[tool.x.y]` table of the root's pyproject.toml, or None (absent or unreadable)."""
    data = read_config(root, "pyproject.toml")
    if data is None:
        return None
    try:
        table: Any = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    for key in keys:
        if not isinstance(table, dict) or key not in table:
            return None
        table = table[key]
    return table if isinstance(table, dict) else None


def ini_section(path: Path, section: str) -> dict[str, str] | None:
    """A section of an INI-style file (setup.cfg, tox.ini, mypy.ini), or None."""
    parser = configparser.ConfigParser(interpolation=None)
    data = read_config(path.parent, path.name)
    if data is None:
        return None
    try:
        parser.read_string(data.decode("utf-8"), str(path))
    except (configparser.Error, UnicodeDecodeError):
        return None
    return dict(parser[section]) if parser.has_section(section) else None
