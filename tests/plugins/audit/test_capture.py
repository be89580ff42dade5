import os
from pathlib import Path

from aegisd_audit.capture import (
    FILE_MAX_BYTES,
    SNAPSHOT_FILE_MAX_BYTES,
    TOO_LARGE,
    UNKNOWN_BEFORE,
    Captured,
    capture_batch,
    event_fields,
    preimage_key,
    snapshot,
)
from aegisd_audit.diffing import PreimageStore, diff_change

from aegisd.filestate import SkippedChange
from tests.fifoguard import released_if_blocked


def store_at(tmp_path: Path) -> PreimageStore:
    return PreimageStore(tmp_path / "pre", memory_max_bytes=1 << 20, disk_max_bytes=1 << 22)


def test_snapshot_keeps_small_text_files_within_the_budget(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.py").write_text("a = 1\n")
    (root / "b.bin").write_bytes(b"\0\1\2")
    (root / "big.txt").write_text("x" * (SNAPSHOT_FILE_MAX_BYTES + 1))
    (root / "c.py").write_text("c = 3\n")
    (root / "d.py").write_text("d" * 100)
    pre = store_at(tmp_path)
    files = [(p.name, p.stat().st_size) for p in sorted(root.iterdir())] + [("gone.py", 3)]
    assert snapshot(root, "w", files, pre, budget_bytes=20) == 2  # d.py is over what is left
    assert pre.get(preimage_key("w", "a.py")) == b"a = 1\n"
    assert pre.get(preimage_key("w", "c.py")) == b"c = 3\n"
    for name in ("b.bin", "big.txt", "d.py", "gone.py"):
        assert pre.get(preimage_key("w", name)) is None


def test_each_kind_of_change(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    pre = store_at(tmp_path)
    pre.remember(preimage_key("w", "mod.py"), b"x = 1\ny = 2\n")
    pre.remember(preimage_key("w", "del.py"), b"gone = 1\n")
    pre.remember(preimage_key("w", "same.py"), b"same\n")
    (root / "mod.py").write_text("x = 1\ny = 3\nz = 4\n")
    (root / "new.py").write_text("n = 1\n")
    (root / "same.py").write_text("same\n")
    (root / "img.png").write_bytes(b"\x89PNG\0\0")
    (root / "huge.txt").write_text("h" * (FILE_MAX_BYTES + 1))
    (root / "unknown.py").write_text("u = 1\n")
    changes = {
        "mod.py": "modified", "new.py": "created", "del.py": "deleted", "same.py": "modified",
        "img.png": "created", "huge.txt": "modified", "unknown.py": "modified",
        "never-known.py": "deleted", "vanished.py": "created",
    }  # fmt: skip
    got = {c.change.path: c for c in capture_batch(root, "w", changes, pre)}
    assert set(got) == {
        "mod.py", "new.py", "del.py", "img.png", "huge.txt", "unknown.py", "never-known.py",
    }  # fmt: skip
    # Unchanged content and a file gone before it could be read give nothing.
    mod = got["mod.py"].change
    assert (mod.change, mod.lines_added, mod.lines_removed) == ("modified", 2, 1)
    assert mod.diff == (
        "--- a/mod.py\n+++ b/mod.py\n@@ -1,2 +1,3 @@\n x = 1\n-y = 2\n+y = 3\n+z = 4\n"
    )
    assert got["new.py"].change.diff == "--- /dev/null\n+++ b/new.py\n@@ -0,0 +1 @@\n+n = 1\n"
    assert got["del.py"].change.diff == "--- a/del.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-gone = 1\n"
    assert got["img.png"].change.binary and got["img.png"].change.diff is None
    assert got["huge.txt"].note == TOO_LARGE and got["huge.txt"].change.diff is None
    assert got["unknown.py"].note == UNKNOWN_BEFORE
    assert got["never-known.py"] == Captured(got["never-known.py"].change, UNKNOWN_BEFORE)
    # What the files are now is remembered for the next batch; deleted and binary files are not.
    assert pre.get(preimage_key("w", "mod.py")) == b"x = 1\ny = 3\nz = 4\n"
    assert pre.get(preimage_key("w", "unknown.py")) == b"u = 1\n"
    for name in ("del.py", "img.png", "huge.txt"):
        assert pre.get(preimage_key("w", name)) is None
    (root / "unknown.py").write_text("u = 2\n")
    (again,) = capture_batch(root, "w", {"unknown.py": "modified"}, pre)
    assert (again.change.lines_added, again.change.lines_removed, again.note) == (1, 1, None)


def test_event_fields() -> None:
    fields = event_fields(Captured(diff_change("app/x.py", b"a\n", b"b\n")))
    assert fields["type"] == "file_change" and fields["actor"] == "system"
    assert fields["title"] == "modified app/x.py (+1 -1)"
    assert fields["ref"] == "app/x.py"
    assert fields["detail"].startswith("--- a/app/x.py\n+++ b/app/x.py\n")
    assert fields["payload"] == {
        "path": "app/x.py", "change": "modified", "lines_added": 1, "lines_removed": 1,
        "binary": False, "old_size": 2, "new_size": 2,
    }  # fmt: skip


def test_a_file_that_became_a_fifo_is_not_read(tmp_path: Path) -> None:
    """A FIFO renamed over a file after its batch settled: capture must not wait on it."""
    os.mkfifo(tmp_path / "a.py")
    with released_if_blocked(tmp_path / "a.py") as blocked:
        captured = capture_batch(tmp_path, "ws", {"a.py": "modified"}, store_at(tmp_path))
    assert not blocked() and captured == []


def test_skipped_files_are_noted_without_being_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.py")
    skipped = {
        "pipe.py": SkippedChange("modified", "fifo", "fifo", 0),
        "logo.png": SkippedChange("created", "binary", "binary (NUL bytes)", 12),
        "huge.bin": SkippedChange("deleted", "too_large", "over size limit (9 bytes)", 9),
    }
    changes = {"pipe.py": "deleted"}  # known before: for the other plugins it is gone
    with released_if_blocked(tmp_path / "pipe.py") as blocked:
        got = capture_batch(tmp_path, "ws", changes, store_at(tmp_path), skipped)
    assert not blocked()
    by_path = {c.change.path: c for c in got}
    assert set(by_path) == {"pipe.py", "logo.png", "huge.bin"}
    assert (by_path["pipe.py"].change.change, by_path["pipe.py"].note) == (
        "modified",
        "skipped: fifo",
    )
    assert by_path["logo.png"].change.binary and by_path["logo.png"].change.new_size == 12
    assert by_path["huge.bin"].change.change == "deleted"
