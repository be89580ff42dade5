"""Linters benchmark on a generated 2,000-file Python project.

Prints, from one run:
- a full `lint.run` (cold: no stored results, empty mypy cache) vs running the same tools
  directly on the same project in the same run, one after the other (target ≤ 1.15x); all of
  them started at once is shown too, for reference: the daemon runs at most `lint.max_heavy`
  (default 1, see `--max-heavy`) of mypy and pytest at a time;
- after a one-file edit, the time until `lint.updated` brings ruff's result for it, vs ruff run
  directly on that one file (target ≤ 2x); the edit is reported with `workspace.notify_changes`
  as an editor would, and, for reference, left to the watcher (which waits for its debounce);
- a second `lint.run` with nothing changed (target: no tool started).

The daemon opens the empty project folder with `lint.auto` off before the files are generated,
so the full run is the `lint.run` itself; the code map finishes indexing before it starts. The
workspace is trusted and given this interpreter (`lint.python`), as pytest runs only then.

    python bench/lint.py [--files 2000] [--edits 10] [--max-heavy 1]

Prints a table and a verdict per target; always exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from _common import REPO, daemon_command, isolated_env, server_process

sys.path[:0] = [str(REPO), str(REPO / "plugins")]

from aegisd_lint.bandit import Bandit  # noqa: E402
from aegisd_lint.discovery import find_command, missing_reason, workspace_env  # noqa: E402
from aegisd_lint.mypy import Mypy  # noqa: E402
from aegisd_lint.pytest import Pytest  # noqa: E402
from aegisd_lint.ruff import Ruff  # noqa: E402
from aegisd_lint.tool import CommandTool  # noqa: E402

FULL_TARGET = 1.15
EDIT_TARGET = 2.0
BASE_URL = "http://localhost"
PACKAGES = 20
TESTS_SHARE = 10  # one file in ten is a test module
RUN_TIMEOUT_S = 1800.0


# --- the project ------------------------------------------------------------------------------


def module_source(package: int, index: int) -> str:
    """A typed module importing two earlier siblings, with a few findings for each tool."""
    lines = ['"""Generated module."""', "", "import subprocess", ""]
    for earlier in (index - 1, index // 2):
        if 0 <= earlier < index:
            lines.append(f"from pkg{package}.mod{earlier} import value{earlier}")
    if index % 7 == 0:
        lines.append("import os  # unused: ruff F401")
    lines += ["", ""]
    lines += [f"def value{index}(x: int) -> int:", f"    return x + {index}", "", ""]
    for n in range(8):
        lines += [
            f"def helper_{n}(items: list[int]) -> int:",
            "    total = 0",
            "    for item in items:",
            "        if item % 2:",
            f"            total += item * {n}",
            "    return total",
            "",
            "",
        ]
    if index % 11 == 0:
        lines += ["def wrong() -> str:", "    return 1  # mypy return-value", "", ""]
    lines += [
        "def run(command: str) -> int:",
        "    return subprocess.call(command, shell=True)  # bandit B602",
        "",
    ]
    return "\n".join(lines)


def test_source(package: int, index: int) -> str:
    return "\n".join(
        [
            f"from pkg{package}.mod{index} import helper_1, value{index}",
            "",
            "",
            "def test_value() -> None:",
            f"    assert value{index}(1) == {index + 1}",
            "",
            "",
            "def test_helper() -> None:",
            "    assert helper_1([1, 2, 3]) == 4",
            "",
        ]
    )


def generate(root: Path, files: int) -> list[str]:
    """Write the project; returns the module paths (relative)."""
    per_package = files // PACKAGES
    tests_per_package = per_package // TESTS_SHARE
    modules_per_package = per_package - tests_per_package - 1  # and an __init__.py
    (root / "pyproject.toml").write_text(
        "[tool.ruff]\nline-length = 100\n\n[tool.mypy]\npython_version = '3.11'\n\n"
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\npythonpath = ["."]\n'
    )
    modules = []
    for package in range(PACKAGES):
        folder = root / f"pkg{package}"
        folder.mkdir()
        (folder / "__init__.py").write_text("")
        for index in range(modules_per_package):
            (folder / f"mod{index}.py").write_text(module_source(package, index))
            modules.append(f"pkg{package}/mod{index}.py")
        tests = root / "tests" / f"pkg{package}"
        tests.mkdir(parents=True)
        for index in range(tests_per_package):
            # unique module names: the test folders are not packages
            (tests / f"test_pkg{package}_mod{index}.py").write_text(test_source(package, index))
    return modules


# --- the tools run directly -------------------------------------------------------------------


Commands = dict[str, tuple[str, ...]]


def find_tools(root: Path) -> tuple[Commands, list[str]]:
    """Each tool's command found as the daemon finds it for the bench's workspace (trusted,
    `lint.python` this interpreter): its virtualenv, then PATH, pytest only as `python -m`
    with that interpreter. Also why each missing one is missing."""
    env = workspace_env(root, True, sys.executable)
    found: Commands = {}
    missing = []
    tools: list[CommandTool] = [Ruff(), Bandit(), Mypy(), Pytest()]
    for tool in tools:
        command = find_command(tool, env)
        if command is None:
            missing.append(f"{tool.name}: {missing_reason(tool, env)}")
        else:
            found[tool.name] = command
    return found, missing


def direct_commands(tools: Commands, scratch: Path) -> dict[str, list[str]]:
    """What a developer would run on the whole project, with machine-readable output."""
    return {
        "ruff": [*tools["ruff"], "check", "--output-format", "json-lines", "--no-cache", "."],
        "bandit": [*tools["bandit"], "-f", "json", "-q", "-r", "."],
        "mypy": [
            *tools["mypy"], "-O", "json", "--no-error-summary", "--cache-dir",
            str(scratch / "mypy"), ".",
        ],
        "pytest": [
            *tools["pytest"], "-q", "-p", "no:cacheprovider",
            f"--junitxml={scratch / 'junit.xml'}",
        ],
    }  # fmt: skip


def count_lines(root: Path) -> int:
    """The max_file_length rule done directly: count every file's lines."""
    return sum(path.read_bytes().count(b"\n") for path in root.rglob("*.py"))


