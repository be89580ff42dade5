"""`aegisd mcp` through the SDK's own stdio client, against real daemons on a fixture workspace."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from jsonschema import Draft202012Validator
from mcp import ClientSession, StdioServerParameters, stdio_client

from aegisd.client import Client, DaemonUnavailable
from aegisd.mcp_tools import TOOLS
from aegisd.plugins import BUILTIN_PLUGINS
from tests.conftest import TESTS, DaemonProcess, isolated_env
from tests.plugins.git.repos import ADA, LINUS, commit, git

FIXTURE = TESTS / "fixtures" / "mcp" / "project"
CODEMAP_TOOLS = [
    "search_symbols",
    "file_outline",
    "read_file",
    "file_dependents",
    "import_cycles",
    "changes_since",
    "find_references",
    "call_graph",
]
AUDIT_TOOLS = ["audit_start", "audit_log", "audit_end"]
# Arguments for the tools of plugins that may or may not be wired in yet.
OTHER_CALLS: dict[str, dict[str, Any]] = {
    "lint": {"path": "pkg/app.py"},
    "find_duplicates": {"path": "pkg/config.py"},
    "insights": {},
    "git_history": {"path": "pkg/app.py"},
}
STANDIN_AREAS = ("aegisd_lint", "aegisd_similarity", "aegisd_insights", "aegisd_audit")
FRESH = re.compile(r"\[clock \d+, fresh\]")
TOKEN_TARGET = 4000
# (readOnlyHint, destructiveHint, idempotentHint) of each tool; none reaches an open world
HINTS = {
    **dict.fromkeys(
        [*CODEMAP_TOOLS, "find_duplicates", "insights", "git_history"], (True, False, True)
    ),
    "lint": (False, False, True),  # run=true runs the linters (a trusted workspace's tests)
    "audit_start": (False, False, True),  # resumes the session's run when called again
    "audit_log": (False, False, False),
    "audit_end": (False, False, True),
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    git(root, "init", "-q", "-b", "main")  # a repository, for git_history
    commit(root, "The project", ADA)
    return root


@asynccontextmanager
async def mcp_session(
    tmp_path: Path, socket: Path, cwd: Path, env: dict[str, str]
) -> AsyncIterator[ClientSession]:
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "aegisd", "mcp", "--socket", str(socket)],
        cwd=cwd,
        env=env,
    )
    with (tmp_path / "mcp-stderr.log").open("a") as errlog:
        async with (
            stdio_client(server, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            yield session


def session_for(d: DaemonProcess, tmp_path: Path, cwd: Path) -> Any:
    """An MCP session on `d`'s socket; a daemon it restarts gets `d`'s plugins and state dir."""
    return mcp_session(tmp_path, d.socket, cwd, {**d.env, "AEGISD_DATA_DIR": str(d.data_dir)})


def wait_indexed(socket: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        status = Client(socket).call("index.status")
        if status["ready"] and not status["pending"]:
            return
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


def shut_down(socket: Path) -> None:
    """Stop a daemon the MCP server started (not our child) and wait until its socket is gone."""
    try:
        Client(socket).call("daemon.shutdown")
    except DaemonUnavailable:
        return
    deadline = time.monotonic() + 30
    while socket.exists():
        assert time.monotonic() < deadline, "daemon did not stop"
        time.sleep(0.05)


def text(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


async def call_ok(session: ClientSession, tool: str, args: dict[str, Any]) -> Any:
    result = await session.call_tool(tool, args)
    assert not result.is_error, text(result)
    return result


async def call_error(session: ClientSession, tool: str, args: dict[str, Any], code: str) -> str:
    result = await session.call_tool(tool, args)
    assert result.is_error
    assert result.structured_content["error"]["code"] == code, text(result)
    assert text(result).startswith(f"{code}: ")
    return text(result)


def check_tools(listed: types.ListToolsResult, methods: set[str]) -> int:
    """Schemas valid and self-contained, the right tools lit up; returns the size in tokens."""
    expected = [spec.name for spec in TOOLS if spec.method in methods]
    assert [t.name for t in listed.tools] == expected
    assert len(listed.tools) <= 15
    for tool in listed.tools:
        Draft202012Validator.check_schema(tool.input_schema)
        assert "$ref" not in json.dumps(tool.input_schema), tool.name
        assert tool.input_schema["additionalProperties"] is False
        assert tool.description and len(tool.description) > 40
        hints = tool.annotations
        assert tool.title and hints is not None and hints.title == tool.title, tool.name
        assert (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint) == (
            HINTS[tool.name]
        ), tool.name
        assert hints.open_world_hint is False, tool.name
    return len(listed.model_dump_json(by_alias=True, exclude_none=True)) // 4


async def test_tools_every_call_and_errors(
    daemon_factory: Any, project: Path, tmp_path: Path
) -> None:
    d: DaemonProcess = daemon_factory("--root", str(project))
    methods = {m["name"] for m in d.call("rpc.discover")["methods"]}
    wait_indexed(d.socket)
    async with session_for(d, tmp_path, project) as s:
        listed = await s.list_tools()
        tokens = check_tools(listed, methods)
        print(f"\ntools/list with the built-in plugins: {len(listed.tools)} tools, {tokens} tokens")
        assert set(CODEMAP_TOOLS) <= {t.name for t in listed.tools}
        assert tokens <= TOKEN_TARGET

        found = await call_ok(s, "search_symbols", {"query": "parse_config"})
        hit = found.structured_content["hits"][0]
        assert (hit["path"], hit["line"], hit["kind"]) == ("pkg/config.py", 6, "function")
        lines = text(found).splitlines()
        assert FRESH.search(lines[0]) and lines[0].startswith("1 symbols match 'parse_config'")
        assert lines[1] == (
            "pkg/config.py:6-9 function parse_config(text: str) -> dict[str, str] (2 refs)"
        )
        assert hit["references"] == 2

        refs = await call_ok(s, "find_references", {"name": "parse_config"})
        assert [(r["path"], r["line"]) for r in refs.structured_content["references"]] == [
            ("pkg/config.py", 13),
            ("pkg/loader.py", 12),
        ]
        assert text(refs).splitlines()[1:] == [
            "pkg/config.py:13:12 call  return parse_config(loader.read_text(path))",
            'pkg/loader.py:12:19 call  return config.parse_config("debug = false")',
        ]
        graph = await call_ok(s, "call_graph", {"name": "load", "depth": 2})
        assert text(graph).splitlines()[1:3] == [
            "pkg/config.py:load -> pkg/config.py:parse_config (line 13, function)",
            "pkg/config.py:load -> pkg/loader.py:read_text (line 13, function)",
        ]
        callers = await call_ok(s, "call_graph", {"name": "load", "direction": "callers"})
        assert [(e["source"], e["line"]) for e in callers.structured_content["edges"]] == [
            ("pkg/app.py:App.__init__", 6)
        ]

        outline = await call_ok(s, "file_outline", {"path": "pkg/app.py"})
        assert outline.structured_content["outline"][0]["qualname"] == "App"
        assert text(outline).splitlines()[1:] == [
            "4-9 class App",
            "  5-6 method __init__(self, path: str) -> None",
            "  8-9 method run(self) -> str",
        ]

        read = await call_ok(s, "read_file", {"path": "pkg/loader.py", "start_line": 6})
        assert read.structured_content["text"].startswith("def read_text(path: str) -> str:\n")
        assert text(read).splitlines()[1] == "     6\tdef read_text(path: str) -> str:"

        deps = await call_ok(s, "file_dependents", {"path": "pkg/config.py"})
        assert deps.structured_content["dependents"] == ["pkg/app.py", "pkg/loader.py"]

        cycles = await call_ok(s, "import_cycles", {})
        assert set(cycles.structured_content) == {"cycles", "cycle_paths", "clock", "pending"}
        assert [sorted(c) for c in cycles.structured_content["cycles"]] == [
            ["pkg/config.py", "pkg/loader.py"]
        ]
        assert text(cycles).splitlines()[1] == "pkg/config.py:3 -> pkg/loader.py:3 -> pkg/config.py"

        start = await call_ok(s, "changes_since", {})
        assert {c["path"] for c in start.structured_content["changes"]} == {
            "pkg/__init__.py",
            "pkg/app.py",
            "pkg/config.py",
            "pkg/loader.py",
        }
        cursor = start.structured_content["cursor"]
        (project / "pkg" / "app.py").write_text("APP = 1\n")
        deadline = time.monotonic() + 30
        while True:
            later = await call_ok(s, "changes_since", {"since": cursor})
            if later.structured_content["changes"]:
                break
            assert time.monotonic() < deadline
        assert later.structured_content["changes"] == [{"path": "pkg/app.py", "kind": "modified"}]
        assert "modified pkg/app.py" in text(later)

        # Another workspace named in the call is opened for it; `/` never is.
        other = tmp_path / "other"
        other.mkdir()
        (other / "notes.txt").write_text("hello\n")
        named = await call_ok(s, "read_file", {"path": "notes.txt", "workspace": str(other)})
        assert named.structured_content["text"] == "hello\n"
        assert "workspace not open: /" in await call_error(
            s, "read_file", {"path": "etc/hostname", "workspace": "/"}, "NOT_FOUND"
        )

        # Errors are results, with the code name, and the session goes on.
        await call_error(s, "read_file", {"path": "nope.py"}, "NOT_FOUND")
        await call_error(s, "read_file", {"path": "../other/notes.txt"}, "INVALID_PATH")
        invalid = await call_error(
            s, "search_symbols", {"query": "x", "limit": 0}, "INVALID_PARAMS"
        )
        assert "- limit: Input should be greater than or equal to 1" in invalid
        unknown = await call_error(s, "search_symbols", {"query": "x", "limt": 5}, "INVALID_PARAMS")
        assert "unknown argument limt" in unknown
        await call_error(s, "no_such_tool", {}, "METHOD_NOT_FOUND")

        lit = [t.name for t in listed.tools]
        assert set(lit) <= {*CODEMAP_TOOLS, *AUDIT_TOOLS, *OTHER_CALLS}
        for name in set(lit) & set(OTHER_CALLS):
            other_result = await call_ok(s, name, OTHER_CALLS[name])
            assert "clock" in other_result.structured_content
            if name == "lint":  # the real lint plugin's report, rendered issue by issue
                assert re.match(
                    r"lint (pass|warn|fail|skipped|error): \d+ issues", text(other_result)
                )
        if "audit_start" in lit:
            await check_audit_trail(s, d)
        await check_git_history(s, project)
    assert d.stop() == 0  # a graceful stop: the daemon takes its worker processes along


async def check_audit_trail(s: ClientSession, d: DaemonProcess) -> None:
    """With the audit plugin: a run started through MCP records the session's tool calls."""
    started = await call_ok(s, "audit_start", {"name": "mcp e2e"})
    run = started.structured_content["id"]
    assert text(started).startswith(f"audit run {run} 'mcp e2e': open")
    await call_ok(s, "search_symbols", {"query": "App"})
    logged = await call_ok(s, "audit_log", {"type": "note", "title": "looked around"})
    assert text(logged).endswith(f"in run {run}: note 'looked around'")
    ended = await call_ok(s, "audit_end", {})
    assert ended.structured_content["status"] == "closed"
    trail = events(d, run)
    calls = [e for e in trail if e["type"] == "tool_call"]
    assert [(e["payload"]["tool"], e["status"]) for e in calls] == [("search_symbols", "ok")]
    assert calls[0]["title"] == "search_symbols query='App'"
    assert [e["title"] for e in trail if e["type"] == "note"] == ["looked around"]


