"""`aegisd lsp` benchmark: first diagnostics, workspace symbols and the server's own memory.

Prints, from one run:
- initialize → first diagnostics of an opened file on a warm daemon (its workspace linted
  already), median of `--rounds` fresh servers (target ≤ 300 ms), against ruff's own server
  (`ruff server`) on the same file in the same run, and their ratio;
- workspace/symbol p95 over `--queries` names on a copy of the standard library (target
  ≤ 30 ms), through the editor's path: client → aegisd lsp → daemon and back;
- RSS (and peak RSS) of the `aegisd lsp` process after those queries (target ≤ 40 MiB).
The diagnostics use the fixture project of the LSP tests (a ruff and a mypy finding); the
standard library is copied into a temporary folder, indexed by a daemon of its own with the lint,
similarity and insights plugins off (a first lint pass over it would measure the linters).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import REPO, Rpc, daemon_command, isolated_env, percentile, server_process
from index import copy_stdlib, rss_mib, wait_ready
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, client_capabilities

FIXTURE = REPO / "tests" / "fixtures" / "lsp" / "project"
FILE = Path("pkg") / "app.py"
OFF = "aegisd_lint.hooks,aegisd_lint.ruff,aegisd_lint.mypy,aegisd_lint.bandit,aegisd_lint.pytest,"
OFF += "aegisd_lint.max_file_length,aegisd_similarity.hooks,aegisd_insights.hooks"
WAIT_S = 120.0


def uri(path: Path) -> str:
    return path.resolve().as_uri()


class RawClient:
    """A bare LSP client over stdio, the same for both servers (pygls' client cannot read
    ruff's `initialize` answer): requests, and the notifications that arrive."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.ids = 0
        self.answers: dict[int, asyncio.Future[Any]] = {}
        self.diagnostics: dict[str, list[Any]] = {}
        self.reader = asyncio.create_task(self._read())

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    async def request(self, method: str, params: Any) -> Any:
        self.ids += 1
        answer = asyncio.get_running_loop().create_future()
        self.answers[self.ids] = answer
        self.send({"id": self.ids, "method": method, "params": params})
        return await asyncio.wait_for(answer, WAIT_S)

    async def _read(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        while True:
            headers = await stream.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"Content-Length: (\d+)", headers).group(1))  # type: ignore[union-attr]
            message = json.loads(await stream.readexactly(length))
            if "method" in message and "id" in message:  # a request of the server's
                result = [None] * len(message["params"].get("items", [])) or None
                self.send({"id": message["id"], "result": result})
            elif message.get("method") == "textDocument/publishDiagnostics":
                params = message["params"]
                self.diagnostics[params["uri"]] = params["diagnostics"]
            elif "id" in message and message["id"] in self.answers:
                self.answers.pop(message["id"]).set_result(message.get("result"))

    async def close(self) -> None:
        await self.request("shutdown", None)
        self.send({"method": "exit"})
        await asyncio.wait_for(self.proc.wait(), 30)
        self.reader.cancel()


async def first_diagnostics(command: list[str], root: Path, env: dict[str, str]) -> float:
    """Seconds from sending `initialize` to the first non-empty publishDiagnostics."""
    proc = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
        cwd=root,
    )
    client = RawClient(proc)
    target = uri(root / FILE)
    try:
        started = time.perf_counter()
        await client.request(
            "initialize",
            {
                "processId": None,
                "rootUri": uri(root),
                "capabilities": {"textDocument": {"publishDiagnostics": {}}},
                "workspaceFolders": [{"uri": uri(root), "name": root.name}],
            },
        )
        client.send({"method": "initialized", "params": {}})
        document = {"uri": target, "languageId": "python", "version": 1}
        document["text"] = (root / FILE).read_text()
        client.send({"method": "textDocument/didOpen", "params": {"textDocument": document}})
        while not client.diagnostics.get(target):
            if time.perf_counter() - started > WAIT_S:
                raise TimeoutError(f"{command[0]}: no diagnostics within {WAIT_S:g} s")
            await asyncio.sleep(0.002)
        elapsed = time.perf_counter() - started
        await client.close()
        return elapsed
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def stdlib_names(root: Path, count: int) -> list[str]:
    names = set()
    for path in sorted(root.rglob("*.py"))[:400]:
        text = path.read_text(errors="replace")
        names.update(re.findall(r"^(?:def|class) ([A-Za-z_]\w{3,})", text, re.M))
    rng = random.Random(19)
    return rng.sample(sorted(names), min(count, len(names)))


