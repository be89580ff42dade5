"""Opening workspace files safely: beneath the root, never blocking, regular files only.

Every read of a workspace file goes through here. A file is opened relative to the workspace
root without following a symlink out of it — Linux `openat2` with RESOLVE_BENEATH, or, where
that is missing, one component at a time with O_NOFOLLOW — and with O_NONBLOCK, so a FIFO or a
device cannot hold the open. What was opened is judged by `fstat` of the descriptor, never by a
`stat` before the open, which a rename can outdate. Anything but a regular file within the
size limit raises `Skip`, whose `reason` says why in a few words. Symlinks that stay inside
the root are followed (an absolute one too), as the tree walk does.

`Skip` is an `OSError`: a caller that only knows that files can be unreadable treats a skipped
one the same way. A file that is not there raises `FileNotFoundError`.
"""

from __future__ import annotations

import codecs
import ctypes
import errno
import hashlib
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from aegisd.languages import EXTENSIONS

#: the default of the workspace setting `max_file_bytes`: larger files are skipped
DEFAULT_MAX_FILE_BYTES = 4 * 1024 * 1024
#: how much of a file is sniffed for NUL bytes and byte order marks (as git and grep do)
SNIFF_BYTES = 8192
CHUNK_BYTES = 1 << 20
MAX_SYMLINKS = 40  # as the kernel's own path walk

_READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
_DIR_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC
_SYS_OPENAT2 = 437  # the same number on every architecture (a syscall newer than 5.0)
_RESOLVE_NO_MAGICLINKS = 0x02
_RESOLVE_BENEATH = 0x08


class Skip(OSError):
    """A workspace file the daemon does not read. `kind` groups reasons for counting
    ("fifo", "socket", "device", "directory", "special", "too_large", "binary", "encoding",
    "unreadable", "outside_root"); `reason` is the short text users see."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason

    def __str__(self) -> str:
        return self.reason

    def __reduce__(self) -> tuple[type[Skip], tuple[str, str]]:  # crosses process pools
        return (Skip, (self.kind, self.reason))


def skip_for_mode(mode: int) -> Skip | None:
    """The skip for a file of this type (`st_mode`), None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return Skip("fifo", "fifo")
    if stat.S_ISSOCK(mode):
        return Skip("socket", "socket")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return Skip("device", "device")
    if stat.S_ISDIR(mode):
        return Skip("directory", "directory")
    return Skip("special", "special file")


def too_large(size: int, limit: int) -> Skip:
    return Skip("too_large", f"over size limit ({size} bytes; the limit is {limit})")


def _unreadable(exc: OSError) -> Skip:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return Skip("unreadable", "unreadable: permission denied")
    return Skip("unreadable", f"unreadable: {exc.strerror or exc}")


def outside_root() -> Skip:
    return Skip("outside_root", "outside the workspace root")


# -- opening beneath the root ---------------------------------------------------------------


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


class _Openat2:
    """The `openat2` system call through libc's `syscall`, until the kernel refuses it."""

    def __init__(self) -> None:
        self.available = hasattr(os, "O_PATH")
        self._syscall = None
        #: one `open_how` per flags, made once: the call costs half as much without building it
        self._hows: dict[int, tuple[object, int]] = {}
        if self.available:
            try:
                libc = ctypes.CDLL(None, use_errno=True)
                self._syscall = libc.syscall
                self._syscall.restype = ctypes.c_long
            except (OSError, AttributeError):
                self.available = False

    def __call__(self, dir_fd: int, rel: str, flags: int) -> int | None:
        """A descriptor, or None when the caller must walk (`openat2` is missing, refused by
        a sandbox, or the path goes through an absolute symlink)."""
        if not self.available or self._syscall is None:
            return None
        how = self._hows.get(flags)
        if how is None:
            made = _OpenHow(flags, 0, _RESOLVE_BENEATH | _RESOLVE_NO_MAGICLINKS)
            how = self._hows[flags] = (ctypes.pointer(made), ctypes.sizeof(made))
        name = os.fsencode(rel)
        for _attempt in range(3):
            fd = self._syscall(_SYS_OPENAT2, dir_fd, name, *how)
            if fd >= 0:
                return int(fd)
            code = ctypes.get_errno()
            if code == errno.EAGAIN:  # a rename raced the lookup: the kernel asks to retry
                continue
            if code in (errno.ENOSYS, errno.EINVAL, errno.E2BIG):
                self.available = False  # an old kernel: walk from now on
                return None
            if code in (errno.EXDEV, errno.EPERM):
                return None  # an absolute (or escaping) symlink, or a seccomp filter
            raise OSError(code, os.strerror(code), rel)
        return None


