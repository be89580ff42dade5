"""Benchmark terminal sessions through the daemon against the bare PTY.

Prints, from one run:
- keystroke echo round trip: `terminal.input` of one character over the WebSocket until its
  echo comes back as `terminal.output`, p50/p99, beside writing the character to a bare PTY
  in this process (the stdlib's `pty`, what ptyprocess wraps) and reading its echo (target:
  the daemon's p99 at most 5 ms over the bare one);
- throughput of `cat` of a large file to one viewer (MB/s of output received) beside reading
  the same `cat` from a bare PTY, with the daemon's default output cap and with the cap raised;
- `daemon.health` p50/p99 from another connection during each flood (target p99 ≤ 50 ms).

    python bench/terminal.py [--keys N] [--mb M]

Always exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import aiohttp
from _common import daemon_command, isolated_env, percentile, server_process

UNCAPPED = 1 << 40
#: `daemon.health` every 10 ms from a process of its own (a thread here would wait for this
#: process's GIL while it decodes the flood, and time that instead of the daemon)
PROBE = """
import json, sys, time
sys.path.insert(0, sys.argv[2])
from _common import Rpc
rpc, latencies = Rpc(sys.argv[1]), []
while not sys.stdin.readline().strip():  # an empty line asks for one more probe
    started = time.perf_counter()
    rpc("daemon.health")
    latencies.append((time.perf_counter() - started) * 1000)
    time.sleep(0.01)
    print("", flush=True)
rpc.conn.close()
print(json.dumps(latencies), flush=True)
"""


class HealthProbes:
    """Probes `daemon.health` from another process while the flood runs."""

    def __init__(self, sock: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", PROBE, str(sock), str(Path(__file__).parent)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.stop = False
        self.thread = threading.Thread(target=self._pace)
        self.thread.start()

    def _pace(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        while not self.stop:
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
            self.proc.stdout.readline()

    def finish(self) -> list[float]:
        self.stop = True
        self.thread.join()
        out, _ = self.proc.communicate("stop\n", timeout=30)
        return [float(x) for x in json.loads(out.strip().splitlines()[-1])]


LINE = b"".join(bytes([33 + (i % 90)]) for i in range(99)) + b"\n"  # 100 printable bytes


class Session:
    """One WebSocket to the daemon; answers by id, terminal notifications into a queue."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ids = 0
        self.answers: dict[int, asyncio.Future[dict[str, object]]] = {}
        self.output: asyncio.Queue[dict[str, object]] = asyncio.Queue()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            data = json.loads(message.data)
            if "id" in data and data["id"] in self.answers:
                self.answers.pop(data["id"]).set_result(data)
            elif str(data.get("method", "")).startswith("terminal."):
                await self.output.put(data)

    async def call(self, method: str, params: dict[str, object]) -> dict[str, object]:
        self.ids += 1
        future = asyncio.get_running_loop().create_future()
        self.answers[self.ids] = future
        await self.ws.send_json({"jsonrpc": "2.0", "id": self.ids, "method": method,
                                 "params": params})  # fmt: skip
        answer = await future
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer["result"]  # type: ignore[return-value]


async def daemon_echo(session: Session, keys: int) -> list[float]:
    opened = await session.call("terminal.open", {"argv": ["cat"], "cols": 80, "rows": 24})
    term = opened["id"]
    times = []
    for n in range(keys):
        key = chr(ord("a") + n % 26)
        started = time.perf_counter()
        await session.call("terminal.input", {"id": term, "data": key})
        while True:
            note = await session.output.get()
            params = note["params"]
            if note["method"] == "terminal.output" and key in params["data"]:  # type: ignore[index,operator]
                break
        times.append((time.perf_counter() - started) * 1000)
    await session.call("terminal.close", {"id": term})
    return times


