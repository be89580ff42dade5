"""aegisd.gitrun with a stand-in `git` on PATH (a real process): the timeout kills it and what
it started, the output cap stops it, the environment and options are the safe ones, a missing
git is UNAVAILABLE; revisions that could be options are refused."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from aegisd.gitrun import Runner, check_rev, split_range
from aegisd.rpc.errors import InvalidParams, Timeout, TooLarge, Unavailable


def stand_in(tmp_path: Path, body: str) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "git"
    fake.write_text(f"#!/bin/sh\n{body}\n")
    fake.chmod(0o755)
    return {"PATH": f"{bin_dir}:/usr/bin:/bin"}


def runner(tmp_path: Path, env: dict[str, str], **kw: float) -> Runner:
    r = Runner(tmp_path, **kw)  # type: ignore[arg-type]
    r.env = {**r.env, **env}
    return r


async def test_timeout_kills_git_and_what_it_started(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    env = stand_in(tmp_path, f"sleep 30 >/dev/null 2>&1 & echo $! > {pids}; wait")
    with pytest.raises(Timeout):
        await runner(tmp_path, env, timeout_s=0.5).run("log")
    child = int(pids.read_text())
    deadline = time.monotonic() + 5
    while os.path.exists(f"/proc/{child}") and "Z" not in _state(child):
        assert time.monotonic() < deadline, "the child of git outlived the timeout"
        time.sleep(0.05)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0]
    except OSError:
        return "Z"


async def test_output_over_the_cap_is_too_large(tmp_path: Path) -> None:
    env = stand_in(tmp_path, "head -c 300000 /dev/zero; echo oops >&2")
    with pytest.raises(TooLarge):
        await runner(tmp_path, env, max_bytes=100_000).run("log")
    assert len(await runner(tmp_path, env, max_bytes=400_000).run("log")) == 300_000


async def test_environment_and_pinned_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_DIR", "/elsewhere")
    monkeypatch.setenv("GIT_EXTERNAL_DIFF", "/bin/false")
    env = stand_in(tmp_path, 'env | grep "^GIT_" | sort; for a in "$@"; do echo "arg:$a"; done')
    r = Runner(tmp_path)  # reads os.environ now, as the daemon does
    r.env["PATH"] = env["PATH"]
    out = (await r.run("log", paths=["-p"])).decode().splitlines()
    assert "GIT_OPTIONAL_LOCKS=0" in out and "GIT_TERMINAL_PROMPT=0" in out
    assert not any(line.startswith(("GIT_DIR=", "GIT_EXTERNAL_DIFF=")) for line in out)
    args = [line[4:] for line in out if line.startswith("arg:")]
    assert args[:2] == ["--no-pager", "--no-optional-locks"]
    assert "core.fsmonitor=false" in args and "log.showSignature=false" in args
    assert args[-3:] == ["log", "--", "-p"]  # a path after --: never an option


async def test_missing_git_is_unavailable(tmp_path: Path) -> None:
    r = runner(tmp_path, {"PATH": str(tmp_path / "nothing")})
    with pytest.raises(Unavailable):
        await r.run("status")


@pytest.mark.parametrize("rev", ["-p", "--output=/tmp/x", "", "a\nb", "x" * 300, " "])
def test_revisions_that_are_no_revisions_are_refused(rev: str) -> None:
    with pytest.raises(InvalidParams):
        check_rev(rev)


def test_ranges_split_on_their_dots() -> None:
    assert split_range("main") == (None, "", "main")
    assert split_range("a..b") == ("a", "..", "b")
    assert split_range("a...b") == ("a", "...", "b")
    assert split_range("..b") == ("HEAD", "..", "b")
    assert split_range("a..") == ("a", "..", "HEAD")