_openat2 = _Openat2()


def _walk_open(root: str, root_fd: int, rel: str, flags: int) -> int:
    """Open `rel` beneath `root_fd` one component at a time, never following a symlink
    without reading it first: one that leads out of the root raises `Skip`."""
    parts = [p for p in rel.split("/") if p not in ("", ".")][::-1]  # a stack: next on top
    if rel.startswith("/"):
        raise outside_root()
    fds = [os.dup(root_fd)]
    links = 0
    try:
        while parts:
            name = parts.pop()
            if name == "..":
                if len(fds) == 1:
                    raise outside_root()
                os.close(fds.pop())
                continue
            last = not parts
            try:
                fd = os.open(name, (flags if last else _DIR_FLAGS) | os.O_NOFOLLOW, dir_fd=fds[-1])
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise
                try:
                    target = os.readlink(name, dir_fd=fds[-1])
                except OSError as not_link:
                    if not_link.errno == errno.EINVAL:  # not a symlink: a file mid-path
                        raise FileNotFoundError(errno.ENOENT, "not a directory", rel) from None
                    raise
                links += 1
                if links > MAX_SYMLINKS:
                    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), rel) from None
                if target.startswith("/"):
                    inner = os.path.relpath(target, root)
                    if inner == ".." or inner.startswith("../"):
                        raise outside_root() from None
                    for extra in fds[1:]:
                        os.close(extra)
                    del fds[1:]
                    target = inner
                parts.extend(p for p in target.split("/")[::-1] if p not in ("", "."))
                continue
            if last:
                return fd
            fds.append(fd)
        # `rel` named the root itself (or walked back to it)
        return os.open(".", flags, dir_fd=fds[-1])
    finally:
        for fd in fds:
            os.close(fd)


def open_beneath(root: Path | str, rel: str, flags: int = _READ_FLAGS) -> int:
    """A descriptor of `rel` opened beneath `root` (see the module's docstring).

    Raises `FileNotFoundError` when it is not there, `Skip` when it leads out of the root or
    cannot be opened (unreadable; a socket), and `OSError` for what else the kernel says.
    """
    root_text = os.fspath(root)
    rel = rel or "."
    try:
        root_fd = os.open(root_text, _DIR_FLAGS)
    except OSError as exc:
        raise _as_missing_or_skip(exc) from None
    try:
        fd = _openat2(root_fd, rel, flags) if not rel.startswith("/") else None
        if fd is None:
            fd = _walk_open(root_text, root_fd, rel, flags)
        return fd
    except Skip:
        raise
    except OSError as exc:
        raise _as_missing_or_skip(exc) from None
    finally:
        os.close(root_fd)


def _as_missing_or_skip(exc: OSError) -> OSError:
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return FileNotFoundError(exc.errno, exc.strerror, exc.filename)
    if exc.errno == errno.ENXIO:  # what opening a Unix socket's file gives
        return Skip("socket", "socket")
    if exc.errno == errno.EXDEV:
        return outside_root()
    return _unreadable(exc)


# -- reading -------------------------------------------------------------------------------


