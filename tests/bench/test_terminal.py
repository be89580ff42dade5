"""bench/terminal.py on a tiny size: both daemons start, every figure is measured and shown."""

from __future__ import annotations

import re

import pytest
import terminal


def test_the_tables_come_out_whole(capsys: pytest.CaptureFixture[str]) -> None:
    assert terminal.main(["--keys", "20", "--mb", "1"]) == 0
    out = capsys.readouterr().out
    assert "keystroke echo round trip (20 keys)" in out and "cat of a 1 MB file" in out
    for label in ("daemon, default cap", "daemon, cap raised"):
        rows = [line for line in out.splitlines() if line.strip().startswith(label)]
        assert len(rows) == 2, out  # an echo row and a cat row
        numbers = [float(n) for n in re.findall(r"\d+\.\d+", rows[1])]
        assert numbers[0] > 0  # MB/s: the whole file came through
