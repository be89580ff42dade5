"""The inotify notifier: names of any bytes, new directories followed, pruned ones unwatched,
lost events reported."""

from __future__ import annotations

import ctypes
import errno
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from watchfiles import Change

from aegisd import inotify
from aegisd.inotify import IN_Q_OVERFLOW, RESCAN, RecursiveWatch
from aegisd.watchbudget import WatchBudget

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


def deep_tree(root: Path) -> None:
    """root/top/{deep1/deeper, deep2}: one directory per level down to the second."""
    (root / "top" / "deep1" / "deeper").mkdir(parents=True)
    (root / "top" / "deep2").mkdir()


def test_watches_go_to_the_shallowest_directories_and_the_rest_are_polled(
    tmp_path: Path,
) -> None:
    deep_tree(tmp_path)
    budget = WatchBudget(cap=2)
    watch = RecursiveWatch(str(tmp_path), lambda path: False, budget)
    try:
        assert budget.held == 2
        top = str(tmp_path / "top")
        assert set(watch.polled.tops) == {f"{top}/deep1", f"{top}/deep2"}
        assert len(watch.polled) == 3  # deep1, its deeper, deep2
        (tmp_path / "top" / "deep1" / "deeper" / "x.py").write_text("x = 1\n")
        (tmp_path / "top" / "deep2" / "new").mkdir()
        changes = watch.polled.scan()
        assert changes == {
            (Change.added, f"{top}/deep1/deeper/x.py"),
            (Change.added, f"{top}/deep2/new"),
        }
        assert len(watch.polled) == 4  # the new directory is polled from now on
        (tmp_path / "top" / "deep2" / "new" / "y.py").write_text("y = 1\n")
        os.unlink(tmp_path / "top" / "deep1" / "deeper" / "x.py")
        (tmp_path / "top" / "deep1" / "deeper" / "x.py").write_text("x = 2\n")
        assert watch.polled.scan() == {
            (Change.added, f"{top}/deep2/new/y.py"),
            (Change.modified, f"{top}/deep1/deeper/x.py"),
        }
        assert watch.polled.scan() == set()
    finally:
        watch.close()
    assert budget.held == 0  # closing gives the watches back


def test_a_refused_watch_is_polled_and_no_more_are_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep_tree(tmp_path)
    lib = inotify._lib()
    real = lib.inotify_add_watch
    calls = []

    def full(fd: int, path: bytes, mask: int) -> int:
        calls.append(path)
        if len(calls) > 1:  # the kernel's limit: only the root gets one
            ctypes.set_errno(errno.ENOSPC)
            return -1
        return int(real(fd, path, mask))

    monkeypatch.setattr(lib, "inotify_add_watch", full)
    budget = WatchBudget(cap=100)
    watch = RecursiveWatch(str(tmp_path), lambda path: False, budget)
    try:
        assert budget.held == 1 and budget.limit == 1
        assert set(watch.polled.tops) == {str(tmp_path / "top")}
        assert len(watch.polled) == 4
        assert len(calls) == 2  # after the refusal, nothing more is asked of the kernel
    finally:
        watch.close()


def test_the_notifier_reports_polled_directories_and_batches_what_polling_sees(
    tmp_path: Path,
) -> None:
    deep_tree(tmp_path)
    stop = threading.Event()
    counts: list[int] = []
    batches = inotify.watch(
        str(tmp_path),
        prune=lambda path: False,
        debounce_ms=20,
        step_ms=5,
        stop=stop,
        quiet_ms=50,
        budget=WatchBudget(cap=2),
        poll_ms=50,
        on_polled=counts.append,
    )
    assert next(batches) == set()
    assert counts == [3]
    (tmp_path / "top" / "deep2" / "z.py").write_text("z = 1\n")
    seen_until(batches, str(tmp_path / "top" / "deep2" / "z.py"))
    (tmp_path / "top" / "fresh").mkdir()  # under a watched directory, but no watch is left
    seen_until(batches, str(tmp_path / "top" / "fresh"))
    assert counts == [3, 4]
    stop.set()
    for _ in batches:
        pass


def test_the_allowance_is_half_of_what_the_user_has_free(monkeypatch: pytest.MonkeyPatch) -> None:
    from aegisd import watchbudget

    monkeypatch.setattr(watchbudget, "user_watches_free", lambda: 1000)
    assert WatchBudget().limit == 500
    assert WatchBudget(cap=10).limit == 10
    assert watchbudget.user_watches_free() is not None  # read from /proc here