def bare_echo(keys: int) -> list[float]:
    master, slave = os.openpty()
    cat = subprocess.Popen(["cat"], stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    times = []
    try:
        for n in range(keys):
            key = chr(ord("a") + n % 26).encode()
            started = time.perf_counter()
            os.write(master, key)
            while key not in os.read(master, 4096):
                pass
            times.append((time.perf_counter() - started) * 1000)
    finally:
        cat.kill()
        cat.wait()
        os.close(master)
    return times


async def daemon_cat(session: Session, path: Path) -> tuple[float, int]:
    started = time.perf_counter()
    opened = await session.call("terminal.open", {"argv": ["cat", str(path)], "cols": 200,
                                                  "rows": 50})  # fmt: skip
    received = 0
    while True:
        note = await session.output.get()
        if note["params"]["id"] != opened["id"]:  # type: ignore[index]
            continue
        if note["method"] == "terminal.output":
            received += len(str(note["params"]["data"]))  # type: ignore[index]
        elif note["method"] == "terminal.exit":
            break
        elif note["method"] == "terminal.overflow":  # behind: catch up from the scrollback
            await session.call("terminal.attach", {"id": opened["id"],
                                                   "since_seq": note["params"]["seq"]})  # type: ignore[index]  # fmt: skip
    elapsed = time.perf_counter() - started
    await session.call("terminal.close", {"id": opened["id"]})
    return elapsed, received


def bare_cat(path: Path) -> tuple[float, int]:
    started = time.perf_counter()
    master, slave = os.openpty()
    cat = subprocess.Popen(["cat", str(path)], stdin=slave, stdout=slave, stderr=slave,
                           start_new_session=True)  # fmt: skip
    os.close(slave)
    received = 0
    try:
        while True:
            select.select([master], [], [], 5)
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: cat is done
                break
            if not chunk:
                break
            received += len(chunk)
    finally:
        cat.wait()
        os.close(master)
    return time.perf_counter() - started, received


async def through_daemon(sock: Path, keys: int, big: Path) -> dict[str, object]:
    async with (
        aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=str(sock))) as http,
        http.ws_connect("http://localhost/rpc/ws", max_msg_size=0) as ws,
    ):
        session = Session(ws)
        echo = await daemon_echo(session, keys)
        probes = HealthProbes(sock)
        try:
            seconds, received = await daemon_cat(session, big)
        finally:
            health = probes.finish()
        session.reader.cancel()
        return {"echo": echo, "cat": (seconds, received), "health": health}


def run(keys: int, megabytes: int) -> None:
    with tempfile.TemporaryDirectory(prefix="aegisd-bench-terminal-") as tmp_text:
        tmp = Path(tmp_text)
        project = tmp / "project"
        project.mkdir()
        big = project / "big.txt"
        with big.open("wb") as fh:
            for _ in range(megabytes * 10_000):
                fh.write(LINE)
        bare = bare_echo(keys)
        bare_seconds, bare_bytes = bare_cat(big)
        results = {}
        for label, rate in (("default cap", None), ("cap raised", UNCAPPED)):
            env = isolated_env(tmp / label.replace(" ", "-"))
            if rate is not None:
                env["AEGISD_TERMINAL__OUTPUT_BYTES_PER_S"] = str(rate)
            sock = tmp / f"{label.replace(' ', '-')}.sock"
            cmd = daemon_command(sock, tmp / f"state-{label.replace(' ', '-')}", "--root",
                                 str(project))  # fmt: skip
            with server_process(cmd, sock, tmp / f"{label}.log", env):
                results[label] = asyncio.run(through_daemon(sock, keys, big))
        report(bare, (bare_seconds, bare_bytes), results, megabytes)


def report(bare: list[float], bare_cat_result: tuple[float, int], results: dict[str, dict[str, object]],
           megabytes: int) -> None:  # fmt: skip
    bare_p50, bare_p99 = percentile(bare, 0.5), percentile(bare, 0.99)
    print(f"keystroke echo round trip ({len(bare)} keys), ms")
    print(f"  {'':28} {'p50':>8} {'p99':>8}")
    print(f"  {'bare PTY (in process)':28} {bare_p50:8.3f} {bare_p99:8.3f}")
    for label, result in results.items():
        echo: list[float] = result["echo"]  # type: ignore[assignment]
        p50, p99 = percentile(echo, 0.5), percentile(echo, 0.99)
        verdict = "ok" if p99 - bare_p99 <= 5 else "over target"
        print(f"  {'daemon, ' + label:28} {p50:8.3f} {p99:8.3f}   p99 +{p99 - bare_p99:.2f} ms "
              f"(target ≤ +5 ms: {verdict})")  # fmt: skip
    seconds, received = bare_cat_result
    print(f"\ncat of a {megabytes} MB file to one viewer")
    print(f"  {'':28} {'MB/s':>8} {'seconds':>8} {'health p50':>11} {'health p99':>11}")
    print(f"  {'bare PTY (in process)':28} {received / seconds / 1e6:8.1f} {seconds:8.2f}")
    for label, result in results.items():
        seconds, received = result["cat"]  # type: ignore[misc]
        health: list[float] = result["health"]  # type: ignore[assignment]
        p50, p99 = percentile(health, 0.5), percentile(health, 0.99)
        verdict = "ok" if p99 <= 50 else "over target"
        print(f"  {'daemon, ' + label:28} {received / seconds / 1e6:8.1f} {seconds:8.2f} "
              f"{p50:9.2f}ms {p99:9.2f}ms  (health p99 target ≤ 50 ms: {verdict})")  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=500, help="keystrokes to time")
    parser.add_argument("--mb", type=int, default=100, help="size of the file cat prints")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run(args.keys, args.mb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
