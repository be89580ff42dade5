"""One terminal session: a program on a PTY, its output read off the loop's readiness
callbacks, coalesced into frames, kept in a scrollback ring and pushed to its viewers.

Reading never blocks: the PTY's master side is non-blocking and read once per readiness
callback until it would block (at most `FRAME_MAX_BYTES`), and what was read is one frame:
a keystroke's echo goes at once, a flood fills whole frames. Frames are also held to
`FRAME_RATE` per second (a program writing a byte at a time is coalesced).
Past the daemon's `output_bytes_per_s` the PTY is not read for a while, so the program blocks
on its own writes. A viewer whose WebSocket has `VIEWER_MAX_QUEUED` messages waiting is slow:
it gets one `terminal.overflow {id, seq}` and no more live output until it attaches again
(`terminal.attach {since_seq: seq}` replays from the ring), so it never grows our memory.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loguru import logger

from aegisd.events import notification
from aegisd_terminal import group
from aegisd_terminal.marks import Finished, MarkScanner
from aegisd_terminal.ring import Frame, Scrollback
from aegisd_terminal.spawn import set_size

if TYPE_CHECKING:
    from aegisd.events import EventHub, Subscriber
    from aegisd_terminal.recording import Recording

READ_BYTES = 64 * 1024
#: frames per second a session sends at most (and a burst of them): past it, output waits
#: for the next frame's turn and is coalesced meanwhile
FRAME_RATE, FRAME_BURST = 1000.0, 64.0
FRAME_MAX_BYTES = 64 * 1024
VIEWER_MAX_QUEUED = 64
#: output read after the program exited (from its background jobs) before the PTY is closed
DRAIN_MAX_BYTES = 256 * 1024
OUTPUT, EXIT, OVERFLOW = "terminal.output", "terminal.exit", "terminal.overflow"


@dataclass
class SessionInfo:
    """What `terminal.list` and `terminal.open` tell about a session."""

    id: str
    pid: int
    argv: list[str]
    cwd: str
    workspace: str
    run: int | None
    cols: int
    rows: int
    created_at: str
    integration: bool


@dataclass
class Viewer:
    subscriber: Subscriber
    live: bool = True  # False after an overflow notice, until it attaches again


@dataclass
class Session:
    info: SessionInfo
    process: asyncio.subprocess.Process
    master: int
    ring: Scrollback
    hub: EventHub
    rate_bytes_s: int
    recording: Recording | None = None
    marks: MarkScanner | None = None
    on_commands: Callable[[Session, list[str], list[Finished]], None] | None = None
    viewers: dict[Subscriber, Viewer] = field(default_factory=dict)
    seq: int = 0
    exit_code: int | None = None
    exit_signal: str | None = None
    exited: asyncio.Event = field(default_factory=asyncio.Event)
    bytes_read: int = 0

    def __post_init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._flush_handle: asyncio.TimerHandle | None = None
        self._frames = float(FRAME_BURST)
        self._frames_at = self._loop.time()
        self._resume_handle: asyncio.TimerHandle | None = None
        self._tokens = float(self.rate_bytes_s) / 4
        self._refilled = time.monotonic()
        self._reading = False
        self._closed_fd = False
        self._input_backlog = bytearray()
        self._start_reading()
        self._watcher = asyncio.create_task(self._watch(), name=f"terminal-{self.info.id}")

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def running(self) -> bool:
        return not self.exited.is_set()

    # -- output ---------------------------------------------------------------------------------

    def _start_reading(self) -> None:
        if not self._reading and not self._closed_fd:
            self._loop.add_reader(self.master, self._on_readable)
            self._reading = True

    def _stop_reading(self) -> None:
        if self._reading:
            self._loop.remove_reader(self.master)
            self._reading = False

    def _on_readable(self) -> None:
        """Read what the PTY holds now (at most a frame's worth), then send it: a keystroke's
        echo goes at once, while a flood fills whole frames."""
        got = 0
        while got < FRAME_MAX_BYTES:
            try:
                chunk = os.read(self.master, READ_BYTES)
            except BlockingIOError:
                break
            except OSError:  # EIO: no process holds the PTY's other side any more
                chunk = b""
            if not chunk:
                self._stop_reading()
                break
            got += len(chunk)
            self._take(chunk)
        if got:
            self._throttle(got)
        self._frame_ready()

    def _take(self, chunk: bytes) -> None:
        self.bytes_read += len(chunk)
        self._pending.append(chunk)
        self._pending_size += len(chunk)
        if self._pending_size >= FRAME_MAX_BYTES:
            self._flush()

    def _frame_ready(self) -> None:
        """Send what is pending now, unless frames have come faster than `FRAME_RATE` (a
        program writing a byte at a time): then it waits for the next frame's turn."""
        if not self._pending or self._flush_handle is not None:
            return
        now = self._loop.time()
        self._frames = min(FRAME_BURST, self._frames + (now - self._frames_at) * FRAME_RATE)
        self._frames_at = now
        if self._frames >= 1:
            self._frames -= 1
            self._flush()
        else:
            wait = (1 - self._frames) / FRAME_RATE
            self._flush_handle = self._loop.call_later(wait, self._flush)

    def _throttle(self, size: int) -> None:
        """Token bucket over the bytes read: empty, stop reading until it has refilled."""
        now = time.monotonic()
        burst = self.rate_bytes_s / 4
        self._tokens = min(burst, self._tokens + (now - self._refilled) * self.rate_bytes_s)
        self._refilled = now
        self._tokens -= size
        if self._tokens < 0 and self._resume_handle is None:
            self._stop_reading()
            delay = -self._tokens / self.rate_bytes_s
            self._resume_handle = self._loop.call_later(delay, self._resume)

    def _resume(self) -> None:
        self._resume_handle = None
        if self.running:
            self._start_reading()

    def _flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        text = self._decoder.decode(data)
        if text:
            self._emit(text, len(data))

    def _emit(self, text: str, size: int) -> None:
        self.seq += 1
        self.ring.append(Frame(self.seq, text, size))
        if self.recording is not None:
            self.recording.output(text)
        if self.marks is not None and self.on_commands is not None:
            finished = self.marks.feed(text)
            if finished or self.marks.started:
                self.on_commands(self, self.marks.started, finished)
        if self.viewers:
            message = notification(OUTPUT, {"id": self.id, "seq": self.seq, "data": text})
            self._fan_out(message)

    def _fan_out(self, message: str) -> None:
        for subscriber, viewer in list(self.viewers.items()):
            if subscriber not in self.hub.subscribers:  # its WebSocket closed
                del self.viewers[subscriber]
            elif not viewer.live:
                continue
            elif subscriber.queued >= VIEWER_MAX_QUEUED:
                viewer.live = False
                overflow = {"id": self.id, "seq": self.seq - 1}
                subscriber.answer(notification(OVERFLOW, overflow))
                logger.debug("terminal {}: viewer {} is slow", self.id, subscriber.client)
            else:
                subscriber.offer(message, None)

    # -- viewers --------------------------------------------------------------------------------

    def attach(self, subscriber: Subscriber, since_seq: int | None) -> tuple[int, int]:
        """Replay the ring after `since_seq` (all of it when None) to `subscriber`, merged
        into frames of at most FRAME_MAX_BYTES, then keep it live; returns the last seq
        replayed (the latest: the rest were lost) and how many frames after `since_seq` the
        ring no longer holds."""
        self._flush()
        frames, lost = self.ring.since(-1 if since_seq is None else since_seq)
        if since_seq is None:
            lost = 0
        batch: list[str] = []
        size = 0
        last = since_seq or 0
        for frame in frames:
            batch.append(frame.data)
            size += frame.size
            last = frame.seq
            if size >= FRAME_MAX_BYTES:
                self._replay(subscriber, batch, last)
                batch, size = [], 0
        if batch:
            self._replay(subscriber, batch, last)
        self.viewers[subscriber] = Viewer(subscriber)
        if not self.running:
            subscriber.answer(notification(EXIT, self.exit_params()))
        return self.seq, lost

    def _replay(self, subscriber: Subscriber, texts: list[str], seq: int) -> None:
        params = {"id": self.id, "seq": seq, "data": "".join(texts)}
        subscriber.answer(notification(OUTPUT, params))  # never dropped: asked for

    def detach(self, subscriber: Subscriber) -> bool:
        return self.viewers.pop(subscriber, None) is not None

    # -- input and size -------------------------------------------------------------------------

    def write(self, data: bytes, backlog_max: int) -> int:
        """Write keystrokes; what the PTY does not take now is written as it drains. Returns
        the bytes still waiting. Raises BufferError past `backlog_max` waiting."""
        if len(self._input_backlog) + len(data) > backlog_max:
            raise BufferError("the program is not reading its input")
        self._input_backlog += data
        self._write_backlog()
        if self.recording is not None:
            self.recording.input(data.decode("utf-8", "replace"))
        return len(self._input_backlog)

    def _write_backlog(self) -> None:
        if self._closed_fd:
            self._input_backlog.clear()
            return
        try:
            written = os.write(self.master, self._input_backlog)
        except BlockingIOError:
            written = 0
        except OSError:
            self._input_backlog.clear()
            return
        del self._input_backlog[:written]
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_writer(self.master)
            if self._input_backlog:
                self._loop.add_writer(self.master, self._write_backlog)

    def resize(self, cols: int, rows: int) -> None:
        if not self._closed_fd:
            set_size(self.master, cols, rows)
        self.info.cols, self.info.rows = cols, rows
        if self.recording is not None:
            self.recording.resize(cols, rows)

    # -- ending ---------------------------------------------------------------------------------

    def exit_params(self) -> dict[str, Any]:
        return {"id": self.id, "code": self.exit_code, "signal": self.exit_signal}

    async def _watch(self) -> None:
        returncode = await self.process.wait()
        try:
            self._drain()
            self._flush()
        finally:
            self._close_fd()
        if returncode < 0:
            with contextlib.suppress(ValueError):
                self.exit_signal = signal.Signals(-returncode).name
            self.exit_signal = self.exit_signal or str(-returncode)
        else:
            self.exit_code = returncode
        if self.marks is not None and self.on_commands is not None:
            last = self.marks.ended(self.exit_code)
            if last is not None:
                self.on_commands(self, [], [last])
        message = notification(EXIT, self.exit_params())
        for subscriber in list(self.viewers):
            if subscriber in self.hub.subscribers:
                subscriber.answer(message)
        if self.recording is not None and self.recording.writer is not None:
            self.recording.writer.finish(self.recording.path)
        self.exited.set()

    def _drain(self) -> None:
        """What the program wrote before it exited is read whole (bounded), not lost."""
        taken = 0
        while taken < DRAIN_MAX_BYTES and not self._closed_fd:
            try:
                chunk = os.read(self.master, READ_BYTES)
            except OSError:
                return
            if not chunk:
                return
            taken += len(chunk)
            self._take(chunk)

    def _close_fd(self) -> None:
        if self._closed_fd:
            return
        self._stop_reading()
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_writer(self.master)
        for handle in (self._resume_handle, self._flush_handle):
            if handle is not None:
                handle.cancel()
        self._closed_fd = True
        os.close(self.master)

    async def close(self, grace_s: float) -> None:
        """Hang up every process of the session (SIGHUP, SIGKILL after `grace_s`) and wait
        for the program's exit."""
        await group.hang_up(self.info.pid, grace_s)
        if self.running:  # the leader outlived its SIGKILL? (cannot): wait for the reaper
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.exited.wait(), 5)

    async def finish(self, grace_s: float) -> None:
        """After the program exited: its leftover jobs hung up too (nothing left running)."""
        await self.exited.wait()
        await group.hang_up(self.info.pid, grace_s)
