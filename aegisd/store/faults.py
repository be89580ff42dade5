"""What failed when a store operation failed: the statement, or the database under it.

A statement's own failure (a constraint, a bug in its SQL) belongs to its caller. A database
failure (busy, disk full, corrupted, the file deleted under us, I/O errors) is the store's to
handle through its one policy (`Store._run`): retried when busy, otherwise a *fault*, answered
UNAVAILABLE with a message that says what to do, counted, shown in `daemon.health`. A fault is
*sticky* when the database will not heal by itself (corrupted, or its file gone: every later
write would be lost) and every later operation is refused until the daemon restarts.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import peewee

FaultKind = Literal["disk_full", "corrupt", "file_gone", "io_error", "read_only"]

# SQLite's primary result codes (the low byte of an extended code)
_BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 5, 6, 8, 10, 11, 13, 14, 26
_READONLY_DBMOVED = 1032
_KINDS: dict[int, FaultKind] = {
    _FULL: "disk_full",
    _CORRUPT: "corrupt",
    _NOTADB: "corrupt",
    _IOERR: "io_error",
    _CANTOPEN: "io_error",
    _READONLY: "read_only",
}
STICKY: frozenset[FaultKind] = frozenset({"corrupt", "file_gone"})


@dataclass(frozen=True)
class Fault:
    """A database failure: its kind, what the client is told, and whether it lasts."""

    kind: FaultKind
    message: str

    @property
    def sticky(self) -> bool:
        return self.kind in STICKY


class StoreFault(Exception):
    """Raised on the DB thread when the database failed in a way SQLite does not report
    (its file deleted or replaced), or while a sticky fault stands."""

    def __init__(self, fault: Fault) -> None:
        super().__init__(fault.message)
        self.fault = fault


def sqlite_errors(exc: BaseException) -> list[sqlite3.Error]:
    """The sqlite3 errors behind `exc`, outermost first: peewee wraps each one (keeping it as
    `orig`), and a failure in the rollback that follows (SQLite already rolled back after
    SQLITE_FULL: "cannot rollback - no transaction is active") hides the first as context."""
    found: list[sqlite3.Error] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < 16:
        seen.add(id(current))
        orig = getattr(current, "orig", None)
        for candidate in (current, orig):
            if isinstance(candidate, sqlite3.Error) and candidate not in found:
                found.append(candidate)
        suppressed = current.__suppress_context__  # `raise ... from None`: not its cause
        current = current.__cause__ or (None if suppressed else current.__context__)
    return found


def _codes(exc: BaseException) -> list[int]:
    return [
        code
        for error in sqlite_errors(exc)
        if (code := getattr(error, "sqlite_errorcode", None)) is not None
    ]


def is_busy(exc: BaseException) -> bool:
    """Another connection holds the lock: worth retrying."""
    codes = _codes(exc)
    if codes:
        return any(code & 0xFF in (_BUSY, _LOCKED) for code in codes)
    if not isinstance(exc, peewee.OperationalError | sqlite3.OperationalError):
        return False  # a caller's own error, whatever its message says
    message = str(exc).lower()
    return "locked" in message or "busy" in message


def classify(exc: BaseException, path: Path) -> Fault | None:
    """The fault `exc` is (or was caused by), or None when it is not a database failure."""
    if isinstance(exc, StoreFault):
        return exc.fault
    for error in sqlite_errors(exc):
        code = getattr(error, "sqlite_errorcode", None)
        if code is None:
            continue
        if code == _READONLY_DBMOVED:
            return file_gone(path)
        kind = _KINDS.get(code & 0xFF)
        if kind is not None:
            name = getattr(error, "sqlite_errorname", f"code {code}")
            return Fault(kind, _MESSAGES[kind].format(path=path, name=name))
    return None


def file_gone(path: Path) -> Fault:
    return Fault("file_gone", _MESSAGES["file_gone"].format(path=path, name=""))


_MESSAGES: dict[FaultKind, str] = {
    "disk_full": "the disk holding the database {path} is full ({name}): nothing was stored; "
    "free some space, writes resume by themselves",
    "corrupt": "the database {path} is corrupted ({name}): nothing more is read or written; "
    "stop aegisd, move the file away (or restore a backup) and start it again",
    "file_gone": "the database file {path} was deleted or replaced while aegisd ran: writes "
    "are refused, since they would be lost; restart aegisd",
    "io_error": "the database {path} could not be read or written ({name}); try again",
    "read_only": "the database {path} cannot be written ({name}): check its permissions",
}


def database_failed(exc: BaseException) -> bool:
    """Whether `exc` is the database failing (busy, full, corrupted, I/O, interrupted) rather
    than one statement's own error (a constraint, bad SQL). A batch of writes must not
    swallow the former per write: the whole batch fails, and the store's policy decides."""
    if isinstance(exc, StoreFault):
        return True
    codes = _codes(exc)
    if not codes:
        return is_busy(exc)
    return any(code & 0xFF in _FAILURES for code in codes)


_FAILURES = frozenset({_BUSY, _LOCKED, *_KINDS, 9})  # 9: SQLITE_INTERRUPT (the store's timeout)


@dataclass(frozen=True)
class FileIdentity:
    """The database file's device and inode, as opened: a write through a connection whose
    file was deleted or replaced since is a write nobody will ever read."""

    path: Path
    dev: int
    ino: int

    @classmethod
    def of(cls, path: Path) -> FileIdentity:
        info = os.stat(path)
        return cls(path, info.st_dev, info.st_ino)

    def still_there(self) -> bool:
        try:
            info = os.stat(self.path)
        except OSError:
            return False
        return (info.st_dev, info.st_ino) == (self.dev, self.ino)