def run_direct(root: Path, tools: Commands, scratch: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    times: dict[str, float] = {}
    for tool, argv in direct_commands(tools, scratch).items():
        started = time.perf_counter()
        subprocess.run(argv, cwd=root, env=env, capture_output=True, check=False)
        times[tool] = time.perf_counter() - started
    started = time.perf_counter()
    count_lines(root)
    times["max_file_length"] = time.perf_counter() - started
    return times


async def run_direct_together(root: Path, tools: Commands, scratch: Path) -> float:
    """The same commands all started at once (a fresh mypy cache); the wall time."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    started = time.perf_counter()

    async def one(argv: list[str]) -> None:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=root,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        await proc.communicate()

    commands = direct_commands(tools, scratch).values()
    await asyncio.gather(*(one(argv) for argv in commands), asyncio.to_thread(count_lines, root))
    return time.perf_counter() - started


def ruff_one_file(root: Path, ruff: tuple[str, ...], rel: str) -> float:
    argv = [*ruff, "check", "--output-format", "json-lines", "--no-cache", rel]
    started = time.perf_counter()
    subprocess.run(argv, cwd=root, capture_output=True, check=False)
    return time.perf_counter() - started


# --- the daemon -------------------------------------------------------------------------------


class Daemon:
    """JSON-RPC over one WebSocket, and the `lint.updated` notifications it pushes."""

    def __init__(self, session: aiohttp.ClientSession, ws: Any) -> None:
        self._session = session
        self._ws = ws
        self._ids = 0
        self._calls: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.updates: asyncio.Queue[tuple[float, dict[str, Any]]] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, sock: Path) -> Daemon:
        session = aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=str(sock)))
        ws = await session.ws_connect(f"{BASE_URL}/rpc/ws", max_msg_size=0)
        daemon = cls(session, ws)
        await daemon.call("events.subscribe", {"topics": ["lint.updated"]})
        return daemon

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        self._ids += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._calls[self._ids] = future
        message = {"jsonrpc": "2.0", "method": method, "params": params or {}, "id": self._ids}
        await self._ws.send_str(json.dumps(message))
        answer = await asyncio.wait_for(future, RUN_TIMEOUT_S)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]

    async def _read(self) -> None:
        async for message in self._ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            if data.get("method") == "lint.updated":
                self.updates.put_nowait((time.perf_counter(), data["params"]))
            elif (future := self._calls.pop(data.get("id"), None)) is not None:
                future.set_result(data)

    async def until_quiet(self, files: int = 0) -> None:
        """Wait until the workspace is not pending and the code map is ready (with `files`
        files indexed, at least)."""
        while True:
            status = await self.call("index.status")
            if status["ready"] and not status["pending"] and status["files"] >= files:
                return
            await asyncio.sleep(0.1)

    async def next_update(self, run_after: int, tool: str | None) -> tuple[float, dict[str, Any]]:
        """The first `lint.updated` of a run after `run_after` for `tool` (None: the run's end)."""
        while True:
            at, params = await asyncio.wait_for(self.updates.get(), 120)
            if params["run"] > run_after and (
                params["tool"] == tool if tool is not None else params["done"]
            ):
                return at, params

    async def close(self) -> None:
        await self._ws.close()
        await self._session.close()
        self._reader.cancel()


async def measure_daemon(
    root: Path, files: int, edits: int, max_heavy: int, tmp: Path
) -> dict[str, Any]:
    sock = tmp / "run" / "aegisd.sock"
    log = tmp / "daemon.log"
    cmd = daemon_command(sock, tmp / "state")
    out: dict[str, Any] = {}
    with server_process(cmd, sock, log, isolated_env(tmp)):
        daemon = await Daemon.connect(sock)
        try:
            await daemon.call("workspace.open", {"root": str(root)})
            lint = {"auto": False, "max_heavy": max_heavy, "python": sys.executable}
            await daemon.call("settings.update", {"settings": {"lint": lint}})
            # trusted (once `auto` is off: no pass starts), with the interpreter the direct
            # runs use: pytest runs only then
            await daemon.call("workspace.trust", {"workspace": str(root)})
            out["modules"] = generate(root, files)
            # reported at once, as an editor would, rather than waiting for the watcher's
            # second look at the new directories
            written = sorted(path.relative_to(root).as_posix() for path in root.rglob("*.py"))
            await daemon.call("workspace.notify_changes", {"paths": written})
            await daemon.until_quiet(len(written))
            started = time.perf_counter()
            full = await daemon.call("lint.run")
            out["full_s"] = time.perf_counter() - started
            out["full_run"] = full["run"]
            out["issues"] = full["summary"]["issues"]
            await daemon.call("settings.update", {"settings": {"lint": {"auto": True}}})
            out["notify"] = await edit_loop(daemon, root, out["modules"], edits, notify=True)
            out["watch"] = await edit_loop(daemon, root, out["modules"], edits, notify=False)
            await daemon.until_quiet()
            started = time.perf_counter()
            second = await daemon.call("lint.run")
            out["second_s"] = time.perf_counter() - started
            out["second_run"] = second["run"]
        finally:
            await daemon.close()
    return out


async def edit_loop(
    daemon: Daemon, root: Path, modules: list[str], edits: int, notify: bool
) -> list[tuple[float, float, str]]:
    """(seconds to ruff's update, seconds to the run's end, path) per edit."""
    timings = []
    for number in range(edits):
        rel = modules[(number * 37 + (0 if notify else 11)) % len(modules)]
        last = (await daemon.call("lint.history", {"limit": 1}))["runs"][0]["id"]
        path = root / rel
        text = path.read_text() + f"\nEDITED_{number}_{int(notify)} = {number}\n"
        temp = root.parent / "edit.tmp"
        temp.write_text(text)
        started = time.perf_counter()
        os.replace(temp, path)
        if notify:
            await daemon.call("workspace.notify_changes", {"paths": [rel]})
        ruff_at, _ = await daemon.next_update(last, "ruff")
        done_at, _ = await daemon.next_update(last, None)
        timings.append((ruff_at - started, done_at - started, rel))
        await daemon.until_quiet()
    return timings


# --- report -----------------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--edits", type=int, default=10)
    parser.add_argument("--max-heavy", type=int, default=1, help="the daemon's lint.max_heavy")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="aegisd-bench-lint-"))
    try:
        direct_root = tmp / "direct" / "project"
        direct_root.mkdir(parents=True)
        tools, missing = find_tools(direct_root)
        if missing:
            # the daemon would skip these tools: there is nothing to compare
            print("aegisd lint benchmark: not run; tools the daemon would not find:")
            for reason in missing:
                print(f"  {reason}")
            print("(a tool is looked for in the workspace's virtualenv, then on PATH)")
            return
        generate(direct_root, args.files)
        total_files = sum(1 for _ in direct_root.rglob("*.py"))
        direct = run_direct(direct_root, tools, tmp / "direct")
        together = asyncio.run(run_direct_together(direct_root, tools, tmp / "together"))
        root = tmp / "daemon" / "project"
        root.mkdir(parents=True)
        measured = asyncio.run(measure_daemon(root, args.files, args.edits, args.max_heavy, tmp))
        ruff_single = [ruff_one_file(root, tools["ruff"], rel) for _, _, rel in measured["notify"]]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report(args, total_files, direct, together, measured, ruff_single)


