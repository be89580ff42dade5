"""Hostile files through a real daemon: special files, huge files, binary and UTF-16 ones and
unreadable ones are skipped by every plugin, listed with a reason, and never block it."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aegisd.client import RpcCallError
from tests.conftest import DaemonProcess

BIG = 300 * 1024 * 1024
OK_PY = "def kept_function() -> int:\n    return 1\n"


def wait_for(check: Callable[[], Any], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return value


def settled_status(d: DaemonProcess) -> dict[str, Any]:
    def fresh() -> dict[str, Any] | None:
        status: dict[str, Any] = d.call("index.status")
        return status if status["ready"] and not status["pending"] else None

    return wait_for(fresh)  # type: ignore[no-any-return]


def settled_lint(d: DaemonProcess) -> dict[str, Any]:
    def fresh() -> dict[str, Any] | None:
        report: dict[str, Any] = d.call("lint.report")
        return None if report["pending"] or report["running"] else report

    return wait_for(fresh, timeout=180)  # type: ignore[no-any-return]


def skipped_reasons(d: DaemonProcess) -> dict[str, str]:
    return {f["path"]: f["reason"] for f in d.call("index.status")["skipped"]}


def error_of(d: DaemonProcess, method: str, params: dict[str, Any]) -> tuple[str, str]:
    with pytest.raises(RpcCallError) as info:
        d.call(method, params)
    return info.value.code_name, str(info.value)


def fifo_over(path: Path) -> None:
    """A FIFO renamed over `path`, as a hostile (or careless) edit would leave it."""
    temp = path.with_name(path.name + ".fifo-tmp")
    os.mkfifo(temp)
    os.replace(temp, path)


def release_readers(path: Path) -> None:
    """Free any reader blocked opening the FIFO at `path`, so that a failing daemon cannot
    outlive the test."""
    with contextlib.suppress(OSError):  # nobody is waiting: nothing was blocked
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    root = tmp_path / "hostile"
    (root / "z_assets").mkdir(parents=True)
    (root / "ok.py").write_text(OK_PY)
    with (root / "big.py").open("wb") as fh:
        fh.truncate(BIG)  # sparse: 300 MB on paper, nothing written
    (root / "u16.py").write_bytes("def wide() -> None:\n    pass\n".encode("utf-16"))
    (root / "nul.py").write_bytes(b"def nul() -> None:\n    pass\n\0\0\0\n")
    os.mkfifo(root / "pipe.py")
    for n in range(120):  # more than index.status names: the counts still cover them
        (root / "z_assets" / f"img{n:03}.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    return root


def test_hostile_files_are_skipped_by_every_plugin_and_listed(
    daemon_factory: Any, hostile: Path
) -> None:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(hostile / "s.sock"))
    try:
        d: DaemonProcess = daemon_factory("--root", str(hostile))
        status = settled_status(d)
        report = settled_lint(d)
    finally:
        server.close()
        release_readers(hostile / "pipe.py")
    assert status["languages"] == {"python": 1} and status["files"] == 1
    assert status["skipped_files"] == 125
    assert status["skipped_by_kind"] == {
        "binary": 121, "encoding": 1, "fifo": 1, "socket": 1, "too_large": 1
    }  # fmt: skip
    listed = status["skipped"]
    assert len(listed) == 100 and listed == sorted(listed, key=lambda f: f["path"])
    reasons = {f["path"]: f["reason"] for f in listed}
    assert reasons["z_assets/img000.png"] == "binary (NUL bytes)"
    assert "z_assets/img119.png" not in reasons  # past the first 100 by path
    assert reasons["big.py"] == f"over size limit ({BIG} bytes; the limit is 4194304)"
    assert reasons["nul.py"] == "binary (NUL bytes)" and reasons["u16.py"] == "UTF-16 text"
    assert reasons["pipe.py"] == "fifo" and reasons["s.sock"] == "socket"
    # No tool was handed a skipped file: each has a result for ok.py alone.
    for tool, summary in report["summary"]["by_tool"].items():
        assert summary["status"] != "error", (tool, summary)
        assert summary["files"] <= 1, (tool, summary)
    assert {f["path"] for f in report["files"]} <= {"ok.py"}
    # Asking about a skipped file says why, in the error table's terms.
    code, message = error_of(d, "lint.run", {"paths": ["big.py"]})
    assert code == "TOO_LARGE" and "over size limit" in message
    assert error_of(d, "lint.report", {"path": "u16.py"})[0] == "UNSUPPORTED"
    assert error_of(d, "similarity.check", {"path": "big.py"})[0] == "TOO_LARGE"
    assert error_of(d, "index.file", {"path": "nul.py"})[0] == "UNSUPPORTED"
    assert error_of(d, "index.preview", {"path": "pipe.py"})[0] == "INVALID_PATH"
    assert d.call("index.search", {"query": "wide"})["hits"] == []
    assert d.call("daemon.health")["status"] == "ok"


def test_a_fifo_renamed_over_a_source_file_never_freezes_the_daemon(
    daemon_factory: Any, tmp_path: Path
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "a.py").write_text("def alpha_fn() -> int:\n    return 1\n")
    (root / "b.py").write_text("def beta_fn() -> int:\n    return 2\n")
    d: DaemonProcess = daemon_factory("--root", str(root))
    settled_status(d)
    run = d.call("audit.start_run", {"name": "fifo"})["id"]
    try:
        # Told by a client, as an editor's save would be.
        fifo_over(root / "a.py")
        d.call("workspace.notify_changes", {"paths": ["a.py"]})
        assert d.call("daemon.health")["status"] == "ok"
        assert skipped_reasons(d) == {"a.py": "fifo"}
        assert d.call("index.search", {"query": "alpha_fn"})["hits"] == []
        # Seen by the watcher.
        fifo_over(root / "b.py")
        wait_for(lambda: skipped_reasons(d) == {"a.py": "fifo", "b.py": "fifo"})
        assert d.call("daemon.health")["status"] == "ok"
        settled_status(d)
        assert error_of(d, "index.preview", {"path": "b.py"})[0] == "INVALID_PATH"
        # A regular file again: eligible again, and indexed.
        temp = tmp_path / "a.tmp"
        temp.write_text("def alpha_again() -> int:\n    return 3\n")
        os.replace(temp, root / "a.py")
        d.call("workspace.notify_changes", {"paths": ["a.py"]})
        assert [h["path"] for h in d.call("index.search", {"query": "alpha_again"})["hits"]] == [
            "a.py"
        ]
        assert skipped_reasons(d) == {"b.py": "fifo"}
        d.call("audit.end_run", {"run": run})
    finally:
        for name in ("a.py", "b.py"):
            release_readers(root / name)
    events = d.call("audit.list_events", {"run": run})["events"]
    titles = [e["title"] for e in events if e["type"] == "file_change"]
    assert "modified a.py (+0 -0)" in titles and "modified b.py (+0 -0)" in titles
    notes = {
        e["payload"]["path"]: e["payload"].get("note") for e in events if e["type"] == "file_change"
    }
    assert notes["b.py"] == "skipped: fifo"


def test_the_size_limit_is_a_workspace_setting(daemon_factory: Any, tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "mid.py").write_text("def middling() -> None:\n    pass\n" + "x = 1\n" * 2000)
    d: DaemonProcess = daemon_factory("--root", str(root))
    settled_status(d)
    assert d.call("index.search", {"query": "middling"})["hits"]
    d.call("settings.update", {"settings": {"max_file_bytes": 8192}})
    wait_for(lambda: "mid.py" in skipped_reasons(d))
    assert skipped_reasons(d)["mid.py"].startswith("over size limit (12033 bytes")
    wait_for(lambda: not d.call("index.search", {"query": "middling"})["hits"])
    d.call("settings.update", {"settings": {"max_file_bytes": 4 * 1024 * 1024}})
    wait_for(lambda: d.call("index.search", {"query": "middling"})["hits"])
    assert skipped_reasons(d) == {}
    assert error_of(d, "settings.update", {"settings": {"max_file_bytes": 10}})[0] == (
        "INVALID_PARAMS"
    )


def test_an_unreadable_file_is_listed(daemon_factory: Any, tmp_path: Path) -> None:
    wrapper: list[str] = []
    if os.geteuid() == 0:
        # Root reads every file: the daemon runs without CAP_DAC_OVERRIDE, as a user's would.
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: root reads any file")
        wrapper = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]
    root = tmp_path / "project"
    root.mkdir()
    (root / "ok.py").write_text(OK_PY)
    (root / "locked.py").write_text("def locked_fn() -> None:\n    pass\n")
    (root / "locked.py").chmod(0)
    d: DaemonProcess = daemon_factory("--root", str(root), wrapper=wrapper)
    status = settled_status(d)
    assert status["skipped"] == [{"path": "locked.py", "reason": "unreadable: permission denied"}]
    assert status["files"] == 1
    assert error_of(d, "index.preview", {"path": "locked.py"})[0] == "INVALID_PATH"
    (root / "locked.py").chmod(0o644)
    d.call("workspace.notify_changes", {"paths": ["locked.py"]})
    assert d.call("index.search", {"query": "locked_fn"})["hits"]
    assert skipped_reasons(d) == {}


def test_preview_never_serves_a_file_outside_the_root(daemon_factory: Any, tmp_path: Path) -> None:
    """Issue 16's preview race: a directory swapped for a symlink out of the root between
    the path check and the open."""
    root, outside = tmp_path / "project", tmp_path / "outside"
    (root / "pkg").mkdir(parents=True)
    (outside / "pkg").mkdir(parents=True)
    (root / "pkg" / "m.py").write_text("inside = 1\n")
    (outside / "pkg" / "m.py").write_text("OUTSIDE = 1\n")
    (root / "pkg_out").symlink_to(outside / "pkg")
    d: DaemonProcess = daemon_factory("--root", str(root))
    settled_status(d)
    stop = threading.Event()

    def swap() -> None:
        while not stop.is_set():
            os.rename(root / "pkg", root / "pkg_in")
            os.rename(root / "pkg_out", root / "pkg")
            os.rename(root / "pkg", root / "pkg_out")
            os.rename(root / "pkg_in", root / "pkg")

    swapper = threading.Thread(target=swap)
    swapper.start()
    seen: set[str] = set()
    try:
        client = d.client
        for _ in range(600):
            try:
                seen.add(client.call("index.preview", {"path": "pkg/m.py"})["text"])
            except RpcCallError as exc:
                seen.add(exc.code_name)
    finally:
        stop.set()
        swapper.join()
    assert "OUTSIDE = 1\n" not in seen
    assert "inside = 1\n" in seen


def test_preview_refuses_a_range_that_ends_before_it_starts(
    daemon_factory: Any, tmp_path: Path
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "a.py").write_text("one = 1\ntwo = 2\nthree = 3\n")
    d: DaemonProcess = daemon_factory("--root", str(root))
    with pytest.raises(RpcCallError) as info:
        d.call("index.preview", {"path": "a.py", "start_line": 3, "end_line": 2})
    assert info.value.code_name == "INVALID_PARAMS"
    [field] = info.value.error["data"]["errors"]
    assert "start_line 3 is after end_line 2" in field["msg"]
    same = d.call("index.preview", {"path": "a.py", "start_line": 2, "end_line": 2})
    assert same["text"] == "two = 2\n"
