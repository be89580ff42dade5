"""The daemon's own files (state dir, socket dir, config dir) never show in a workspace that
contains them: not indexed, not watched, not previewed, not named by any path param."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from aegisd.client import RpcCallError
from tests.e2e.test_live import wait_fresh


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def tree_paths(node: dict[str, Any]) -> set[str]:
    found = {node["path"]}
    for child in node.get("children", []):
        found |= tree_paths(child)
    return found


def test_state_socket_and_config_dirs_inside_a_root_are_hidden(
    daemon_factory: Any, tmp_path: Path
) -> None:
    home = tmp_path  # like a daemon serving $HOME: its state, socket and config are inside
    config_dir = home / "xdg-config" / "aegisd"
    config_dir.mkdir(parents=True)
    (config_dir / "aegisd.toml").write_text('log_level = "INFO"\n')
    (home / "main.py").write_text("def visible(): pass\n")
    d = daemon_factory("--root", str(home), "--tcp", f"127.0.0.1:{free_port()}")
    token = d.data_dir / "token"
    assert token.exists() and d.socket.parent.parent == home
    (home / "token_link.txt").symlink_to(token)
    (home / "later.py").write_text("def later(): pass\n")
    answer = wait_fresh(d)
    listed = {c["path"] for c in d.call("workspace.changes", {"since": 0})["changes"]}
    assert "main.py" in listed
    own = ("state/", "run/", "xdg-config/aegisd/")
    assert not [p for p in listed if p.startswith(own)], listed
    tree = tree_paths(d.call("index.tree")["root"])
    assert "main.py" in tree and not [p for p in tree if p.startswith(own) or p in own], tree
    for path in ["state/token", str(token), "token_link.txt", "run/aegisd.sock",
                 "xdg-config/aegisd/aegisd.toml", "state/aegisd.db", "state"]:  # fmt: skip
        with pytest.raises(RpcCallError) as info:
            d.call("index.preview", {"path": path})
        assert info.value.code_name == "INVALID_PATH", path
        assert "daemon" in str(info.value)
    for method in ("index.file", "graph.dependents"):
        with pytest.raises(RpcCallError) as info:
            d.call(method, {"path": "state/aegisd.db"})
        assert info.value.code_name == "INVALID_PATH", method
    with pytest.raises(RpcCallError) as info:
        d.call("workspace.notify_changes", {"paths": ["state/token"]})
    assert info.value.code_name == "INVALID_PATH"
    # The store is written all the time; none of it ever becomes a change.
    d.call("settings.update", {"settings": {"include_docstrings": True}})
    (home / "main.py").write_text("def visible(): return 1\n")
    d.call("workspace.notify_changes", {"paths": ["main.py"]})
    later = d.call("workspace.changes", {"since": answer["clock"]})["changes"]
    assert not [c for c in later if c["path"].startswith(own)], later
    # A workspace inside the daemon's state dir is refused outright.
    inside = d.data_dir / "lint"
    inside.mkdir(exist_ok=True)
    with pytest.raises(RpcCallError) as info:
        d.call("workspace.open", {"root": str(inside)})
    assert info.value.code_name == "INVALID_PATH"
