"""`aegisd audit exec`: run a command, pass its output through as it comes, and keep a capped copy.

Runs in the CLI process (synchronous, stdlib only). The child inherits stdin and the terminal's
process group; its stdout and stderr go through pipes (so a child that buffers when not writing
to a terminal shows its output in bigger chunks, as under `tee`).
"""

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Protocol

OUTPUT_MAX_BYTES = 16 * 1024
EXIT_NOT_FOUND = 127  # as shells report a command that does not exist
EXIT_NOT_RUNNABLE = 126  # as shells report one that cannot be executed
_FORWARDED = (signal.SIGINT, signal.SIGTERM)


class Sink(Protocol):
    """Where the child's output is passed through (a binary stream such as sys.stdout.buffer)."""

    def write(self, data: bytes, /) -> object: ...

    def flush(self) -> object: ...


@dataclass(frozen=True)
class CapturedOutput:
    """A stream's output: all of it when it fits the cap, else its head and tail around a
    marker (`truncated`). `total_bytes` counts everything the child wrote."""

    text: str
    total_bytes: int
    truncated: bool


@dataclass(frozen=True)
class CommandOutcome:
    """How a command ended. `exit_code` follows the shell: 128+N when killed by signal N (then
    `signal` is N), 127 when not found and 126 when not runnable (then `error` says why)."""

    argv: list[str]
    cwd: str
    exit_code: int
    signal: int | None
    duration_ms: int
    stdout: CapturedOutput
    stderr: CapturedOutput
    error: str | None


def run_and_capture(
    argv: list[str],
    cwd: Path | str,
    output_cap: int = OUTPUT_MAX_BYTES,
    *,
    stdout: Sink | None = None,
    stderr: Sink | None = None,
) -> CommandOutcome:
    """Run `argv` in `cwd`, streaming its stdout/stderr to ours (or the given sinks) as it comes
    and keeping at most `output_cap` bytes of each. SIGINT and SIGTERM received meanwhile are
    forwarded to the child (only when called from the main thread, where handlers can be set)."""
    if not argv:
        raise ValueError("empty command")
    out_sink = stdout or sys.stdout.buffer
    err_sink = stderr or sys.stderr.buffer
    started = time.monotonic()
    try:
        child = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        code = EXIT_NOT_FOUND if isinstance(exc, FileNotFoundError) else EXIT_NOT_RUNNABLE
        empty = CapturedOutput("", 0, False)
        error = f"{exc.filename or argv[0]}: {exc.strerror or exc}"  # filename: command or cwd
        return CommandOutcome(argv, str(cwd), code, None, _ms_since(started), empty, empty, error)
    assert child.stdout is not None and child.stderr is not None  # both are PIPE above
    captures = (_HeadTail(output_cap), _HeadTail(output_cap))
    pumps = [
        threading.Thread(target=_pump, args=(child.stdout, out_sink, captures[0]), daemon=True),
        threading.Thread(target=_pump, args=(child.stderr, err_sink, captures[1]), daemon=True),
    ]
    with child:  # closes the pipes on the way out
        for pump in pumps:
            pump.start()
        with _forwarding_signals(child):
            returncode = child.wait()
        for pump in pumps:
            pump.join()
    killed_by = -returncode if returncode < 0 else None
    return CommandOutcome(
        argv=argv,
        cwd=str(cwd),
        exit_code=128 + killed_by if killed_by else returncode,
        signal=killed_by,
        duration_ms=_ms_since(started),
        stdout=captures[0].result(),
        stderr=captures[1].result(),
        error=None,
    )


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


class _HeadTail:
    """Keeps a stream's first and last bytes, half of `cap` each (all of it when it fits)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.cap - self.cap // 2 - len(self.head)
        self.head += chunk[: max(room, 0)]
        self.tail += chunk[max(room, 0) :]
        del self.tail[: max(0, len(self.tail) - self.cap // 2)]

    def result(self) -> CapturedOutput:
        if self.total <= self.cap:
            data = bytes(self.head + self.tail)
            return CapturedOutput(data.decode(errors="replace"), self.total, False)
        omitted = self.total - len(self.head) - len(self.tail)
        text = (
            self.head.decode(errors="replace")
            + f"\n…[{omitted} bytes omitted]…\n"
            + self.tail.decode(errors="replace")
        )
        return CapturedOutput(text, self.total, True)


def _pump(stream: IO[bytes], sink: Sink, capture: _HeadTail) -> None:
    # os.read returns what is there now, where stream.read would wait to fill its buffer.
    passing = True
    while chunk := os.read(stream.fileno(), 65536):
        capture.add(chunk)
        if passing:
            try:
                sink.write(chunk)
                sink.flush()
            except (OSError, ValueError):  # our output is gone; drain on so the child never blocks
                passing = False


@contextmanager
def _forwarding_signals(child: "subprocess.Popen[bytes]") -> Iterator[None]:
    """While active, SIGINT/SIGTERM sent to us are sent on to `child`."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def forward(signum: int, frame: FrameType | None) -> None:
        # Ctrl-C at a terminal already reached the child, which shares our process group:
        # sending it a second SIGINT could interrupt its own clean-up.
        if signum == signal.SIGINT and _terminal_foreground():
            return
        child.send_signal(signum)

    previous = {signum: signal.signal(signum, forward) for signum in _FORWARDED}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _terminal_foreground() -> bool:
    """Whether our process group is the foreground group of the terminal on fd 0, 1 or 2."""
    for fd in (0, 1, 2):
        try:
            if os.tcgetpgrp(fd) == os.getpgrp():
                return True
        except OSError:
            continue
    return False