async def check_git_history(s: ClientSession, project: Path) -> None:
    """git_history: a file's history, a blame of a range, and the log with a filter."""
    first = git(project, "rev-parse", "HEAD").strip()
    app = project / "pkg" / "app.py"
    app.write_text(app.read_text() + "# tuned by Linus\n")
    second = commit(project, "Tune the app", LINUS)
    lines = len(app.read_text().splitlines())
    found = await call_ok(s, "git_history", {"path": "pkg/app.py", "limit": 10})
    hashes = [c["hash"] for c in found.structured_content["commits"]]
    assert hashes in ([second, first], [first])  # HEAD as last seen: the commit may be new
    blamed = await call_ok(s, "git_history", {"path": "pkg/app.py", "rev": second,
                                              "start_line": lines, "end_line": lines})  # fmt: skip
    [last] = blamed.structured_content["lines"]
    author = blamed.structured_content["commits"][second]["author"]
    assert (last["commit"], author, last["text"]) == (second, "Linus Torvalds",
                                                      "# tuned by Linus")  # fmt: skip
    assert text(blamed).splitlines()[1] == (
        f"{lines} {second[:8]} Linus Torvalds 2024-02-03 | # tuned by Linus")  # fmt: skip
    logged = await call_ok(s, "git_history", {"rev": second, "author": "linus"})
    assert [c["hash"] for c in logged.structured_content["commits"]] == [second]
    assert "Linus Torvalds: Tune the app" in text(logged)
    added, removed, _ = git(project, "show", "--format=", "--numstat", second).split("\t")
    assert f"  M pkg/app.py +{added} -{removed}" in text(logged)
    await call_error(s, "git_history", {"start_line": 1}, "INVALID_PARAMS")
    await call_error(s, "git_history", {"rev": "--output=x"}, "INVALID_PARAMS")


