"""`aegisd call` and `serve` as a new user meets them: distinct exit codes, hints, suggestions
for a typo, results cut to what a terminal can show, and paths relative to where one stands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from aegisd.cli_call import TERMINAL_LIMIT_BYTES, absolute_dirs, render, summarize
from tests.conftest import DaemonProcess, isolated_env, wait_for_socket


def cli(tmp: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aegisd", *args],
        capture_output=True,
        text=True,
        env=isolated_env(tmp),
        timeout=60,
        cwd=cwd or tmp,
    )


def test_usage_errors_exit_64_and_no_daemon_exits_2_with_a_hint(tmp_path: Path) -> None:
    nobody = str(tmp_path / "nobody.sock")
    bad_json = cli(tmp_path, "call", "daemon.health", "{nope", "--socket", nobody)
    assert bad_json.returncode == 64 and "not valid JSON" in bad_json.stderr
    assert cli(tmp_path, "call").returncode == 64  # METHOD missing
    assert cli(tmp_path, "call", "daemon.health", "--timeout", "soon").returncode == 64
    assert cli(tmp_path).returncode == 64
    gone = cli(tmp_path, "call", "daemon.health", "--socket", nobody)
    assert gone.returncode == 2
    assert "no aegisd answers" in gone.stderr and "aegisd serve" in gone.stderr
    helped = cli(tmp_path, "call", "--help")
    assert helped.returncode == 0
    assert "64  usage error" in helped.stdout and "2   no daemon answers" in helped.stdout
    assert "seconds to wait for the answer" in helped.stdout


def test_a_mistyped_method_gets_the_closest_names(daemon: DaemonProcess, tmp_path: Path) -> None:
    typo = cli(tmp_path, "call", "index.serch", '{"query": "x"}', "--socket", str(daemon.socket))
    assert typo.returncode == 1
    assert "did you mean index.search?" in typo.stderr
    error = json.loads(typo.stderr.split("\naegisd:")[0])
    assert error["data"]["code"] == "METHOD_NOT_FOUND"
    assert error["data"]["suggestions"][0] == "index.search"
    nothing = cli(tmp_path, "call", "zzzz.qqqq", "--socket", str(daemon.socket))
    assert nothing.returncode == 1 and "did you mean" not in nothing.stderr


def test_fields_and_summary_cut_a_large_result(daemon: DaemonProcess, tmp_path: Path) -> None:
    sock = str(daemon.socket)
    picked = cli(tmp_path, "call", "daemon.status", "--fields", "version,health.status,nope",
                 "--socket", sock)  # fmt: skip
    assert picked.returncode == 0, picked.stderr
    assert set(json.loads(picked.stdout)) == {"version", "health.status"}
    assert json.loads(picked.stdout)["health.status"] == "ok"
    shape = cli(tmp_path, "call", "rpc.discover", "--summary", "--socket", sock)
    summary = json.loads(shape.stdout)
    assert summary["methods"].startswith("<list: ") and "keys" in summary["methods"]
    whole = cli(tmp_path, "call", "rpc.discover", "--socket", sock)  # a pipe gets it all
    assert len(json.loads(whole.stdout)["methods"]) > 30


def test_a_huge_result_is_summarized_on_a_terminal_only() -> None:
    result = {"issues": [{"path": f"f{n}.py", "line": n} for n in range(20_000)], "status": "ok"}
    text, note = render(result, None, summary=False, terminal=True)
    assert note is not None and "--full" in note
    assert len(text) < 1000 and json.loads(text)["status"] == "ok"
    assert json.loads(text)["issues"].startswith("<list: 20000 items")
    text, note = render(result, None, summary=False, terminal=False)
    assert note is None and len(text) > TERMINAL_LIMIT_BYTES
    assert summarize("x" * 500).endswith("<500 characters>")


def test_relative_directories_are_the_callers(tmp_path: Path) -> None:
    assert absolute_dirs("workspace.open", {"root": "."}, cwd="/home/u/p") == {"root": "/home/u/p"}
    assert absolute_dirs("index.file", {"workspace": "../q", "path": "a.py"}, cwd="/home/u/p") == {
        "workspace": "/home/u/q",
        "path": "a.py",  # relative to the workspace root, not to the caller
    }
    assert absolute_dirs("index.file", {"workspace": "3f2a9c1e0b7d"}) == {
        "workspace": "3f2a9c1e0b7d"  # an id
    }


def test_serve_root_dot_and_open_relative(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    (project / "a.py").write_text("def f():\n    return 1\n")
    sock = tmp_path / "run" / "aegisd.sock"
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "aegisd", "serve", "--root", ".", "--socket", str(sock),
         "--data-dir", str(tmp_path / "state")],
        cwd=project, env=isolated_env(tmp_path), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    d = DaemonProcess(proc, sock, tmp_path / "state", tmp_path / "serve.log")
    try:
        wait_for_socket(sock, proc)
        roots = [w["root"] for w in d.call("workspace.list")["workspaces"]]
        assert roots == [str(project)]
        opened = cli(tmp_path, "call", "workspace.open", '{"root": "sub"}', "--socket", str(sock),
                     cwd=project)  # fmt: skip
        assert opened.returncode == 0, opened.stderr
        assert json.loads(opened.stdout)["workspace"]["root"] == str(project / "sub")
        listed = cli(tmp_path, "call", "settings.get", '{"workspace": "."}', "--socket",
                     str(sock), cwd=project)  # fmt: skip
        assert listed.returncode == 0, listed.stderr
        # Over RPC the daemon cannot know the caller's directory: it refuses, saying why.
        _, answer, _ = d.post(json.dumps({"jsonrpc": "2.0", "method": "workspace.open",
                                          "params": {"root": "."}, "id": 1}))  # fmt: skip
        error: dict[str, Any] = answer["error"]
        assert error["data"]["code"] == "INVALID_PATH"
        assert (
            "absolute path" in error["message"] and "daemon's working directory" in error["message"]
        )
        assert error["data"]["daemon_cwd"] == str(project)
    finally:
        d.stop()
        log.close()
