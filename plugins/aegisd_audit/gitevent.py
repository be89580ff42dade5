"""Which agent commands move a repository's HEAD, and the commit HEAD is at afterwards.

Used by the hook bridge, a short-lived process that imports the standard library only (not
even `aegisd.gitconfig`, whose package pulls in pluggy) and runs no `git`: a successful Bash
command with a `git commit`, `merge`, `rebase`, ... in it is recorded as a `git` event whose
payload names the resulting commit, read from the repository's files (`.git` or a `gitdir:`
file, HEAD, then its loose ref or packed-refs in the common dir).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

_MAX_READ = 1 << 20

#: git subcommands after which HEAD is (or may be) at another commit
MOVES_HEAD = frozenset({"commit", "merge", "rebase", "cherry-pick", "revert", "am", "pull",
                        "reset", "checkout", "switch"})  # fmt: skip
_SEGMENTS = re.compile(r"&&|\|\||[;|\n]")
_ID = re.compile(rb"^[0-9a-f]{40}([0-9a-f]{24})?$")


def git_target(command: str, cwd: str) -> Path | None:
    """The directory of the last git command in `command` that moves HEAD, or None."""
    found: Path | None = None
    for segment in _SEGMENTS.split(command):
        try:
            words = shlex.split(segment)
        except ValueError:
            continue
        while words and "=" in words[0] and not words[0].startswith("="):
            words.pop(0)  # VAR=value before the command
        if not words or words[0] != "git":
            continue
        where, i = Path(cwd), 1
        while i < len(words) and words[i].startswith("-"):
            if words[i] in ("-C", "-c") and i + 1 < len(words):
                if words[i] == "-C":
                    where = where / words[i + 1]
                i += 2
            else:
                i += 1
        if i < len(words) and words[i] in MOVES_HEAD:
            found = where
    return found


def _read(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(_MAX_READ)
    except (OSError, ValueError):
        return b""


def _git_dirs(directory: Path) -> tuple[Path, Path] | None:
    """The git dir and common dir of the repository whose work tree holds `directory`."""
    for top in (directory, *directory.parents):
        dot = top / ".git"
        if dot.is_dir():
            git_dir = dot
        elif dot.is_file() and (text := _read(dot).strip()).startswith(b"gitdir:"):
            target = Path(text[7:].strip().decode("utf-8", "surrogateescape"))
            git_dir = target if target.is_absolute() else top / target
        else:
            continue
        common = _read(git_dir / "commondir").strip().decode("utf-8", "surrogateescape")
        return git_dir, (git_dir / common if common else git_dir)
    return None


def head_of(directory: Path) -> dict[str, str | None] | None:
    """HEAD's commit id and branch in the repository holding `directory`; None when none."""
    try:
        found = _git_dirs(directory.resolve())
    except OSError:
        return None
    if found is None:
        return None
    git_dir, common = found
    raw = _read(git_dir / "HEAD").strip()
    if not raw.startswith(b"ref: "):
        return {"head": raw.decode() if _ID.match(raw) else None, "branch": None}
    ref = raw[5:].strip()
    branch = ref.decode("utf-8", "surrogateescape").removeprefix("refs/heads/")
    loose = _read(common / ref.decode("utf-8", "surrogateescape")).strip()
    if _ID.match(loose):
        return {"head": loose.decode(), "branch": branch}
    for line in _read(common / "packed-refs").splitlines():
        sha, _, name = line.partition(b" ")
        if name == ref and _ID.match(sha):
            return {"head": sha.decode(), "branch": branch}
    return {"head": None, "branch": branch}
