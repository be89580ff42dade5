"""Run one command without blocking: its own process group, streamed stdout, a hard timeout."""

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Exit:
    """How a command ended: `returncode` is None when it was killed at its timeout."""

    returncode: int | None
    stderr: str
    sink_error: Exception | None = None  # what the stdout consumer raised, if it did

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


async def execute(
    argv: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    timeout_s: float,
    on_stdout: Callable[[bytes], None],
) -> Exit:
    """Run `argv` (never through a shell), passing stdout to `on_stdout` chunk by chunk.

    The command leads a new process group, so at the timeout (or when the caller is
    cancelled) the whole group, children included, gets SIGKILL; a group rather than a new
    session, as `setsid` made every short run several milliseconds slower. Raises OSError
    when it cannot start.
    """
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        process_group=0,
    )
    if proc.stdout is None or proc.stderr is None:  # both are PIPE; this narrows the types
        raise OSError("subprocess pipes missing")
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

    try:
        async with asyncio.timeout(timeout_s):
            # a task group, not gather: cancelled, it waits for both readers to stop, so the
            # pipes are free for _kill_group to drain
            async with asyncio.TaskGroup() as readers:
                readers.create_task(_pump(proc.stdout, guarded))
                readers.create_task(_pump(proc.stderr, stderr.extend))
            returncode: int | None = await proc.wait()
    except TimeoutError:
        returncode = None
    finally:
        if proc.returncode is None:
            await _kill_group(proc)
    text = stderr.decode(errors="replace")
    return Exit(returncode, text, sink_errors[0] if sink_errors else None)


async def _pump(stream: asyncio.StreamReader, sink: Callable[[bytes], None]) -> None:
    while chunk := await stream.read(_CHUNK):
        sink(chunk)


async def _kill_group(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL the process group led by `proc`, reap it and drain its pipes."""
    # the leader is not reaped yet, so its pid (the group id) cannot have been reused
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    await proc.wait()
    # read to EOF so the transport closes now rather than warning when collected
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(5):
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    while await stream.read(_CHUNK):
                        pass


def tool_env(python: Path | None) -> dict[str, str]:
    """The environment tools run in: the daemon's, with the workspace virtualenv activated.

    Bytecode writing is off so no `__pycache__` appears inside the workspace.
    """
    env = dict(os.environ)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if python is not None:
        venv = python.parent.parent
        env["VIRTUAL_ENV"] = str(venv)
        env["PATH"] = os.pathsep.join([str(python.parent), env.get("PATH", os.defpath)])
    return env
