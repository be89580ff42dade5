"""asciicast v2 recordings (https://docs.asciinema.org/manual/asciicast/v2/), written off the
event loop: one writer thread for every session, fed through a queue.

A recording is a header line (`version`, `width`, `height`, `timestamp`, `env`, `title`) then
one JSON array per event: `[seconds, "o", text]` for output, `[seconds, "i", text]` for input
(only when the workspace's `terminal.record_input` is on), `[seconds, "r", "COLSxROWS"]` for a
resize. Past `max_bytes` output stops being recorded and one `"m"` marker says so.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from loguru import logger

RECORDINGS_DIR = "terminal-recordings"


@dataclass
class Recording:
    """One session's recording as the loop sees it (the file belongs to the writer thread)."""

    path: Path
    started: float
    max_bytes: int
    record_input: bool
    written: int = 0
    full: bool = False
    writer: RecordingWriter | None = field(default=None, repr=False)

    def output(self, text: str) -> None:
        self._event("o", text)

    def input(self, text: str) -> None:
        if self.record_input:
            self._event("i", text)

    def resize(self, cols: int, rows: int) -> None:
        self._event("r", f"{cols}x{rows}")

    def _event(self, kind: str, text: str) -> None:
        if self.full or self.writer is None:
            return
        line = json.dumps([round(time.monotonic() - self.started, 6), kind, text])
        self.written += len(line) + 1
        if self.written > self.max_bytes:
            self.full = True
            line = json.dumps([round(time.monotonic() - self.started, 6), "m", "recording full"])
        self.writer.put(self.path, line)


class RecordingWriter:
    """The thread writing every recording; `put` never blocks the loop."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[str, Path, Any]] = queue.SimpleQueue()
        self._files: dict[Path, IO[str]] = {}
        self._thread = threading.Thread(target=self._run, name="terminal-recorder", daemon=True)
        self._thread.start()

    def start(
        self, path: Path, header: dict[str, Any], max_bytes: int, record_input: bool
    ) -> Recording:
        recording = Recording(path, time.monotonic(), max_bytes, record_input, writer=self)
        self._queue.put(("open", path, json.dumps(header)))
        return recording

    def put(self, path: Path, line: str) -> None:
        self._queue.put(("line", path, line))

    def finish(self, path: Path) -> None:
        self._queue.put(("close", path, None))

    async def sync(self) -> None:
        """Wait until everything queued so far is written and flushed."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def settle() -> None:
            if not done.done():
                done.set_result(None)

        def wake() -> None:
            loop.call_soon_threadsafe(settle)

        self._queue.put(("sync", Path(), wake))
        await done

    def stop(self) -> None:
        """Close every file and end the thread (waits for it: call from a thread)."""
        self._queue.put(("stop", Path(), None))
        self._thread.join(10)

    def _run(self) -> None:
        while True:
            op, path, value = self._queue.get()
            try:
                if op == "stop":
                    break
                self._do(op, path, value)
            except OSError as exc:
                logger.warning("terminal: recording {} failed: {}", path, exc)
        for fh in self._files.values():
            fh.close()
        self._files.clear()

    def _do(self, op: str, path: Path, value: Any) -> None:
        if op == "open":
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            self._files[path] = os.fdopen(fd, "w", encoding="utf-8", errors="surrogatepass")
            self._files[path].write(value + "\n")
        elif op == "line" and path in self._files:
            self._files[path].write(value + "\n")
        elif op == "close" and path in self._files:
            self._files.pop(path).close()
        elif op == "sync":
            for fh in self._files.values():
                fh.flush()
            callback: Callable[[], None] = value
            callback()


def prune(directory: Path, older_than: dict[str, float], keep: set[Path]) -> list[Path]:
    """Delete recordings in `directory/<workspace id>/` last written before
    `older_than[workspace id]` (a time.time()), but those in `keep` (sessions still
    running); returns them. Call from a thread."""
    removed: list[Path] = []
    for ws_id, cutoff in older_than.items():
        folder = directory / ws_id
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        for entry in entries:
            if Path(entry.path) in keep or not entry.name.endswith(".cast"):
                continue
            if entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed
