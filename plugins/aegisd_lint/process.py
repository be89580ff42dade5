"""Run one command without blocking: its own process group, streamed stdout, a hard timeout.

The process is started with `subprocess.Popen` and followed on the event loop (its pipes as
asyncio transports, its exit through a pidfd) rather than with `asyncio.create_subprocess_exec`:
asyncio's default child watcher starts a thread per process, which made a short tool run
(ruff on one file) a few milliseconds slower.
"""

import asyncio
import contextlib
import functools
import os
import re
import resource
import shutil
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from aegisd.workers import disown_child, lower_priority, own_child

_CHUNK = 64 * 1024
#: what runtimes print when an allocation fails (Python, Rust, C++, libc's strerror)
_NO_MEMORY = re.compile(
    r"MemoryError|memory allocation of \d+ bytes failed|Cannot allocate memory|std::bad_alloc"
    r"|[Oo]ut of memory"
)
#: a peak this close to the limit means an allocation near it most likely failed (a tool
#: catching its MemoryError may say only "INTERNAL ERROR", as mypy does)
NEAR_LIMIT = 0.85


@dataclass(frozen=True)
class Exit:
    """How a command ended: `returncode` is None when it was killed at its timeout;
    `peak_kib` is the leader's peak resident size, when known."""

    returncode: int | None
    stderr: str
    sink_error: Exception | None = None  # what the stdout consumer raised, if it did
    peak_kib: int | None = None
    memory_limit_mb: int | None = None

    @property
    def timed_out(self) -> bool:
        return self.returncode is None

    @property
    def out_of_memory(self) -> bool:
        """The process most likely ran into its memory limit: it failed, and said an
        allocation failed or peaked near the limit."""
        if self.memory_limit_mb is None or self.returncode in (None, 0):
            return False
        if _NO_MEMORY.search(self.stderr[-8192:]):
            return True
        limit_kib = self.memory_limit_mb * 1024
        return self.peak_kib is not None and self.peak_kib >= limit_kib * NEAR_LIMIT


async def execute(
    argv: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    timeout_s: float,
    on_stdout: Callable[[bytes], None],
    stdin: bytes | None = None,
    background: bool = False,
    max_memory_mb: int | None = None,
) -> Exit:
    """Run `argv` (never through a shell), passing stdout to `on_stdout` chunk by chunk and
    writing `stdin` (if any) to its standard input.

    With `max_memory_mb`, the process (and what it starts) may not use more memory than
    that: RLIMIT_DATA, set with `prlimit` as soon as it runs (no `preexec_fn`: unsafe with
    threads). Not RLIMIT_AS: it counts address space merely reserved, which broke ruff
    (SIGSEGV) and made mypy spin near the limit instead of failing.

    The command leads a new process group, so at the timeout (or when the caller is
    cancelled) the whole group, children included, gets SIGKILL; a group rather than a new
    session, as `setsid` made every short run several milliseconds slower. A `background`
    command (a whole-workspace pass) runs at a lower CPU priority, so that an edit's quick
    pass and the daemon's own requests win the cores. Raises OSError when it cannot start.
    """
    # Popen only forks and execs (as create_subprocess_exec does), it does not wait
    proc = subprocess.Popen(  # noqa: ASYNC220
        [*_dies_with_us(), *argv],
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        process_group=0,
    )
    own_child(proc.pid, "lint")
    try:
        return await _follow(proc, on_stdout, stdin, timeout_s, background, max_memory_mb)
    finally:
        disown_child(proc.pid)


async def _follow(
    proc: subprocess.Popen[bytes],
    on_stdout: Callable[[bytes], None],
    stdin: bytes | None,
    timeout_s: float,
    background: bool,
    max_memory_mb: int | None,
) -> Exit:
    """`execute` once the process runs: its priority and limit, its pipes, its exit."""
    if background:
        lower_priority(proc.pid)
    if max_memory_mb is not None:
        limit_memory(proc.pid, max_memory_mb)
    stderr = bytearray()
    sink_errors: list[Exception] = []

    def guarded(chunk: bytes) -> None:
        # a consumer that raised once gets nothing more, but the pipe keeps draining
        if sink_errors:
            return
        try:
            on_stdout(chunk)
        except Exception as exc:
            sink_errors.append(exc)

    pipes = _Pipes(proc)
    try:
        async with asyncio.timeout(timeout_s):
            if stdin is not None:
                await pipes.write(stdin)
            # a task group, not gather: cancelled, it waits for both readers to stop
            async with asyncio.TaskGroup() as readers:
                readers.create_task(pipes.pump(proc.stdout, guarded))
                readers.create_task(pipes.pump(proc.stderr, stderr.extend))
            returncode: int | None = await _exited(proc)
    except TimeoutError:
        returncode = None
    finally:
        if proc.returncode is None:
            await _kill_group(proc)
        pipes.close()
    text = stderr.decode(errors="replace")
    peak = getattr(proc, "peak_kib", None)
    return Exit(returncode, text, sink_errors[0] if sink_errors else None, peak, max_memory_mb)


