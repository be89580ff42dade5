from pathlib import Path

import pytest
from aegisd_audit.diffing import DIFF_MAX_BYTES, FileChange, PreimageStore, diff_change


def test_created_file() -> None:
    change = diff_change("app/new.py", None, b"a = 1\nb = 2\n")
    assert change == FileChange(
        path="app/new.py",
        change="created",
        binary=False,
        lines_added=2,
        lines_removed=0,
        diff="--- /dev/null\n+++ b/app/new.py\n@@ -0,0 +1,2 @@\n+a = 1\n+b = 2\n",
        truncated=False,
        old_size=None,
        new_size=12,
    )


def test_deleted_file() -> None:
    change = diff_change("old.txt", b"gone\n", None)
    assert change.change == "deleted"
    assert (change.lines_added, change.lines_removed) == (0, 1)
    assert change.diff == "--- a/old.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-gone\n"
    assert (change.old_size, change.new_size) == (5, None)


def test_modified_file() -> None:
    old = b"def submit(form):\n    save(form)\n"
    new = b"def submit(form):\n    validate(form)\n    save(form)\n"
    change = diff_change("app/checkout.py", old, new)
    assert change.change == "modified"
    assert (change.lines_added, change.lines_removed) == (1, 0)
    assert change.diff == (
        "--- a/app/checkout.py\n+++ b/app/checkout.py\n@@ -1,2 +1,3 @@\n"
        " def submit(form):\n+    validate(form)\n     save(form)\n"
    )


def test_missing_final_newline_is_marked_as_diff_does() -> None:
    change = diff_change("f", b"a\nb", b"a\nc")
    assert change.diff == (
        "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n"
        "+c\n\\ No newline at end of file\n"
    )


def test_only_newlines_split_lines() -> None:
    change = diff_change("f", b"a\x0cb\n", b"a\x0cc\n")  # form feed is not a line break
    assert (change.lines_added, change.lines_removed) == (1, 1)


def test_unchanged_content_is_an_empty_modification() -> None:
    change = diff_change("f", b"same\n", b"same\n")
    assert (change.change, change.lines_added, change.lines_removed, change.diff) == (
        "modified",
        0,
        0,
        "",
    )


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [
        (b"text\n", b"\x89PNG\r\n\x1a\n\x00\x00", "modified"),  # NUL byte
        (None, b"\xff\xfe\xfa not utf-8", "created"),  # undecodable
        (b"caf\xe9\n", None, "deleted"),  # latin-1, not UTF-8
    ],
)
def test_binary_files_have_no_diff(old: bytes | None, new: bytes | None, kind: str) -> None:
    change = diff_change("blob", old, new)
    assert (change.change, change.binary, change.diff, change.truncated) == (
        kind,
        True,
        None,
        False,
    )
    assert (change.lines_added, change.lines_removed) == (0, 0)


def test_large_diff_is_capped_but_counted_in_full() -> None:
    new = b"".join(b"line %d with some text to make it longer\n" % i for i in range(5000))
    change = diff_change("big.txt", None, new)
    assert DIFF_MAX_BYTES == 64 * 1024
    assert change.truncated
    assert change.lines_added == 5000
    assert change.diff is not None
    assert len(change.diff.encode()) <= DIFF_MAX_BYTES
    assert change.diff.endswith("\n")  # cut at a line boundary
    assert change.diff.count("\n+line ") > 1000


def test_both_sides_missing_is_an_error() -> None:
    with pytest.raises(ValueError):
        diff_change("f", None, None)


def test_preimages_round_trip_and_forget(tmp_path: Path) -> None:
    store = PreimageStore(tmp_path / "pre")
    assert store.get("a.py") is None
    assert store.remember("a.py", b"one")
    assert store.remember("a.py", b"two")  # replaces
    assert store.get("a.py") == b"two"
    assert store.memory_bytes == 3
    store.forget("a.py")
    store.forget("never-seen.py")
    assert store.get("a.py") is None
    assert store.memory_bytes == 0


def test_memory_overflow_spills_least_recently_used_to_disk(tmp_path: Path) -> None:
    store = PreimageStore(tmp_path, memory_max_bytes=100, disk_max_bytes=1000)
    for name in "abcd":
        store.remember(name, name.encode() * 40)
    # 160 bytes do not fit in 100: the two oldest went to disk, the two newest stay in memory.
    assert store.memory_bytes == 80
    assert store.disk_bytes == 80
    assert len([p for p in tmp_path.iterdir()]) == 2
    assert [store.get(n) for n in "abcd"] == [n.encode() * 40 for n in "abcd"]


def test_disk_is_bounded_and_evicts_least_recently_used(tmp_path: Path) -> None:
    store = PreimageStore(tmp_path, memory_max_bytes=10, disk_max_bytes=100)
    for name in "abc":
        store.remember(name, name.encode() * 40)  # each goes straight to disk (> memory bound)
    assert store.disk_bytes == 80
    assert store.get("a") is None  # evicted to make room for c
    assert store.get("b") == b"b" * 40
    store.remember("d", b"d" * 40)  # b was just used, so c goes
    assert store.get("c") is None
    assert store.get("b") == b"b" * 40
    assert sorted(p.stat().st_size for p in tmp_path.iterdir()) == [40, 40]


def test_identical_contents_share_one_file(tmp_path: Path) -> None:
    store = PreimageStore(tmp_path, memory_max_bytes=0, disk_max_bytes=1000)
    store.remember("x", b"same" * 10)
    store.remember("y", b"same" * 10)
    assert store.disk_bytes == 40
    assert len(list(tmp_path.iterdir())) == 1
    store.forget("x")
    assert store.get("y") == b"same" * 10
    store.forget("y")
    assert list(tmp_path.iterdir()) == []
    assert store.disk_bytes == 0


def test_content_over_the_disk_bound_is_not_kept(tmp_path: Path) -> None:
    store = PreimageStore(tmp_path, memory_max_bytes=10, disk_max_bytes=100)
    store.remember("big", b"old")
    assert not store.remember("big", b"x" * 101)
    assert store.get("big") is None  # not the stale b"old" either


def test_a_new_store_clears_blobs_left_by_an_old_one(tmp_path: Path) -> None:
    old = PreimageStore(tmp_path, memory_max_bytes=0)
    old.remember("a", b"left over")
    (tmp_path / "notes.txt").write_text("not ours")
    new = PreimageStore(tmp_path)
    assert new.get("a") is None
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_forget_prefix_drops_one_workspace_from_memory_and_disk(tmp_path: Path) -> None:
    store = PreimageStore(tmp_path / "pre", memory_max_bytes=10, disk_max_bytes=1000)
    store.remember("w1:a", b"12345678")
    store.remember("w1:b", b"abcdefgh")  # pushes w1:a to disk
    store.remember("w2:a", b"xy")
    assert store.disk_bytes == 8
    store.forget_prefix("w1:")
    assert store.get("w1:a") is None and store.get("w1:b") is None
    assert store.get("w2:a") == b"xy"
    assert (store.memory_bytes, store.disk_bytes) == (2, 0)
    assert not list((tmp_path / "pre").iterdir())
