"""`aegisd install-service`: write the systemd user units with this installation's paths."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from aegisd.paths import shipped_file

UNITS = ("aegisd.service", "aegisd.socket")


def executable() -> str:
    """The `aegisd` executable of this installation (falls back to `python -m aegisd`)."""
    found = shutil.which("aegisd")
    if found:
        return str(Path(found).resolve())
    return f"{sys.executable} -m aegisd"


def unit_dir(flag: str | None) -> Path:
    if flag:
        return Path(flag)
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "systemd" / "user"


def install_units(flag: str | None = None) -> int:
    target = unit_dir(flag)
    target.mkdir(parents=True, exist_ok=True)
    exe = executable()
    for name in UNITS:
        text = shipped_file(f"systemd/{name}").read_text().replace("@EXEC@", exe)
        (target / name).write_text(text)
        print(f"wrote {target / name}")
    print(
        "enable with:\n"
        "  systemctl --user daemon-reload\n"
        "  systemctl --user enable --now aegisd.socket\n"
        "then clients reach the daemon at $XDG_RUNTIME_DIR/aegisd/aegisd.sock"
    )
    return 0