@functools.cache
def _dies_with_us() -> tuple[str, ...]:
    """A prefix that makes the tool die with the daemon, even a daemon killed by SIGKILL (a
    whole-workspace mypy or pytest run went on for minutes after it): util-linux's `setpriv`
    sets the parent-death signal and execs the tool in place (same pid; no `preexec_fn`,
    unsafe with threads). The daemon starts tools from its main thread, whose end is the
    process's. Without `setpriv` (not Linux), none."""
    found = shutil.which("setpriv")
    return () if found is None else (found, "--pdeathsig", "KILL", "--")


def limit_memory(pid: int, megabytes: int) -> None:
    """Cap the data memory (heap, anonymous mappings) of the running process `pid`."""
    prlimit = getattr(resource, "prlimit", None)  # Linux
    if prlimit is None:
        return
    limit = megabytes * 1024 * 1024
    with contextlib.suppress(ProcessLookupError):  # gone already: its exit says why
        prlimit(pid, resource.RLIMIT_DATA, (limit, limit))


class _Pipes:
    """The child's pipes as asyncio transports; `close` closes them all, and the pipes that
    never got a transport (a run cancelled early)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self._proc = proc
        self._transports: list[asyncio.BaseTransport] = []
        self._taken: list[IO[bytes] | None] = []

    async def write(self, data: bytes) -> None:
        """Write `data` to the child's stdin, then end it: at once as far as the pipe takes it
        (a small input whole, so the child need not wait for the loop to come round), the rest
        through a transport as the child reads."""
        pipe = self._proc.stdin
        if pipe is None:  # Popen was given PIPE; this narrows the type
            raise OSError("subprocess stdin missing")
        os.set_blocking(pipe.fileno(), False)
        try:
            done = os.write(pipe.fileno(), data)
        except BlockingIOError:
            done = 0
        except BrokenPipeError:
            done = len(data)  # the child is gone: its exit says why
        if done == len(data):
            pipe.close()
            return
        self._taken.append(pipe)
        transport, _ = await asyncio.get_running_loop().connect_write_pipe(asyncio.Protocol, pipe)
        self._transports.append(transport)
        transport.write(data[done:])
        transport.close()

    async def pump(self, pipe: IO[bytes] | None, sink: Callable[[bytes], None]) -> None:
        """Pass what `pipe` yields to `sink` until its end."""
        self._taken.append(pipe)
        stream = asyncio.StreamReader()
        transport, _ = await asyncio.get_running_loop().connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(stream), pipe
        )
        self._transports.append(transport)
        while chunk := await stream.read(_CHUNK):
            sink(chunk)

    def close(self) -> None:
        for transport in self._transports:
            transport.close()  # a transport closes its pipe itself, once it is done with it
        for pipe in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            if pipe is not None and pipe not in self._taken:
                pipe.close()


async def _exited(proc: subprocess.Popen[bytes]) -> int:
    """Wait for `proc` to end without blocking the loop, reap it and return its exit code
    (its peak resident size goes to `proc.peak_kib`)."""
    pidfd_open = getattr(os, "pidfd_open", None)  # Linux 5.3+
    if pidfd_open is None:
        return await asyncio.to_thread(_reap, proc)
    loop = asyncio.get_running_loop()
    fd = pidfd_open(proc.pid)  # the child is not reaped yet, so its pid is still its own
    try:
        readable: asyncio.Future[None] = loop.create_future()

        def on_readable() -> None:
            if not readable.done():
                readable.set_result(None)

        loop.add_reader(fd, on_readable)
        try:
            await readable  # a pidfd becomes readable when its process exits
        finally:
            loop.remove_reader(fd)
    finally:
        os.close(fd)
    return _reap(proc)


def _reap(proc: subprocess.Popen[bytes]) -> int:
    """Reap `proc` with `wait4`, which also tells its peak resident size."""
    if proc.returncode is None:
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except ChildProcessError:  # reaped elsewhere already
            return proc.wait()
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.peak_kib = usage.ru_maxrss  # type: ignore[attr-defined]
    return proc.returncode


async def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process group led by `proc` and reap the leader."""
    # the leader is not reaped yet, so its pid (the group id) cannot have been reused
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    await asyncio.shield(_exited(proc))


def tool_env(python: Path | None) -> dict[str, str]:
    """The environment tools run in: the daemon's, with the workspace virtualenv activated.

    Bytecode writing is off so no `__pycache__` appears inside the workspace. The
    interpreter's directory leads PATH (what a test starts finds the same Python); it is
    announced as VIRTUAL_ENV when it is one.
    """
    env = dict(os.environ)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if python is not None:
        venv = python.parent.parent
        if (venv / "pyvenv.cfg").is_file():
            env["VIRTUAL_ENV"] = str(venv)
        env["PATH"] = os.pathsep.join([str(python.parent), env.get("PATH", os.defpath)])
    return env
