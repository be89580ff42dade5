"""workspace.* and settings.* through POST /rpc on a real daemon."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from aegisd.client import RpcCallError
from tests.conftest import DaemonProcess


def error_code(exc: pytest.ExceptionInfo[RpcCallError]) -> str:
    return exc.value.code_name


def test_open_is_idempotent_and_resolves_symlinks(daemon: DaemonProcess, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    link = tmp_path / "link"
    link.symlink_to(other)
    first = daemon.call("workspace.open", {"root": str(link)})
    again = daemon.call("workspace.open", {"root": str(other)})
    assert first["opened"] is True and again["opened"] is False
    assert first["workspace"]["root"] == os.path.realpath(other)
    assert first["workspace"]["id"] == again["workspace"]["id"]
    roots = {w["root"] for w in daemon.call("workspace.list")["workspaces"]}
    assert roots == {str(tmp_path / "project"), str(other)}


@pytest.mark.parametrize("root", ["relative", "/definitely/not/here"])
def test_open_refuses_bad_roots(daemon: DaemonProcess, root: str) -> None:
    with pytest.raises(RpcCallError) as info:
        daemon.call("workspace.open", {"root": root})
    assert error_code(info) == "INVALID_PATH"


def test_open_refuses_a_file(daemon: DaemonProcess, tmp_path: Path) -> None:
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(RpcCallError) as info:
        daemon.call("workspace.open", {"root": str(f)})
    assert error_code(info) == "INVALID_PATH"
    assert "not a directory" in info.value.error["message"]


def test_workspace_may_be_omitted_only_when_one_is_open(
    daemon: DaemonProcess, tmp_path: Path
) -> None:
    assert daemon.call("settings.get")["clock"] == 0
    second = tmp_path / "second"
    second.mkdir()
    ws = daemon.call("workspace.open", {"root": str(second)})["workspace"]
    with pytest.raises(RpcCallError) as info:
        daemon.call("settings.get")
    assert error_code(info) == "INVALID_PARAMS"
    # pending until its first reconciliation (in a thread) is done: soon, for an empty dir
    deadline = time.monotonic() + 10
    while daemon.call("settings.get", {"workspace": ws["id"]})["pending"]:
        assert time.monotonic() < deadline, "the new workspace stayed pending"
        time.sleep(0.02)
    assert daemon.call("settings.get", {"workspace": str(second)})["settings"]
    closed = daemon.call("workspace.close", {"workspace": ws["id"]})
    assert closed["closed"]["root"] == str(second)
    with pytest.raises(RpcCallError) as info:
        daemon.call("settings.get", {"workspace": ws["id"]})
    assert error_code(info) == "NOT_FOUND"


def test_settings_update_is_partial_and_invalidates_the_cache(daemon: DaemonProcess) -> None:
    before = daemon.call("settings.get")["settings"]
    assert "node_modules" in before["exclude_dirs"]
    daemon.call("settings.get")
    hits = daemon.call("daemon.status")["cache"]["namespaces"]["settings"]["hits"]
    assert hits >= 1
    trimmed = [d for d in before["exclude_dirs"] if d != "node_modules"] + ["generated"]
    answer = daemon.call(
        "settings.update",
        {"settings": {"exclude_dirs": trimmed, "watcher": {"debounce_ms": 80}}},
    )
    assert sorted(answer["updated"]) == ["exclude_dirs", "watcher.debounce_ms"]
    assert answer["settings"]["watcher"]["step_ms"] == 10  # untouched sibling kept
    stats = daemon.call("daemon.status")["cache"]["namespaces"]["settings"]
    assert stats["invalidations"] >= 1
    after = daemon.call("settings.get")["settings"]
    assert "node_modules" not in after["exclude_dirs"] and "generated" in after["exclude_dirs"]
    assert after["watcher"]["debounce_ms"] == 80
    # An update that changes nothing reports nothing.
    assert (
        daemon.call("settings.update", {"settings": {"watcher": {"debounce_ms": 80}}})["updated"]
        == []
    )


def test_settings_update_refuses_unknown_and_invalid_keys_and_keeps_stored(
    daemon: DaemonProcess,
) -> None:
    daemon.call("settings.update", {"settings": {"include_docstrings": True}})
    for bad in ({"nope": 1}, {"watcher": {"debounce": 5}}, {"watcher": {"debounce_ms": -1}}):
        with pytest.raises(RpcCallError) as info:
            daemon.call("settings.update", {"settings": bad})
        assert error_code(info) == "INVALID_PARAMS"
        assert info.value.error["data"]["errors"][0]["loc"][0] == "settings"
    assert daemon.call("settings.get")["settings"]["include_docstrings"] is True


def test_settings_survive_a_restart(daemon_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project = tmp_path / "p2"
    project.mkdir()
    d = daemon_factory("--root", str(project))
    d.call("settings.update", {"settings": {"include_docstrings": True}})
    assert d.stop() == 0
    d2 = daemon_factory("--root", str(project))
    assert d2.call("settings.get")["settings"]["include_docstrings"] is True


def test_status_reports_versions_workspaces_and_cache(daemon: DaemonProcess) -> None:
    status = daemon.call("daemon.status")
    assert status["pid"] == daemon.proc.pid
    assert status["socket"] == str(daemon.socket)
    assert [w["name"] for w in status["workspaces"]] == ["project"]
    assert {"hits", "misses", "evictions"} <= set(status["cache"]["namespaces"]["settings"])
    assert any(p["name"] == "aegisd.builtin.daemon_methods" for p in status["plugins"])
