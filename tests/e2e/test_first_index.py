"""Answers while a workspace's first index runs: they wait for it (bounded) or say `pending`,
and never deny that a file on disk exists."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from aegisd.client import Client, RpcCallError
from tests.conftest import DaemonProcess

MODULES = 1500  # a few seconds of parsing here: the first calls land while it runs


def big_project(root: Path) -> None:
    """Packages of modules that import their neighbour; `pkg07/mod042.py` is the one asked
    about, imported by `pkg07/mod043.py`."""
    for n in range(MODULES):
        package = root / f"pkg{n // 100:02}"
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").touch()
        imports = f"from . import mod{n % 100 - 1:03}\n" if n % 100 else ""
        body = "".join(
            f"\n\ndef helper_{n}_{k}(value: int) -> int:\n    if value > {k}:\n"
            f"        return value - {k}\n    return value + {k}\n"
            for k in range(6)
        )
        (package / f"mod{n % 100:03}.py").write_text(
            f'"""Module {n}."""\n\n{imports}\n\nclass Widget{n}:\n    def draw(self) -> int:\n'
            f"        return {n}\n{body}"
        )


def test_calls_right_after_open_never_deny_files_on_disk(
    daemon_factory: Any, tmp_path: Path
) -> None:
    root = tmp_path / "big"
    big_project(root)
    empty = tmp_path / "empty"
    empty.mkdir()
    d: DaemonProcess = daemon_factory("--root", str(empty))
    ws = d.call("workspace.open", {"root": str(root)})["workspace"]["id"]

    def call(method: str, params: dict[str, Any] | None = None) -> Any:
        return d.call(method, {"workspace": ws, **(params or {})})

    def answer_or_unavailable(method: str, params: dict[str, Any]) -> Any:
        """The answer; UNAVAILABLE only if the first index outlasts the bounded wait."""
        try:
            return call(method, params)
        except RpcCallError as exc:
            assert exc.code_name == "UNAVAILABLE", (method, exc)
            return None

    outline = answer_or_unavailable("index.file", {"path": "pkg07/mod042.py"})
    if outline is not None:
        assert outline["outline"][0]["qualname"] == "Widget742"
        assert outline["metrics"]["symbols"] == 8
    lint = call("lint.report")
    assert lint["status"] != "skipped"
    if lint["status"] == "pending":
        assert lint["pending"] is True
    deps = answer_or_unavailable("graph.dependents", {"path": "pkg07/mod042.py"})
    if deps is not None and not deps["pending"]:
        assert deps["dependents"] == ["pkg07/mod043.py"]
    hits = call("index.search", {"query": "Widget1234"})
    assert hits["pending"] or [h["path"] for h in hits["hits"]] == ["pkg12/mod034.py"]
    tree = call("index.tree", {"depth": 1})
    assert tree["pending"] or tree["root"]["files"] == MODULES + 15
    deadline = time.monotonic() + 120
    while not (status := call("index.status"))["ready"]:
        assert time.monotonic() < deadline, status
        time.sleep(0.1)
    assert status["files"] == MODULES + 15
    # Once indexed, a file that is not there is NOT_FOUND again.
    with pytest.raises(RpcCallError) as info:
        call("index.file", {"path": "pkg07/nope.py"})
    assert info.value.code_name == "NOT_FOUND"


def test_other_plugins_answer_while_a_plugin_is_busy_with_its_first_batch(
    daemon_factory: Any, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "a.py").write_text("def a() -> int:\n    return 1\n")
    d = daemon_factory("--root", str(project), env={"AEGISD_PLUGINS__EXTRA": "aegisd_gate_plugin"})
    client = Client(d.socket, timeout=15)
    deadline = time.monotonic() + 30
    while client.call("gate.state")["batches"] == 0:  # it holds the workspace's first batch
        assert time.monotonic() < deadline, "the gate plugin never got the first batch"
        time.sleep(0.05)
    # Methods that do not need that batch answer now; those that do say `pending`.
    assert client.call("lint.history")["pending"] is True
    assert client.call("similarity.status")["pending"] is True
    assert client.call("plugins.list")["plugins"]
    assert client.call("gate.state") == {"batches": 1, "open": False}
    client.call("gate.open")
    while client.call("workspace.list")["workspaces"][0]["pending"]:
        assert time.monotonic() < deadline + 30, "still pending after the gate opened"
        time.sleep(0.05)
    assert client.call("index.search", {"query": "a"})["pending"] is False
