"""Settling with skipped files: plugins see eligible files only, skips are kept with reasons."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from aegisd import filestate
from aegisd.filestate import (
    FileStat,
    FileTable,
    Settled,
    SkippedChange,
    SkipState,
    reconcile,
    settle,
)
from aegisd.ignore import IgnoreRules
from tests.fifoguard import released_if_blocked

LIMIT = 64 * 1024


class Tree:
    """A workspace root and the state settling keeps for it, updated as a watcher would."""

    def __init__(self, root: Path, limit: int = LIMIT) -> None:
        self.root = root
        self.rules = IgnoreRules(root, [".git"])
        self.known: dict[str, FileStat] = {}
        self.skipped: dict[str, SkipState] = {}
        self.limit = limit

    def _apply(self, out: Settled) -> Settled:
        for rel in out.removed:
            self.known.pop(rel)
        self.known.update(out.updates)
        for rel in out.unskipped:
            self.skipped.pop(rel)
        self.skipped.update(out.skipped)
        return out

    def table(self) -> FileTable:
        return FileTable(dict(self.known), dict(self.skipped), self.limit)

    def settle(self, *touched: str) -> Settled:
        return self._apply(settle(self.root, self.rules, self.table(), touched))

    def reconcile(self) -> Settled:
        return self._apply(reconcile(self.root, self.rules, self.table()))


def test_reconcile_sorts_files_into_eligible_and_skipped(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("a = 1\n")
    (tmp_path / "blob.py").write_bytes(b"\0\1\2")
    (tmp_path / "u16.py").write_bytes("x = 1\n".encode("utf-16"))
    with (tmp_path / "big.py").open("wb") as fh:
        fh.truncate(300 * 1024 * 1024)
    os.mkfifo(tmp_path / "pipe.py")
    (tmp_path / "out.py").symlink_to("/etc/hostname")
    tree = Tree(tmp_path)
    out = tree.reconcile()
    assert out.changes == {"a.py": "created"}
    assert {rel: state.reason for rel, state in tree.skipped.items()} == {
        "blob.py": "binary (NUL bytes)",
        "u16.py": "UTF-16 text",
        "big.py": f"over size limit (314572800 bytes; the limit is {LIMIT})",
        "pipe.py": "fifo",
        "out.py": "outside the workspace root",
    }
    assert out.skipped_changes["pipe.py"] == SkippedChange("created", "fifo", "fifo", 0)
    assert tree.reconcile().changes == {} and not tree.reconcile()  # nothing read twice


def test_becoming_skipped_is_a_deletion_and_coming_back_a_creation(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("a = 1\n")
    tree = Tree(tmp_path)
    tree.reconcile()
    os.mkfifo(tmp_path / "tmp.fifo")
    os.rename(tmp_path / "tmp.fifo", tmp_path / "a.py")  # a FIFO renamed over a source file
    out = tree.settle("a.py")
    assert out.changes == {"a.py": "deleted"} and "a.py" not in tree.known
    assert out.skipped_changes == {"a.py": SkippedChange("modified", "fifo", "fifo", 0)}
    (tmp_path / "a.py").unlink()
    (tmp_path / "a.py").write_text("a = 2\n")
    out = tree.settle("a.py")
    assert out.changes == {"a.py": "created"} and out.unskipped == ["a.py"]
    assert tree.skipped == {} and "a.py" in tree.known


def test_a_skipped_file_deleted_or_moved_away_with_its_directory(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "blob.bin").write_bytes(b"\0")
    (tmp_path / "solo.bin").write_bytes(b"\0")
    tree = Tree(tmp_path)
    tree.reconcile()
    (tmp_path / "pkg" / "blob.bin").rename(tmp_path / "moved.bin")
    (tmp_path / "pkg").rmdir()
    (tmp_path / "solo.bin").unlink()
    out = tree.settle("pkg", "solo.bin", "moved.bin")
    assert out.changes == {}
    assert {rel: c.change for rel, c in out.skipped_changes.items()} == {
        "pkg/blob.bin": "deleted",
        "solo.bin": "deleted",
        "moved.bin": "created",
    }
    assert set(tree.skipped) == {"moved.bin"}


def test_the_size_limit_applies_to_known_files_when_it_changes(tmp_path: Path) -> None:
    (tmp_path / "mid.py").write_text("x = 1\n" * 2000)  # 12 kB
    tree = Tree(tmp_path)
    tree.reconcile()
    tree.limit = 8 * 1024
    out = tree.reconcile()
    assert out.changes == {"mid.py": "deleted"}
    assert tree.skipped["mid.py"].kind == "too_large"
    tree.limit = LIMIT
    out = tree.reconcile()
    assert out.changes == {"mid.py": "created"} and out.skipped_changes == {}


def test_a_known_file_without_a_hash_is_read_again_without_a_change(tmp_path: Path) -> None:
    """After the upgrade that introduced skipping, every known file is judged once more: the
    eligible ones quietly, the ones now skipped as deleted."""
    (tmp_path / "a.py").write_text("a = 1\n")
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\0\0")
    (tmp_path / "edited.py").write_text("e = 1\n")
    tree = Tree(tmp_path)
    for rel in ("a.py", "logo.png", "edited.py"):
        st = (tmp_path / rel).stat()
        tree.known[rel] = (st.st_size, st.st_mtime_ns, "")
    (tmp_path / "edited.py").write_text("e = 22\n")  # while the daemon was away
    out = tree.reconcile()
    assert out.changes == {"logo.png": "deleted", "edited.py": "modified"}
    assert tree.known["a.py"][2] and "logo.png" in tree.skipped


def test_a_gitignore_that_is_a_fifo_is_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / ".gitignore")
    (tmp_path / "a.py").write_text("a = 1\n")
    with released_if_blocked(tmp_path / ".gitignore") as blocked:
        tree = Tree(tmp_path)
        tree.rules.load()
        out = tree.reconcile()
    assert not blocked()
    assert out.changes == {"a.py": "created"} and tree.skipped[".gitignore"].reason == "fifo"


# -- a path's own errors -----------------------------------------------------------------


def denied(real: Any, blocked: str) -> Any:
    """`real` (an os function taking a path) that raises EACCES for paths ending in `blocked`
    (root reads everything, so the refusal is injected)."""

    def call(path: Any, *args: Any, **kwargs: Any) -> Any:
        if os.fspath(path).endswith(blocked):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real(path, *args, **kwargs)

    return call


def test_an_unreadable_touched_path_is_its_own_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ok.py").write_text("a = 1\n")
    (tmp_path / "secret.py").write_text("b = 2\n")
    rules = IgnoreRules(tmp_path, ())
    table = FileTable({"secret.py": (6, 1, "old")}, {}, LIMIT)
    monkeypatch.setattr(filestate.os, "stat", denied(os.stat, "secret.py"))
    out = settle(tmp_path, rules, table, ["secret.py", "ok.py", "x" * 300, "nul\0.py"])
    assert out.changes == {"ok.py": "created", "secret.py": "deleted"}
    assert out.errors == {
        "secret.py": "Permission denied",
        "x" * 300: "File name too long",
        "nul\0.py": "path contains a NUL character",
    }


def test_a_passing_fault_keeps_what_is_known(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "busy.py").write_text("c = 3\n")
    table = FileTable({"busy.py": (1, 1, "old")}, {}, LIMIT)

    def out_of_descriptors(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(filestate, "hash_text_file", out_of_descriptors)
    out = settle(tmp_path, IgnoreRules(tmp_path, ()), table, ["busy.py"])
    assert out.errors == {"busy.py": "Too many open files"}
    assert out.changes == {} and out.removed == []  # not claimed deleted: it is still there


def test_an_unreadable_directory_is_reported_by_reconciliation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "in.py").write_text("d = 4\n")
    (tmp_path / "free.py").write_text("e = 5\n")
    import aegisd.ignore

    monkeypatch.setattr(aegisd.ignore.os, "scandir", denied(os.scandir, "locked"))
    table = FileTable({"locked/in.py": (6, 1, "h")}, {}, LIMIT)
    out = reconcile(tmp_path, IgnoreRules(tmp_path, ()), table)
    assert out.errors == {"locked": "Permission denied"}
    assert out.changes == {"free.py": "created", "locked/in.py": "deleted"}
