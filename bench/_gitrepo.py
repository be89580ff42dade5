"""A generated git repository of known shape, written with `git fast-import` (seconds, not
minutes): `commits` commits over `files` files by a few authors in several time zones, and one
hot file of `hot_lines` lines that `hot_commits` of the commits edit (a few lines each), so its
blame has that many distinct commits."""

from __future__ import annotations

import os
import random
import subprocess
from dataclasses import dataclass
from pathlib import Path

AUTHORS = (
    ("Ada Lovelace", "ada@example.com", "+0000"),
    ("Linus Torvalds", "linus@example.com", "-0700"),
    ("Grace Hopper", "grace@example.com", "+0530"),
    ("Ken Thompson", "ken@example.com", "+0900"),
)
HOT = "src/hot.py"
START = 1_600_000_000


@dataclass(frozen=True)
class Shape:
    commits: int = 5_000
    files: int = 2_000
    hot_lines: int = 2_000
    hot_commits: int = 500


def git_env() -> dict[str, str]:
    """git with no user config, so the numbers are git's own."""
    return {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}


def _data(text: str) -> bytes:
    raw = text.encode()
    return b"data %d\n" % len(raw) + raw + b"\n"


def generate(root: Path, shape: Shape = Shape(), seed: int = 20) -> Path:
    """Create the repository at `root` (branch main, checked out) and return it."""
    rng = random.Random(seed)
    root.mkdir(parents=True)
    env = git_env()
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True, env=env)
    paths = [f"pkg{i % 40:02d}/mod{i:04d}.py" for i in range(shape.files - 1)]
    versions = dict.fromkeys(paths, 0)
    hot = [f"line_{n} = {n}\n" for n in range(shape.hot_lines)]
    hot_every = max(1, shape.commits // shape.hot_commits)
    stream: list[bytes] = []
    for n in range(shape.commits):
        name, email, tz = AUTHORS[n % len(AUTHORS)]
        when = START + n * 600
        stream.append(b"commit refs/heads/main\nmark :%d\n" % (n + 1))
        stream.append(f"author {name} <{email}> {when} {tz}\n".encode())
        stream.append(f"committer {name} <{email}> {when} {tz}\n".encode())
        stream.append(_data(f"change {n}: touch things\n\nBody of change {n}.\n"))
        touched = paths[n * 3 % len(paths) : n * 3 % len(paths) + 2] if n else paths
        for path in touched:
            versions[path] += 1
            body = f'"""{path}"""\n' + "".join(
                f"value_{k} = {versions[path] * k}\n" for k in range(20)
            )
            stream.append(f"M 100644 inline {path}\n".encode() + _data(body))
        if n == 0 or n % hot_every == 0:
            for _ in range(4):
                k = rng.randrange(shape.hot_lines)
                hot[k] = f"line_{k} = {n}  # edited in {n}\n"
            stream.append(f"M 100644 inline {HOT}\n".encode() + _data("".join(hot)))
    subprocess.run(
        ["git", "fast-import", "--quiet"], cwd=root, input=b"".join(stream), check=True, env=env
    )
    subprocess.run(["git", "checkout", "-q", "-f", "main"], cwd=root, check=True, env=env)
    return root