class OpenFile:
    """A regular workspace file opened for reading (use it as a context manager)."""

    def __init__(self, fd: int, info: os.stat_result, limit: int) -> None:
        self.fd = fd
        self.stat = info
        self.limit = limit

    def chunks(self, size: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The content, chunk by chunk; `Skip` when it grows past the limit while read."""
        total = 0
        while chunk := os.read(self.fd, size):
            total += len(chunk)
            if total > self.limit:
                raise too_large(total, self.limit)
            yield chunk

    def read(self) -> bytes:
        return b"".join(self.chunks())

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> OpenFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_file(root: Path | str, rel: str, max_bytes: int) -> OpenFile:
    """`rel` opened beneath `root`, if it is a regular file of at most `max_bytes`; else
    `Skip` (or `FileNotFoundError`)."""
    fd = open_beneath(root, rel)
    try:
        info = os.fstat(fd)
        skip = skip_for_mode(info.st_mode)
        if skip is None and info.st_size > max_bytes:
            skip = too_large(info.st_size, max_bytes)
        if skip is not None:
            raise skip
        return OpenFile(fd, info, max_bytes)
    except BaseException:
        os.close(fd)
        raise


def read_bytes(root: Path | str, rel: str, max_bytes: int) -> bytes:
    """The content of workspace file `rel` (see `open_file`)."""
    with open_file(root, rel, max_bytes) as fh:
        return fh.read()


def read_text(root: Path | str, rel: str, max_bytes: int) -> str:
    """The content of workspace file `rel` as text, undecodable bytes replaced."""
    return read_bytes(root, rel, max_bytes).decode("utf-8", errors="replace")


def content_hash(root: Path | str, rel: str, max_bytes: int) -> str:
    """The content hash of workspace file `rel` (blake2b-128, as the core and every plugin
    hash files), read as `open_file` does."""
    digest = hashlib.blake2b(digest_size=16)
    with open_file(root, rel, max_bytes) as fh:
        for chunk in fh.chunks():
            digest.update(chunk)
    return digest.hexdigest()


# -- what a file holds ----------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),  # before UTF-16's: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
#: PEP 263: a Python file may name its encoding in a comment on its first or second line
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


def sniff(head: bytes) -> Skip | None:
    """Why a file starting with `head` (its first SNIFF_BYTES) is not text, or None."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return Skip("encoding", f"{name} text")
    if b"\0" not in head[:SNIFF_BYTES]:
        return None
    if _utf16_without_bom(head[:SNIFF_BYTES]):
        return Skip("encoding", "UTF-16 text")
    return Skip("binary", "binary (NUL bytes)")


def _utf16_without_bom(head: bytes) -> bool:
    """ASCII-range text in UTF-16: every other byte is NUL, the rest never are."""
    if len(head) < 4:
        return False
    even, odd = head[0::2], head[1::2]
    for zeros, other in ((odd, even), (even, odd)):
        if zeros.count(0) >= 0.9 * len(zeros) and 0 not in other:
            return True
    return False


def is_source(rel: str) -> bool:
    """Whether `rel` is in a source language the plugins parse (those must decode)."""
    dot = rel.rfind(".")
    return dot > rel.rfind("/") and rel[dot:].lower() in EXTENSIONS


def source_encoding(rel: str, head: bytes) -> str:
    """The encoding a source file is read in: UTF-8, or a Python file's declared one."""
    if rel.endswith((".py", ".pyi")):
        for line in head.split(b"\n", 2)[:2]:
            found = _CODING.match(line)
            if found is not None:
                return found.group(1).decode("ascii", errors="replace")
    return "utf-8"


@dataclass(frozen=True, slots=True)
class Hashed:
    """A regular text file as read: the stat of its descriptor and its content hash."""

    size: int
    mtime_ns: int
    digest: str


def hash_text_file(root: Path | str, rel: str, max_bytes: int) -> Hashed:
    """Open, hash (blake2b-128, as every plugin hashes) and sniff workspace file `rel`.

    `Skip` when it is no regular file, over `max_bytes`, unreadable, binary, UTF-16/32, or a
    source file that does not decode in its encoding."""
    with open_file(root, rel, max_bytes) as fh:
        digest = hashlib.blake2b(digest_size=16)
        decoder = None
        encoding = "utf-8"
        first = True
        try:
            for chunk in fh.chunks():
                if first:
                    first = False
                    skip = sniff(chunk[:SNIFF_BYTES])
                    if skip is not None:
                        raise skip
                    if is_source(rel):
                        encoding = source_encoding(rel, chunk[:SNIFF_BYTES])
                        decoder = _decoder(encoding)
                digest.update(chunk)
                if decoder is not None:
                    decoder.decode(chunk)
            if decoder is not None:
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise Skip("encoding", f"not {_encoding_name(encoding)} text") from None
        except OSError as exc:
            if isinstance(exc, Skip):
                raise
            raise _unreadable(exc) from None
        return Hashed(fh.stat.st_size, fh.stat.st_mtime_ns, digest.hexdigest())


def _encoding_name(encoding: str) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return encoding
    return "UTF-8" if name == "utf-8" else name


def _decoder(encoding: str) -> codecs.IncrementalDecoder:
    try:
        return codecs.getincrementaldecoder(encoding)()
    except LookupError:
        raise Skip("encoding", f"unknown encoding {encoding!r}") from None
