"""bench/lint.py finds the tools the way the daemon does, and exits 0 saying so when one is
missing (it crashed with FileNotFoundError: 'ruff' when the venv's bin was not on PATH)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parents[3] / "bench" / "lint.py"


def test_bench_without_the_tools_on_path_exits_0_and_says_why(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {**os.environ, "PATH": str(empty)}
    done = subprocess.run(
        [sys.executable, str(BENCH), "--files", "40", "--edits", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "not run; tools the daemon would not find" in done.stdout
    assert "ruff: not installed" in done.stdout
    assert "Traceback" not in done.stderr