def descendants(pid: int) -> list[int]:
    """`pid`'s child processes and theirs (Linux /proc), to clean up after a `kill -9`."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        for child in (task / "children").read_text().split():
            found += [int(child), *descendants(int(child))]
    return found


async def test_daemon_killed_between_calls(
    daemon_factory: Any, project: Path, tmp_path: Path
) -> None:
    d: DaemonProcess = daemon_factory("--root", str(project))
    orphans: list[int] = []
    try:
        async with session_for(d, tmp_path, project) as s:
            args = {"path": "pkg/app.py", "end_line": 1}
            before = await call_ok(s, "read_file", args)
            orphans = descendants(d.proc.pid)  # its worker processes outlive a kill -9
            d.stop(signal.SIGKILL)
            gone = await call_error(s, "read_file", args, "UNAVAILABLE")
            assert "is not answering" in gone and "The next call reconnects" in gone
            after = await call_ok(s, "read_file", args)
            assert after.structured_content["text"] == before.structured_content["text"]
            assert Client(d.socket).call("daemon.health")["pid"] != d.proc.pid
    finally:
        shut_down(d.socket)
        for pid in orphans:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


async def test_starts_a_daemon_that_outlives_it(project: Path, tmp_path: Path) -> None:
    socket = tmp_path / "run" / "aegisd.sock"
    with pytest.raises(DaemonUnavailable):
        Client(socket).call("daemon.health")
    env = isolated_env(tmp_path, AEGISD_DATA_DIR=str(tmp_path / "state"))
    try:
        async with mcp_session(tmp_path, socket, project, env) as s:
            listed = await s.list_tools()
            assert [t.name for t in listed.tools][:3] == CODEMAP_TOOLS[:3]
            read = await call_ok(s, "read_file", {"path": "pkg/__init__.py"})
            assert read.structured_content["total_lines"] == 0
        [opened] = Client(socket).call("workspace.list")["workspaces"]
        assert opened["root"] == str(project.resolve())
        assert opened["trusted"] is False  # opening the agent's directory does not trust it
        assert (tmp_path / "state" / "daemon.log").exists()
    finally:
        shut_down(socket)


def standin_daemon(daemon_factory: Any, project: Path) -> DaemonProcess:
    """A daemon where every tool lights up: the unwired plugins replaced by stand-ins."""
    env = {"AEGISD_PLUGINS__EXTRA": "aegisd_mcp_standins"}
    real = [p for p in BUILTIN_PLUGINS if p.split(".")[0] in STANDIN_AREAS]
    if real:
        env["AEGISD_PLUGINS__DISABLED"] = ",".join(real)
    return daemon_factory("--root", str(project), env=env)  # type: ignore[no-any-return]


def events(d: DaemonProcess, run: int) -> list[dict[str, Any]]:
    return d.call("audit.list_events", {"run": run})["events"]  # type: ignore[no-any-return]


async def test_all_tools_and_audit_trail(
    daemon_factory: Any, project: Path, tmp_path: Path
) -> None:
    d = standin_daemon(daemon_factory, project)
    methods = {m["name"] for m in d.call("rpc.discover")["methods"]}
    # An agent's hook bridge opened a run for its session in this workspace.
    hook_run = d.call("audit.start_run", {"name": "session", "external_id": "claude-code:1"})["id"]
    async with session_for(d, tmp_path, project) as s:
        listed = await s.list_tools()
        tokens = check_tools(listed, methods)
        print(f"\ntools/list with every tool: {len(listed.tools)} tools, {tokens} tokens")
        assert len(listed.tools) == 15 and tokens <= TOKEN_TARGET
        lint_schema = next(t for t in listed.tools if t.name == "lint").input_schema
        assert lint_schema["properties"]["run"]["type"] == "boolean"
        log_schema = next(t for t in listed.tools if t.name == "audit_log").input_schema
        assert log_schema["required"] == ["type", "title"]

        await call_ok(s, "read_file", {"path": "pkg/__init__.py"})
        [first] = events(d, hook_run)
        assert (first["type"], first["status"]) == ("tool_call", "ok")
        assert first["payload"]["tool"] == "read_file"
        assert first["payload"]["arguments"] == {"path": "pkg/__init__.py"}

        started = await call_ok(s, "audit_start", {"name": "refactor config"})
        run = started.structured_content["id"]
        assert run != hook_run and started.structured_content["external_id"].startswith("mcp:")
        lint = await call_ok(s, "lint", {"path": "pkg/app.py", "run": True})
        assert lint.structured_content["runs"] == [{"tools": None, "paths": ["pkg/app.py"]}]
        assert lint.structured_content["issues"][0]["code"] == "F401"
        assert text(lint).startswith("result [clock ")
        dup = await call_ok(s, "find_duplicates", {"code": "def parse_config(t): ..." * 40})
        assert dup.structured_content["clones"][0]["path"] == "pkg/config.py"
        found = await call_ok(s, "insights", {})
        assert found.structured_content["insights"][0]["kind"] == "import_cycle"
        await call_error(s, "read_file", {"path": "nope.py"}, "NOT_FOUND")
        await call_ok(s, "audit_log", {"type": "note", "title": "config checked"})
        await call_ok(s, "audit_end", {})
        await call_error(s, "audit_log", {"type": "note", "title": "late"}, "NOT_FOUND")

        trail = events(d, run)
        assert [(e["type"], e["payload"] and e["payload"]["tool"]) for e in trail] == [
            ("tool_call", "lint"),
            ("tool_call", "find_duplicates"),
            ("tool_call", "insights"),
            ("tool_call", "read_file"),
            ("note", None),
        ]
        assert trail[0]["title"] == "lint path='pkg/app.py' run=True"
        assert trail[1]["payload"]["arguments"]["code"].endswith("[960 chars]")
        assert (trail[3]["status"], trail[3]["payload"]["error"]) == ("error", "NOT_FOUND")
        assert all(isinstance(e["payload"]["duration_ms"], int) for e in trail[:4])

        # With its own run closed, calls go to the newest open run of the workspace again.
        await call_ok(s, "changes_since", {})
        assert [e["payload"]["tool"] for e in events(d, hook_run)] == ["read_file", "changes_since"]
    assert d.stop() == 0


async def test_a_file_name_that_is_not_utf8_is_shown_and_taken_back(
    daemon_factory: Any, tmp_path: Path
) -> None:
    project = tmp_path / "latin1"
    project.mkdir()
    name = os.fsdecode(b"caf\xe9.py")  # Latin-1 bytes: not UTF-8
    (project / name).write_text("def bonjour():\n    return 1\n")
    (project / "main.py").write_text("def main():\n    return 2\n")
    d: DaemonProcess = daemon_factory("--root", str(project))
    wait_indexed(d.socket)
    async with session_for(d, tmp_path, project) as s:
        found = await call_ok(s, "search_symbols", {"query": "bonjour"})
        assert found.structured_content["hits"][0]["path"] == "caf\\xe9.py"
        assert "caf\\xe9.py:1-2 function bonjour" in text(found)
        # The name as shown is the file's name as a tool argument.
        outline = await call_ok(s, "file_outline", {"path": "caf\\xe9.py"})
        assert outline.structured_content["path"] == "caf\\xe9.py"
        assert [sym["name"] for sym in outline.structured_content["outline"]] == ["bonjour"]
        read = await call_ok(s, "read_file", {"path": "caf\\xe9.py"})
        assert "def bonjour" in text(read)
        # An error naming such a file is an answer too, not a failed response.
        missing = await call_error(s, "read_file", {"path": "gon\\xe9.py"}, "NOT_FOUND")
        assert "gon\\xe9.py" in missing
