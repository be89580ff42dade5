"""Benchmark the git plugin against `git` itself, in the same run, on a generated repository
(`_gitrepo.py`: 5,000 commits over 2,000 files; a 2,000-line file edited by 500 of them).

- `git.blame` of that file, a first call at each of several commits (nothing cached) beside
  `git blame --porcelain` at the same commits, and repeated calls (cached), with each
  commit's details on its lines and compact;
- `git.log` of a path (first calls, one path each) beside `git log -n 51 -- path`, p95;
- `git.matrix` of the latest 100 commits, first call;
- a HEAD move (`git update-ref HEAD`) until `git.changed` reaches a WebSocket subscriber.

The daemon runs the code map and the git plugin only (the linters' and clone detection's first
passes over 2,000 files would share the two cores with what is measured), and measuring starts
once the code map's first index is done.

    python bench/git.py [--commits N] [--files N] [--samples N] [--engines]

`--engines` first compares the two engines the plugin could use, in this process on the same
repository: the `git` CLI and pygit2 (libgit2), when pygit2 is installed (it is not a
dependency: the plugin uses the CLI, as these numbers decided).

Targets (issue 20): blame first ≤ 1.2x git, repeated ≤ 5 ms; log of a path p95 ≤ 1.2x git;
matrix ≤ 200 ms; HEAD move → git.changed ≤ 200 ms. Prints a table; always exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from _common import Rpc, daemon_command, isolated_env, percentile, server_process
from _gitrepo import HOT, Shape, generate, git_env

OTHER_PLUGINS = ",".join(
    ("aegisd_lint.hooks", "aegisd_lint.ruff", "aegisd_lint.mypy", "aegisd_lint.bandit",
     "aegisd_lint.pytest", "aegisd_lint.max_file_length", "aegisd_similarity.hooks",
     "aegisd_insights.hooks", "aegisd_audit.hooks")
)  # fmt: skip


def _ms(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def _pairs(
    calls: list[tuple[Callable[[], Any], Callable[[], Any]]],
) -> tuple[list[float], list[float]]:
    """ms of each pair's two calls, made one after the other."""
    timed = [(_ms(ours), _ms(theirs)) for ours, theirs in calls]
    return [a for a, _ in timed], [b for _, b in timed]


def _git(root: Path, *args: str) -> bytes:
    return subprocess.run(
        ["git", "-C", str(root), *args], env=git_env(), check=True, capture_output=True
    ).stdout


async def _head_moves(sock: Path, root: Path, targets: list[str]) -> list[float]:
    """ms from `git update-ref HEAD` returning to `git.changed` arriving, per target."""
    delays = []
    async with aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=str(sock))) as http:
        ws = await http.ws_connect("http://localhost/rpc/ws")
        await ws.send_str(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "events.subscribe",
                                      "params": {"topics": ["git.changed"]}}))  # fmt: skip
        await ws.receive()
        for target in targets:
            await asyncio.to_thread(_git, root, "update-ref", "HEAD", target)
            moved = time.perf_counter()
            while True:
                data = json.loads((await ws.receive(timeout=10)).data)
                if data.get("method") == "git.changed" and data["params"]["head"] == target:
                    break
            delays.append((time.perf_counter() - moved) * 1000)
            await asyncio.sleep(0.3)  # each move a look of its own
        await ws.close()
    return delays


def engines(root: Path, samples: int) -> list[tuple[str, float, float]]:
    """(operation, git CLI ms, pygit2 ms), medians; [] without pygit2."""
    try:
        import pygit2  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return []
    repo = pygit2.Repository(str(root))
    path = "pkg05/mod0005.py"
    mid = _git(root, "rev-list", "--skip=2500", "-1", "HEAD").decode().strip()

    def log_path() -> list[Any]:  # pygit2 has no path-limited walk: compare entries
        found = []
        for c in repo.walk(repo.head.target):
            ids = [_entry(t, path) for t in (c.tree, *(p.tree for p in c.parents[:1]))]
            if len(ids) == 1 or ids[0] != ids[1]:
                found.append(c.id)
        return found

    def show() -> list[Any]:
        c = repo.revparse_single(mid)
        diff = repo.diff(c.parents[0], c)
        diff.find_similar()
        return [(p.delta.status_char(), p.delta.new_file.path, p.line_stats) for p in diff]

    fmt = "--format=%H%x00%P%x00%an%x00%ae%x00%at%x00%s"
    rows = [
        ("log of one path (git: with files)",
         lambda: _git(root, "log", fmt, "--numstat", "-z", "--", path), log_path),
        ("blame --porcelain of the hot file",
         lambda: _git(root, "blame", "--porcelain", "--", HOT), lambda: list(repo.blame(HOT))),
        ("one commit's files and line counts",
         lambda: _git(root, "show", fmt, "--numstat", "-z", "-M", mid), show),
    ]  # fmt: skip
    median = statistics.median
    return [(name, median([_ms(cli) for _ in range(samples)]),
             median([_ms(lib) for _ in range(samples)])) for name, cli, lib in rows]  # fmt: skip


