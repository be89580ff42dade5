"""Lint on a large tree: an edit's verdict while the first pass is pending, and memory after it.

Builds a tree of `--copies` copies of the standard library (1,790 files each) in packages,
opens it in a daemon with the lint tools of `--tools` (the workspace's settings are stored
while it is empty, then it is closed, filled and opened again, so the first pass runs with
them), and prints:
- for each of `--edits` edits made while that first pass is pending (the first one
  `--edit-after` seconds after the open): the time from the edit to ruff's verdict on it
  (`lint.report` on the file shows the issue the edit adds);
- once the first pass is done: the time it took, the issues stored, and the daemon's RSS
  (VmRSS, and VmHWM, its peak).

`--baseline-tree` runs an older aegisd checkout (e.g. `git worktree add /tmp/base main`) the
same way, one after the other, for a before/after table.

    python bench/lint_backlog.py [--copies 6] [--tools ruff,max_file_length] [--edits 3]
        [--edit-after 20] [--baseline-tree DIR]

Always exits 0.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import REPO, Rpc, baseline_tree, daemon_command, isolated_env, server_process

TOOLS = ("ruff", "mypy", "bandit", "pytest", "max_file_length")
FIRST_PASS_TIMEOUT_S = 7200.0
EDIT_TIMEOUT_S = 3600.0
PROBE = "pkg0/abc.py"  # a file whose report says whether linting is running or pending


def stdlib_tree(root: Path, copies: int) -> int:
    """`copies` copies of the standard library's Python files under `root/pkgN/`."""
    lib = Path(sysconfig.get_paths()["stdlib"])
    files = [p for p in lib.rglob("*.py") if "site-packages" not in p.parts]
    for copy in range(copies):
        for source in files:
            target = root / f"pkg{copy}" / source.relative_to(lib)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    return copies * len(files)


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in KiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0])
    return found


def edit(rpc: Rpc, root: Path, rel: str, number: int) -> tuple[float, float]:
    """Seconds from an edit adding an undefined name to ruff's verdict naming it (F821), and
    to the end of `workspace.notify_changes` (the workspace took the batch: before that, the
    edit waits in the core, e.g. behind the first index, not for lint)."""
    path = root / rel
    name = f"_bench_edit_{number}"
    temp = root.parent / "edit.tmp"
    temp.write_text(f"{name}\n" + path.read_text(errors="replace"))
    started = time.perf_counter()
    os.replace(temp, path)
    rpc("workspace.notify_changes", {"paths": [rel]})
    taken = time.perf_counter() - started
    deadline = time.monotonic() + EDIT_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            report = rpc("lint.report", {"path": rel, "tool": "ruff"})
        except RuntimeError:  # not known yet (NOT_FOUND)
            report = {"files": []}
        issues = [i for f in report["files"] for i in f["issues"]]
        if any(name in i["message"] for i in issues):
            return time.perf_counter() - started, taken
        time.sleep(0.05)
    return float("inf"), taken


def known_report(rpc: Rpc, rel: str) -> dict[str, Any]:
    """`lint.report` on `rel`, once the workspace knows the file."""
    while True:
        try:
            return rpc("lint.report", {"path": rel})  # type: ignore[no-any-return]
        except RuntimeError:
            time.sleep(0.1)


def measure(tree: Path, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    root = tmp / "project"
    root.mkdir()
    sock = tmp / "run" / "aegisd.sock"
    out: dict[str, Any] = {}
    env = isolated_env(tmp, tree)
    with server_process(daemon_command(sock, tmp / "state"), sock, tmp / "daemon.log", env) as proc:
        rpc = Rpc(sock)
        ws = rpc("workspace.open", {"root": str(root)})["workspace"]["id"]
        wanted = set(args.tools.split(","))
        tools = {name: {"enabled": name in wanted} for name in TOOLS}
        rpc("settings.update", {"workspace": ws, "settings": {"lint": {"tools": tools}}})
        rpc("workspace.close", {"workspace": ws})
        out["files"] = stdlib_tree(root, args.copies)
        opened = time.perf_counter()
        rpc("workspace.open", {"root": str(root)})
        time.sleep(args.edit_after)
        targets = ["json/__init__.py", "csv.py", "textwrap.py", "abc.py"]
        out["edits"] = []
        for number in range(args.edits):
            # the last copies: the first pass (in path order) reaches them last
            copy = args.copies - 1 - number % args.copies
            rel = f"pkg{copy}/{targets[number % len(targets)]}"
            pending = known_report(rpc, PROBE)
            seconds, taken = edit(rpc, root, rel, number)
            out["edits"].append((rel, seconds, taken, pending["running"], pending["pending"]))
        deadline = time.monotonic() + FIRST_PASS_TIMEOUT_S
        while time.monotonic() < deadline:
            # (a report on one file: an older daemon would build a whole one in memory)
            report = known_report(rpc, PROBE)
            if not report["running"] and not report["pending"]:
                break
            time.sleep(1)
        out["first_pass_s"] = time.perf_counter() - opened
        runs = rpc("lint.history", {"limit": 1000})["runs"]
        out["runs"] = [(run["id"], run["trigger"], run["files_run"], run["issues"]) for run in runs]
        out["issues"] = runs[0]["issues"]
        out["by_tool"] = {tool["tool"]: tool["status"] for tool in runs[0]["tools"]}
        time.sleep(args.settle)
        out["memory"] = memory_kib(proc.pid)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--copies", type=int, default=6)
    parser.add_argument("--tools", default="ruff,max_file_length")
    parser.add_argument("--edits", type=int, default=3)
    parser.add_argument("--edit-after", type=float, default=20.0)
    parser.add_argument("--settle", type=float, default=5.0, help="seconds before reading RSS")
    parser.add_argument("--baseline-tree", type=baseline_tree)
    args = parser.parse_args()
    trees = [("this tree", REPO)]
    if args.baseline_tree is not None:
        trees.insert(0, ("baseline", args.baseline_tree))
    results = {}
    for label, tree in trees:
        tmp = Path(tempfile.mkdtemp(prefix="aegisd-bench-lint-backlog-"))
        try:
            results[label] = measure(tree, args, tmp)
        except (OSError, RuntimeError) as exc:
            print(f"{label}: not measured: {exc}")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"lint on {args.copies} stdlib copies, tools {args.tools}, {os.cpu_count()} CPUs\n")
    for label, found in results.items():
        memory = found["memory"]
        print(f"{label}: {found['files']} files, {found['issues']} issues, {found['by_tool']}")
        for rel, seconds, taken, running, pending in found["edits"]:
            print(
                f"  edit of {rel} while running={running} pending={pending}:"
                f" verdict after {seconds:.2f} s (the batch taken after {taken:.2f} s)"
            )
        print(f"  runs (id, trigger, files run, issues after), newest first: {found['runs']}")
        print(f"  first pass done after {found['first_pass_s']:.1f} s from the open")
        print(
            f"  daemon RSS after it: {memory['VmRSS'] / 1024:.0f} MiB"
            f" (peak {memory['VmHWM'] / 1024:.0f} MiB)"
        )


if __name__ == "__main__":
    main()
