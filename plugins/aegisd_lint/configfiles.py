"""Reading a tool's settings from the workspace's config files, tolerating broken ones."""

import configparser
import tomllib
from pathlib import Path
from typing import Any


def pyproject_table(root: Path, *keys: str) -> dict[str, Any] | None:
    """The `[tool.x.y]` table of the root's pyproject.toml, or None (absent or unreadable)."""
    try:
        table: Any = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    for key in keys:
        if not isinstance(table, dict) or key not in table:
            return None
        table = table[key]
    return table if isinstance(table, dict) else None


def ini_section(path: Path, section: str) -> dict[str, str] | None:
    """A section of an INI-style file (setup.cfg, tox.ini, mypy.ini), or None."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        if not parser.read(path, encoding="utf-8"):
            return None
    except (configparser.Error, UnicodeDecodeError):
        return None
    return dict(parser[section]) if parser.has_section(section) else None