def report(
    args: argparse.Namespace,
    total_files: int,
    direct: dict[str, float],
    together: float,
    measured: dict[str, Any],
    ruff_single: list[float],
) -> None:
    full_run = measured["full_run"]
    per_tool = {tool["tool"]: tool for tool in full_run["tools"]}
    direct_total = sum(direct.values())
    full_ratio = measured["full_s"] / direct_total
    together_ratio = measured["full_s"] / together
    ruff_median = statistics.median(ruff_single)
    notify = sorted(t[0] for t in measured["notify"])
    watch = sorted(t[0] for t in measured["watch"])
    notify_done = statistics.median(t[1] for t in measured["notify"])
    edit_ratio = statistics.median(notify) / ruff_median
    second = measured["second_run"]
    print(
        f"aegisd lint benchmark: {total_files} Python files, {args.edits} edits per mode, "
        f"lint.max_heavy {args.max_heavy}"
    )
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
    print(f"{'tool':<16}{'direct s':>10}{'in lint.run s':>15}{'files run':>11}")
    for tool in sorted(direct):
        ran = per_tool.get(tool, {})
        print(
            f"{tool:<16}{direct[tool]:>10.2f}{ran.get('duration_ms', 0) / 1000:>15.2f}"
            f"{ran.get('files_run', 0):>11}"
        )
    print(
        f"{'total':<16}{direct_total:>10.2f}{measured['full_s']:>15.2f}"
        f"{full_run['files_run']:>11}   (lint.run wall time; tools overlap)"
    )
    print(f"{'all at once':<16}{together:>10.2f}   (the direct commands started together)")  # fmt: skip
    print(f"issues found: {measured['issues']}\n")
    print(f"{'measure':<52}{'value':>12}{'target':>10}  verdict")
    rows = [
        ("full lint.run / tools run directly, one by one", f"{full_ratio:.2f}x",
         f"<= {FULL_TARGET}x", full_ratio <= FULL_TARGET),
        ("full lint.run / tools run directly, all at once", f"{together_ratio:.2f}x", "", None),
        ("edit -> ruff's lint.updated (notify), median", f"{statistics.median(notify) * 1000:.0f} ms",
         "", None),
        ("ruff on that one file directly, median", f"{ruff_median * 1000:.0f} ms", "", None),
        ("edit -> lint.updated / ruff on one file", f"{edit_ratio:.2f}x", f"<= {EDIT_TARGET}x",
         edit_ratio <= EDIT_TARGET),
        ("edit -> ruff's lint.updated (notify), max", f"{notify[-1] * 1000:.0f} ms", "", None),
        ("edit -> run done, all tools (notify), median", f"{notify_done * 1000:.0f} ms", "", None),
        ("edit -> ruff's lint.updated (watcher), median", f"{statistics.median(watch) * 1000:.0f} ms",
         "", None),
        ("second lint.run: tools started", str(second["tools_started"]), "0",
         second["tools_started"] == 0),
        ("second lint.run: cached files", str(second["cached_files"]), "", None),
        ("second lint.run: wall time", f"{measured['second_s'] * 1000:.0f} ms", "", None),
    ]  # fmt: skip
    for name, value, target, ok in rows:
        verdict = "" if ok is None else _verdict(ok)
        print(f"{name:<52}{value:>12}{target:>10}  {verdict}")
    print("edit -> ruff's lint.updated (notify), each, ms:", [round(t * 1000) for t in notify])
    print("ruff on the one file directly, each, ms:", sorted(round(t * 1000) for t in ruff_single))


if __name__ == "__main__":
    main()
