"""The inotify notifier: names of any bytes, new directories followed, pruned ones unwatched,
lost events reported."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from watchfiles import Change

from aegisd import inotify
from aegisd.inotify import IN_Q_OVERFLOW, RESCAN, RecursiveWatch

pytestmark = pytest.mark.skipif(not inotify.available(), reason="inotify is Linux only")


Batches = Iterator[set[tuple[Change, str]]]


def collect(
    root: Path, prune: Callable[[str], bool] = lambda path: False
) -> tuple[Batches, threading.Event]:
    stop = threading.Event()
    batches = inotify.watch(
        str(root), prune=prune, debounce_ms=20, step_ms=5, stop=stop, quiet_ms=50
    )
    assert next(batches) == set()  # armed
    return batches, stop


def seen_until(batches: Batches, wanted: str, limit_s: float = 10) -> set[str]:
    paths: set[str] = set()
    deadline = time.monotonic() + limit_s
    while wanted not in paths:
        assert time.monotonic() < deadline, paths
        paths |= {path for _, path in next(batches)}
    return paths


def test_a_name_that_is_not_utf8_is_reported_and_watching_goes_on(tmp_path: Path) -> None:
    batches, stop = collect(tmp_path)
    bad = os.path.join(os.fsencode(tmp_path), b"bad\xff.py")
    with open(bad, "w") as fh:
        fh.write("x = 1\n")
    with open(bad) as fh:
        fh.read()  # reading it ended watchfiles' notifier for good
    assert os.fsdecode(bad) in seen_until(batches, os.fsdecode(bad))
    (tmp_path / "after.py").write_text("y = 2\n")
    seen_until(batches, str(tmp_path / "after.py"))
    stop.set()


def test_new_directories_are_followed_and_pruned_ones_are_not(tmp_path: Path) -> None:
    batches, stop = collect(tmp_path, prune=lambda path: path.endswith("node_modules"))
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "pkg").mkdir()
    seen_until(batches, str(tmp_path / "pkg"))
    (tmp_path / "node_modules" / "m.js").write_text("")
    (tmp_path / "pkg" / "inner.py").write_text("")
    paths = seen_until(batches, str(tmp_path / "pkg" / "inner.py"))
    assert str(tmp_path / "node_modules" / "m.js") not in paths
    os.rename(tmp_path / "pkg", tmp_path / "moved")
    seen_until(batches, str(tmp_path / "moved"))  # reported: watched from then on
    (tmp_path / "moved" / "again.py").write_text("")
    seen_until(batches, str(tmp_path / "moved" / "again.py"))
    stop.set()


def test_a_queue_overflow_asks_for_a_rescan(tmp_path: Path) -> None:
    watch = RecursiveWatch(str(tmp_path), lambda path: False)
    try:
        changes: set[tuple[Change, str]] = set()
        watch._event(-1, IN_Q_OVERFLOW, b"", changes)
        assert changes == {RESCAN}
    finally:
        watch.close()