async def symbol_latencies(
    sock: Path, root: Path, env: dict[str, str], queries: list[str]
) -> tuple[list[float], float, float, int]:
    command = [sys.executable, "-m", "aegisd", "lsp", "--socket", str(sock)]
    client: Any = await ClientServerConfig(server_command=command, server_env=env).start()
    try:
        await client.initialize_session(
            lsp.InitializeParams(
                capabilities=client_capabilities("visual-studio-code"),
                workspace_folders=[lsp.WorkspaceFolder(uri=uri(root), name="stdlib")],
            )
        )
        for query in queries[:10]:  # warm-up: connection, first answers
            await client.workspace_symbol_async(lsp.WorkspaceSymbolParams(query=query))
        latencies, hits = [], 0
        for query in queries:
            started = time.perf_counter()
            found = await client.workspace_symbol_async(lsp.WorkspaceSymbolParams(query=query))
            latencies.append((time.perf_counter() - started) * 1000)
            hits += bool(found)
        pid = client._server.pid
        rss, peak = rss_mib(pid), _peak_mib(pid)
        await client.shutdown_session()
        return latencies, rss, peak, hits
    finally:
        await client.stop()


def _peak_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def settle_lint(rpc: Rpc) -> None:
    deadline = time.monotonic() + WAIT_S * 3
    while time.monotonic() < deadline:
        report = rpc("lint.report", {"path": str(FILE)})
        if not report["running"] and report["files"]:
            return
        time.sleep(0.2)
    raise TimeoutError("the fixture project was never linted")


async def main_async(args: argparse.Namespace, tmp: Path) -> None:
    project = tmp / "project"
    shutil.copytree(FIXTURE, project)
    env = isolated_env(tmp)
    sock = tmp / "run" / "aegisd.sock"
    aegisd = [sys.executable, "-m", "aegisd", "lsp", "--socket", str(sock)]
    ruff = [shutil.which("ruff") or "ruff", "server"]
    ours, theirs = [], []
    with server_process(
        daemon_command(sock, tmp / "state", "--root", str(project)), sock, tmp / "d.log", env
    ):
        settle_lint(Rpc(sock))
        for round_ in range(args.rounds):  # alternate who goes first
            pair = [(aegisd, ours), (ruff, theirs)]
            for command, into in pair if round_ % 2 == 0 else pair[::-1]:
                into.append(await first_diagnostics(command, project, env))

    stdlib = tmp / "stdlib"
    files = copy_stdlib(stdlib)
    queries = stdlib_names(stdlib, args.queries)
    sock2 = tmp / "run2" / "aegisd.sock"
    env2 = {**env, "AEGISD_PLUGINS__DISABLED": OFF}
    with server_process(
        daemon_command(sock2, tmp / "state2", "--root", str(stdlib)), sock2, tmp / "d2.log", env2
    ):
        wait_ready(Rpc(sock2))
        latencies, rss, peak, hits = await symbol_latencies(sock2, stdlib, env2, queries)

    ours_ms, theirs_ms = statistics.median(ours) * 1000, statistics.median(theirs) * 1000
    print(f"\naegisd lsp benchmark ({args.rounds} rounds; stdlib copy: {files} files)")
    print(f"{'measure':58} {'value':>10} {'target':>9}")
    rows = [
        ("initialize -> first diagnostics, aegisd lsp (median)", f"{ours_ms:.0f} ms", "≤ 300 ms"),
        ("initialize -> first diagnostics, ruff server (median)", f"{theirs_ms:.0f} ms", ""),
        ("  ratio aegisd / ruff", f"{ours_ms / theirs_ms:.2f}x", ""),
        (
            f"workspace/symbol p95 ({len(queries)} names, {hits} with hits)",
            f"{percentile(latencies, 0.95):.1f} ms",
            "≤ 30 ms",
        ),
        ("workspace/symbol p50", f"{percentile(latencies, 0.5):.1f} ms", ""),
        ("aegisd lsp RSS after the queries", f"{rss:.1f} MiB", "≤ 40 MiB"),
        ("aegisd lsp peak RSS", f"{peak:.1f} MiB", ""),
    ]
    for name, value, target in rows:
        print(f"{name:58} {value:>10} {target:>9}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aegisd-bench-lsp-") as tmp:
        asyncio.run(main_async(args, Path(tmp)))


if __name__ == "__main__":
    main()