def _entry(tree: Any, path: str) -> Any:
    try:
        return tree[path].id
    except KeyError:
        return None


def run(
    shape: Shape, samples: int, git_only: bool = False
) -> list[tuple[str, float, float | None, str]]:
    rows: list[tuple[str, float, float | None, str]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        root = generate(tmp / "repo", shape)
        sock = tmp / "run" / "aegisd.sock"
        cmd = daemon_command(sock, tmp / "state", "--root", str(root))
        disabled = OTHER_PLUGINS + (",aegisd_codemap.hooks" if git_only else "")
        env = {**isolated_env(tmp), "AEGISD_PLUGINS__DISABLED": disabled}
        with server_process(cmd, sock, tmp / "daemon.log", env):
            rpc = Rpc(sock)
            while not git_only and (
                not (status := rpc("index.status"))["ready"] or status["pending"]
            ):
                time.sleep(0.1)
            rpc("git.status")  # the repository found, HEAD read
            revs = _git(root, "log", f"-{samples}", "--format=%H", "--", HOT).decode().split()
            # taking turns, so that the machine's load weighs on both alike
            ours, theirs = _pairs(
                [(lambda r=r: rpc("git.blame", {"path": HOT, "rev": r}),
                  lambda r=r: _git(root, "blame", "--porcelain", r, "--", HOT)) for r in revs]
            )  # fmt: skip
            rows.append(("git.blame, first call (median)", statistics.median(ours),
                         statistics.median(theirs), "<= 1.2x"))  # fmt: skip
            again = [_ms(lambda: rpc("git.blame", {"path": HOT, "rev": revs[0]}))
                     for _ in range(samples * 8)]  # fmt: skip
            rows.append(("git.blame, repeated (p95)", percentile(again, 0.95), None, "<= 5 ms"))
            compact = {"path": HOT, "rev": revs[0], "compact": True}
            again = [_ms(lambda: rpc("git.blame", compact)) for _ in range(samples * 8)]
            rows.append(("git.blame compact, repeated (p95)", percentile(again, 0.95), None,
                         "<= 5 ms"))  # fmt: skip
            # a p95 needs more than a handful: 8 paths per sample (each a first call)
            count = min(8 * samples, shape.files - 1)
            paths = [f"pkg{i % 40:02d}/mod{i:04d}.py" for i in
                     ((7 + 37 * n) % (shape.files - 1) for n in range(count))]  # fmt: skip
            ours, theirs = _pairs(
                [(lambda p=p: rpc("git.log", {"path": p, "limit": 50}),
                  lambda p=p: _git(root, "log", "-n", "51", "--", p)) for p in paths]
            )  # fmt: skip
            rows.append(("git.log of a path (p95)", percentile(ours, 0.95),
                         percentile(theirs, 0.95), "<= 1.2x"))  # fmt: skip
            matrix = _ms(lambda: rpc("git.matrix", {"limit": 100}))
            theirs_m = _ms(lambda: _git(root, "log", "-100", "--numstat", "--raw", "-M"))
            rows.append(("git.matrix, 100 commits", matrix, theirs_m, "<= 200 ms"))
            head = _git(root, "rev-parse", "HEAD").decode().strip()
            older = _git(root, "log", "-6", "--format=%H").decode().split()[1:]
            delays = asyncio.run(_head_moves(sock, root, [*older, head]))
            rows.append(("HEAD move -> git.changed (p95)", percentile(delays, 0.95), None,
                         "<= 200 ms"))  # fmt: skip
            rpc.conn.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=5_000)
    parser.add_argument("--files", type=int, default=2_000)
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--engines", action="store_true", help="git CLI vs pygit2 first")
    parser.add_argument("--git-only", action="store_true", help="without the code map too")
    args = parser.parse_args(argv)
    shape = Shape(commits=args.commits, files=args.files,
                  hot_commits=min(500, args.commits // 2))  # fmt: skip
    if args.engines:
        with tempfile.TemporaryDirectory() as tmp:
            compared = engines(generate(Path(tmp) / "repo", shape), args.samples)
        print(f"{'engine: operation':40} {'git CLI ms':>10} {'pygit2 ms':>10}")
        for name, cli, lib in compared or [("(pygit2 is not installed)", 0.0, 0.0)]:
            print(f"{name:40} {cli:>10.1f} {lib:>10.1f}")
    rows = run(shape, args.samples, args.git_only)
    print(f"{shape.commits} commits over {shape.files} files, git {_git_version()}")
    print(f"{'measure':34} {'aegisd ms':>10} {'git ms':>8} {'ratio':>6}  target")
    for name, ours, theirs, target in rows:
        ratio = f"{ours / theirs:.2f}" if theirs else "-"
        base = f"{theirs:.1f}" if theirs is not None else "-"
        print(f"{name:34} {ours:>10.1f} {base:>8} {ratio:>6}  {target}")
    return 0


def _git_version() -> str:
    return subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.split()[-1]


if __name__ == "__main__":
    sys.exit(main())
