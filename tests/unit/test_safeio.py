"""Opening workspace files safely: beneath the root, never blocking, regular files only."""

from __future__ import annotations

import codecs
import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from aegisd import safeio
from aegisd.safeio import Skip, hash_text_file, open_file, read_bytes, sniff

LIMIT = 1 << 20
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["openat2", "walk"])
def mechanism(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs with `openat2` and with the component-wise walk older kernels get."""
    if request.param == "walk":
        monkeypatch.setattr(safeio._openat2, "available", False)
    elif not safeio._openat2.available:
        pytest.skip("openat2 is not available here")
    return str(request.param)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """root/ with a file, a subdirectory, in-root links (relative, absolute, through a linked
    directory) and links out of it; outside/ beside it."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "pkg").mkdir(parents=True)
    outside.mkdir()
    (root / "a.py").write_text("inside = 1\n")
    (root / "pkg" / "m.py").write_text("module = 1\n")
    (outside / "secret.py").write_text("secret = 1\n")
    (root / "rel_link.py").symlink_to("pkg/m.py")
    (root / "abs_link.py").symlink_to(root / "pkg" / "m.py")
    (root / "pkg_link").symlink_to("pkg")
    (root / "pkg" / "up.py").symlink_to("../a.py")
    (root / "out_rel.py").symlink_to("../outside/secret.py")
    (root / "out_abs.py").symlink_to(outside / "secret.py")
    (root / "out_dir").symlink_to(outside)
    return root


def test_regular_files_and_links_that_stay_inside_are_read(mechanism: str, tree: Path) -> None:
    assert read_bytes(tree, "a.py", LIMIT) == b"inside = 1\n"
    for rel in ("rel_link.py", "abs_link.py", "pkg_link/m.py", "pkg/../pkg/m.py"):
        assert read_bytes(tree, rel, LIMIT) == b"module = 1\n", rel
    assert read_bytes(tree, "pkg/up.py", LIMIT) == b"inside = 1\n"


@pytest.mark.parametrize(
    "rel",
    ["out_rel.py", "out_abs.py", "out_dir/secret.py", "../outside/secret.py", "/etc/hostname"],
)
def test_nothing_outside_the_root_is_opened(mechanism: str, tree: Path, rel: str) -> None:
    with pytest.raises(Skip) as info:
        read_bytes(tree, rel, LIMIT)
    assert (info.value.kind, info.value.reason) == ("outside_root", "outside the workspace root")


def test_missing_files_are_not_found(mechanism: str, tree: Path) -> None:
    for rel in ("gone.py", "pkg/gone.py", "a.py/below", "nodir/x.py"):
        with pytest.raises(FileNotFoundError):
            read_bytes(tree, rel, LIMIT)


def _release_a_blocked_reader(fifo: Path) -> None:
    """Open `fifo` for writing, which frees a reader the code under test might have left
    blocked in `open` (so that a failure cannot hang the run)."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return  # no reader is waiting: nothing was blocked
    os.close(fd)


def test_a_fifo_is_skipped_without_blocking(mechanism: str, tree: Path) -> None:
    fifo = tree / "pipe.py"
    os.mkfifo(fifo)
    outcome: list[BaseException | bytes] = []

    def attempt() -> None:
        try:
            outcome.append(read_bytes(tree, "pipe.py", LIMIT))
        except BaseException as exc:
            outcome.append(exc)

    reader = threading.Thread(target=attempt)
    reader.start()
    reader.join(30)  # a hang guard, not a timing: the open must not wait for a writer at all
    blocked = reader.is_alive()
    _release_a_blocked_reader(fifo)
    reader.join()
    assert not blocked, "opening the FIFO blocked"
    [skip] = outcome
    assert isinstance(skip, Skip) and (skip.kind, skip.reason) == ("fifo", "fifo")


def test_sockets_directories_and_devices_are_skipped(mechanism: str, tree: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tree / "s.sock"))
    try:
        with pytest.raises(Skip) as info:
            read_bytes(tree, "s.sock", LIMIT)
        assert info.value.reason == "socket"
    finally:
        server.close()
    with pytest.raises(Skip) as info:
        read_bytes(tree, "pkg", LIMIT)
    assert info.value.kind == "directory"
    try:
        os.mknod(tree / "null", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("cannot make a device node here")
    with pytest.raises(Skip) as info:
        read_bytes(tree, "null", LIMIT)
    assert info.value.reason == "device"


def test_a_file_over_the_limit_is_skipped_unread(mechanism: str, tree: Path) -> None:
    with (tree / "big.py").open("wb") as fh:
        fh.truncate(300 * 1024 * 1024)  # sparse: nothing is written
    with pytest.raises(Skip) as info:
        read_bytes(tree, "big.py", 4 * 1024 * 1024)
    assert info.value.kind == "too_large"
    assert info.value.reason.startswith("over size limit (314572800 bytes")


def test_open_file_serves_from_the_descriptor_it_checked(mechanism: str, tree: Path) -> None:
    with open_file(tree, "a.py", LIMIT) as fh:
        (tree / "a.py").unlink()
        (tree / "a.py").symlink_to(tree.parent / "outside" / "secret.py")
        assert fh.read() == b"inside = 1\n" and stat.S_ISREG(fh.stat.st_mode)


def test_a_directory_swapped_for_a_link_out_is_never_followed(mechanism: str, tree: Path) -> None:
    """The preview race of issue 16: whatever the path is when opened, nothing outside the
    root is read. The swap runs in a thread while the opens run here."""
    (tree.parent / "outside" / "pkg").mkdir()
    (tree.parent / "outside" / "pkg" / "m.py").write_text("OUTSIDE\n")
    (tree / "pkg_out").symlink_to(tree.parent / "outside" / "pkg")
    stop = threading.Event()

    def swap() -> None:
        while not stop.is_set():
            os.rename(tree / "pkg", tree / "pkg_in")
            os.rename(tree / "pkg_out", tree / "pkg")
            os.rename(tree / "pkg", tree / "pkg_out")
            os.rename(tree / "pkg_in", tree / "pkg")

    swapper = threading.Thread(target=swap)
    swapper.start()
    seen: set[bytes | str] = set()
    try:
        for _ in range(3000):
            try:
                seen.add(read_bytes(tree, "pkg/m.py", LIMIT))
            except Skip as skip:
                seen.add(skip.kind)
            except FileNotFoundError:
                seen.add("missing")
    finally:
        stop.set()
        swapper.join()
    assert b"OUTSIDE\n" not in seen
    assert b"module = 1\n" in seen


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("a.py", b"x = 1\n", None),
        ("logo.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "binary (NUL bytes)"),
        ("u16.py", codecs.BOM_UTF16_LE + "x = 1\n".encode("utf-16-le"), "UTF-16 text"),
        ("u16.txt", "plain words\n".encode("utf-16-be"), "UTF-16 text"),
        ("u32.py", codecs.BOM_UTF32_LE + "x = 1\n".encode("utf-32-le"), "UTF-32 text"),
        ("nul.py", b"x = 1\n\0\0\0 y = 2\n", "binary (NUL bytes)"),
        ("latin.py", "name = 'Müller'\n".encode("latin-1"), "not UTF-8 text"),
        ("cookie.py", "# -*- coding: latin-1 -*-\nn = 'Müller'\n".encode("latin-1"), None),
        ("notes.txt", "Müller\n".encode("latin-1"), None),  # not source: only NULs and BOMs
        ("bom.py", codecs.BOM_UTF8 + b"x = 1\n", None),
    ],
)
def test_what_a_file_holds_decides_whether_it_is_text(
    tmp_path: Path, name: str, data: bytes, reason: str | None
) -> None:
    (tmp_path / name).write_bytes(data)
    if reason is None:
        hashed = hash_text_file(tmp_path, name, LIMIT)
        assert hashed.digest == safeio.content_hash(tmp_path, name, LIMIT)
        assert hashed.size == len(data)
    else:
        with pytest.raises(Skip) as info:
            hash_text_file(tmp_path, name, LIMIT)
        assert info.value.reason == reason


def test_a_source_file_invalid_past_the_first_chunk_is_caught(tmp_path: Path) -> None:
    (tmp_path / "late.py").write_bytes(b"x = 1\n" * 300_000 + b"\xff\n")
    with pytest.raises(Skip) as info:
        hash_text_file(tmp_path, "late.py", 4 * LIMIT)
    assert info.value.reason == "not UTF-8 text"


def test_sniff_needs_no_more_than_the_head() -> None:
    assert sniff(b"") is None and sniff(b"x" * 10_000 + b"\0") is None


def test_the_unreadable_classifier() -> None:
    assert str(safeio._unreadable(PermissionError(13, "Permission denied"))) == (
        "unreadable: permission denied"
    )
    assert safeio._unreadable(OSError(5, "Input/output error")).reason == (
        "unreadable: Input/output error"
    )


def test_an_unreadable_file_is_skipped_with_its_reason(tmp_path: Path) -> None:
    """Root reads any file: the check runs in a child without CAP_DAC_OVERRIDE, as a user's
    daemon would meet a file it may not read."""
    (tmp_path / "locked.py").write_text("x = 1\n")
    (tmp_path / "locked.py").chmod(0)
    script = (
        "import sys; from aegisd.safeio import Skip, hash_text_file\n"
        "try:\n    hash_text_file(sys.argv[1], 'locked.py', 1 << 20)\n"
        "except Skip as skip:\n    print(skip.kind, '|', skip.reason)\n"
    )
    command = [sys.executable, "-c", script, str(tmp_path)]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: root reads any file")
        command = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", *command]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    assert done.stdout.strip() == "unreadable | unreadable: permission denied"
