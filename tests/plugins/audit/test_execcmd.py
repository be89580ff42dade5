import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from aegisd_audit.execcmd import CapturedOutput, run_and_capture

PY = sys.executable
ROOT = Path(__file__).resolve().parents[3]


class Recorder:
    """A sink that keeps what it was given and can react to it as it arrives."""

    def __init__(self, on_write: Callable[[bytes], None] | None = None) -> None:
        self.data = bytearray()
        self.on_write = on_write

    def write(self, data: bytes) -> int:
        self.data += data
        if self.on_write:
            self.on_write(bytes(self.data))
        return len(data)

    def flush(self) -> None:
        pass


def test_exit_code_and_both_streams(tmp_path: Path) -> None:
    out, err = Recorder(), Recorder()
    code = "import os, sys; print(os.getcwd()); print('oops', file=sys.stderr); sys.exit(3)"
    outcome = run_and_capture([PY, "-c", code], tmp_path, 1024, stdout=out, stderr=err)
    assert outcome.exit_code == 3
    assert outcome.signal is None
    assert outcome.error is None
    assert outcome.stdout == CapturedOutput(f"{tmp_path}\n", len(f"{tmp_path}\n"), False)
    assert outcome.stderr == CapturedOutput("oops\n", 5, False)
    assert bytes(out.data) == f"{tmp_path}\n".encode()
    assert bytes(err.data) == b"oops\n"
    assert outcome.argv == [PY, "-c", code]
    assert outcome.cwd == str(tmp_path)
    assert outcome.duration_ms >= 0


def test_output_is_passed_through_as_it_comes(tmp_path: Path) -> None:
    # The child prints, then waits for a file that the sink creates when it sees the line:
    # if output only arrived at the end, the child would wait in vain and exit 1.
    flag = tmp_path / "seen"
    child = textwrap.dedent(
        f"""
        import os, sys, time
        print("ready", flush=True)
        for _ in range(3000):
            if os.path.exists({str(flag)!r}):
                print("done", flush=True)
                sys.exit(0)
            time.sleep(0.01)
        sys.exit(1)
        """
    )
    out = Recorder(lambda seen: flag.touch() if b"ready" in seen else None)
    outcome = run_and_capture([PY, "-c", child], tmp_path, 1024, stdout=out, stderr=Recorder())
    assert outcome.exit_code == 0
    assert bytes(out.data) == b"ready\ndone\n"


def test_large_output_keeps_head_and_tail(tmp_path: Path) -> None:
    out = Recorder()
    code = "import sys; sys.stdout.write(''.join(f'{i:05d}\\n' for i in range(20000)))"
    outcome = run_and_capture([PY, "-c", code], tmp_path, 1200, stdout=out, stderr=Recorder())
    assert len(out.data) == 120_000  # everything passed through
    assert outcome.stdout.truncated
    assert outcome.stdout.total_bytes == 120_000
    head, marker, tail = outcome.stdout.text.partition("\n…[118800 bytes omitted]…\n")
    assert marker
    assert head == "".join(f"{i:05d}\n" for i in range(100))
    assert tail == "".join(f"{i:05d}\n" for i in range(19900, 20000))


def test_output_exactly_at_the_cap_is_whole(tmp_path: Path) -> None:
    code = "import sys; sys.stdout.write('x' * 1000)"
    outcome = run_and_capture(
        [PY, "-c", code], tmp_path, 1000, stdout=Recorder(), stderr=Recorder()
    )
    assert outcome.stdout == CapturedOutput("x" * 1000, 1000, False)


def test_missing_command_is_exit_127_with_an_error(tmp_path: Path) -> None:
    outcome = run_and_capture(["aegisd-no-such-command"], tmp_path, 100)
    assert outcome.exit_code == 127
    assert outcome.error == "aegisd-no-such-command: No such file or directory"
    assert outcome.stdout == CapturedOutput("", 0, False)


def test_missing_directory_is_named_in_the_error(tmp_path: Path) -> None:
    outcome = run_and_capture([PY, "-c", "pass"], tmp_path / "gone", 100)
    assert outcome.exit_code == 127
    assert outcome.error == f"{tmp_path / 'gone'}: No such file or directory"


def test_non_executable_file_is_exit_126(tmp_path: Path) -> None:
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    outcome = run_and_capture([str(script)], tmp_path, 100)
    assert outcome.exit_code == 126
    assert outcome.error is not None and "Permission denied" in outcome.error


def test_child_killed_by_a_signal_reports_128_plus_n(tmp_path: Path) -> None:
    code = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    outcome = run_and_capture([PY, "-c", code], tmp_path, 100, stdout=Recorder(), stderr=Recorder())
    assert (outcome.exit_code, outcome.signal) == (128 + signal.SIGKILL, signal.SIGKILL)


WRAPPER = """
import dataclasses, json, sys
from aegisd_audit.execcmd import run_and_capture
outcome = run_and_capture(sys.argv[1:], ".", 4096)
print(json.dumps(dataclasses.asdict(outcome)), flush=True)
"""
TRAPPING_CHILD = """
import signal, sys, time
def handler(signum, frame):
    print("child got", signal.Signals(signum).name, flush=True)
    sys.exit(40 + signum)
signal.signal(signal.SIGINT, handler)
signal.signal(signal.SIGTERM, handler)
print("child ready", flush=True)
time.sleep(60)
sys.exit(1)
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signals_are_forwarded_to_the_child(tmp_path: Path, signum: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins")}
    with subprocess.Popen(
        [PY, "-c", WRAPPER, PY, "-c", TRAPPING_CHILD],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
    ) as wrapper:
        assert wrapper.stdout is not None
        assert wrapper.stdout.readline() == "child ready\n"  # streamed through the wrapper
        wrapper.send_signal(signum)
        rest = wrapper.stdout.read()
        assert wrapper.wait(timeout=30) == 0
    name = signal.Signals(signum).name
    got, result = rest.splitlines()
    assert got == f"child got {name}"
    outcome = json.loads(result)
    assert outcome["exit_code"] == 40 + signum
    assert outcome["stdout"]["text"] == f"child ready\nchild got {name}\n"
