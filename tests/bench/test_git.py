"""bench/git.py on a tiny repository: the generator's history is what it says, and one run of
the benchmark measures every row against a real daemon."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import pytest
from _gitrepo import HOT, Shape, generate, git_env

from tests.bench.conftest import BENCH

# bench/git.py by its path: `import git` could find GitPython's package instead
_spec = importlib.util.spec_from_file_location("bench_git", BENCH / "git.py")
assert _spec is not None and _spec.loader is not None
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

TINY = Shape(commits=40, files=12, hot_lines=30, hot_commits=8)


def _git(root: Path, *args: str) -> str:
    out = subprocess.run(["git", "-C", str(root), *args], env=git_env(), capture_output=True,
                         text=True, check=True)  # fmt: skip
    return out.stdout


def test_generated_history(tmp_path: Path) -> None:
    root = generate(tmp_path / "r", TINY)
    assert _git(root, "rev-list", "--count", "HEAD").strip() == "40"
    assert len(_git(root, "ls-files").split()) == TINY.files
    assert len(_git(root, "log", "--format=%H", "--", HOT).split()) == 8
    assert len(set(_git(root, "log", "--format=%ai").split("\n")) - {""}) == 40
    assert {z.split()[-1] for z in _git(root, "log", "--format=%ai").split("\n") if z} == {
        "+0000", "-0700", "+0530", "+0900"}  # fmt: skip


@pytest.mark.timeout(120)
def test_one_run_measures_every_row() -> None:
    rows = bench.run(TINY, samples=2)
    assert [name for name, *_ in rows] == [
        "git.blame, first call (median)",
        "git.blame, repeated (p95)",
        "git.blame compact, repeated (p95)",
        "git.log of a path (p95)",
        "git.matrix, 100 commits",
        "HEAD move -> git.changed (p95)",
    ]
    assert all(ours > 0 for _, ours, _, _ in rows)
