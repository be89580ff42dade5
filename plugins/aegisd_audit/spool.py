"""The agent hook's spool: payloads kept in the state dir while no daemon answers, replayed by the
daemon when it starts.

Format: JSON lines, ``{"id": <uuid4 hex>, "at": <ISO 8601 UTC>, "payload": {...}}``, file mode
0600. Writers (`SpoolWriter.append`, one per hook process) take an exclusive `flock` on the file,
finish a line left half-written by a writer that died, append one whole line and fsync, so
concurrent hooks never interleave or tear entries.

Replay is exactly-once with this protocol:

1. `SpoolReader.read_pending()` first *claims* the spool: under the same lock it renames the file
   to ``<name>.<ns timestamp>.processing`` (a writer that was waiting for the lock notices the
   rename and appends to a fresh spool instead, so nothing lands in a file already read). It then
   returns the entries of every claimed file, oldest first, including files claimed by an earlier
   replay that crashed before finishing.
2. The daemon applies each entry and records its id in its database *in the same transaction*;
   it skips entries whose id is already recorded. A crash anywhere in this step loses nothing and
   repeats nothing: the claimed files are still there, and done entries are recognised by id.
3. `SpoolReader.finish()` deletes the claimed files. Only after that may the daemon forget the
   recorded ids (a crash in between leaves a few stale ids, which are harmless).

Lines that are not a complete entry (a writer killed mid-write) are skipped and counted in
`SpoolReader.skipped`. Standard library only, as the hook uses it.
"""

import fcntl
import json
import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

SPOOL_FILENAME = "audit-hook-spool.jsonl"


class SpoolEntry(NamedTuple):
    """One spooled payload: its unique id, the payload, and when the hook spooled it."""

    id: str
    payload: dict[str, Any]
    at: str


class SpoolWriter:
    """Appends payloads to the spool at `path`; safe with concurrent writer processes."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, payload: dict[str, Any]) -> str:
        """Append `payload` durably (fsync) and return its entry id."""
        entry_id = uuid.uuid4().hex
        at = datetime.now(UTC).isoformat(timespec="milliseconds")
        entry = {"id": entry_id, "at": at, "payload": payload}
        line = (json.dumps(entry, separators=(",", ":")) + "\n").encode()
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                if not _is_current(fd, self.path):
                    continue  # the reader claimed this file while we waited: reopen
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    line = b"\n" + line  # end a line torn by a writer that died
                _write_all(fd, line)
                os.fsync(fd)
                return entry_id
            finally:
                os.close(fd)  # also releases the lock


class SpoolReader:
    """Claims and reads the spool at `path` for replay (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.skipped = 0
        self._claimed: list[Path] = []

    def read_pending(self) -> list[SpoolEntry]:
        """Claim the spool and return every entry not yet finished, oldest first."""
        self._claim()
        self._claimed = sorted(self.path.parent.glob(f"{self.path.name}.*.processing"))
        self.skipped = 0
        entries: list[SpoolEntry] = []
        for claimed in self._claimed:
            for line in claimed.read_bytes().splitlines():
                entry = _parse(line)
                if entry is None:
                    self.skipped += 1
                else:
                    entries.append(entry)
        return entries

    def finish(self) -> None:
        """Delete the files `read_pending` returned entries from: their replay is done."""
        for claimed in self._claimed:
            claimed.unlink(missing_ok=True)
        self._claimed = []

    def _claim(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            # Zero-padded so that names sort in claim order.
            os.rename(
                self.path, self.path.with_name(f"{self.path.name}.{time.time_ns():020d}.processing")
            )
        finally:
            os.close(fd)


def _is_current(fd: int, path: Path) -> bool:
    """Whether `fd` is still the file at `path` (not renamed away by a claim)."""
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]


def _parse(line: bytes) -> SpoolEntry | None:
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    if not isinstance(entry, dict):
        return None
    entry_id, payload, at = entry.get("id"), entry.get("payload"), entry.get("at")
    if isinstance(entry_id, str) and isinstance(payload, dict) and isinstance(at, str):
        return SpoolEntry(entry_id, payload, at)
    return None
