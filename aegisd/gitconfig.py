"""Where a workspace's git repository is, and which global excludes file git would read.

Read from the files themselves, never by running `git`: a repository's own config can name
programs git would run (`core.fsmonitor`, hooks), and the daemon opens untrusted clones.
Only the value of `core.excludesFile` is taken from them; `include` directives are not followed.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

#: patterns and config files are small; anything larger is not what it claims to be
MAX_READ_BYTES = 1 << 20


@dataclass(frozen=True)
class Repo:
    """A work tree: its top directory and where its git data lives."""

    top: Path
    git_dir: Path
    common_dir: Path  # shared by linked worktrees: info/exclude and config live here


def read_small(path: Path, *, follow: bool = True) -> bytes | None:
    """The bytes of a regular file up to MAX_READ_BYTES, or None (missing, special, unreadable).
    Opened non-blocking and checked on the descriptor: a FIFO or device never blocks us."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except (OSError, ValueError):
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks = []
        left = MAX_READ_BYTES
        while left > 0 and (chunk := os.read(fd, min(left, 1 << 16))):
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def find_repo(start: Path) -> Repo | None:
    """The repository whose work tree holds `start` (a real, absolute directory), if any."""
    for directory in (start, *start.parents):
        dot_git = directory / ".git"
        try:
            info = os.lstat(dot_git)
        except OSError:
            continue
        git_dir: Path | None = None
        if stat.S_ISDIR(info.st_mode):
            git_dir = dot_git
        elif stat.S_ISREG(info.st_mode):
            git_dir = _gitdir_file(dot_git)
        if git_dir is None:
            continue
        return Repo(directory, git_dir, _common_dir(git_dir))
    return None


def _gitdir_file(dot_git: Path) -> Path | None:
    """The git dir a `.git` file (worktree, submodule) points at."""
    data = read_small(dot_git)
    if data is None:
        return None
    text = data.decode("utf-8", "surrogateescape").strip()
    if not text.startswith("gitdir:"):
        return None
    target = Path(os.fsdecode(text[len("gitdir:") :].strip()))
    return target if target.is_absolute() else dot_git.parent / target


def _common_dir(git_dir: Path) -> Path:
    data = read_small(git_dir / "commondir")
    if data is None:
        return git_dir
    target = Path(data.decode("utf-8", "surrogateescape").strip())
    return target if target.is_absolute() else git_dir / target


def config_files(repo: Repo, environ: Mapping[str, str], home: Path) -> list[Path]:
    """git's config files, lowest precedence first: system, global (XDG, then ~/.gitconfig),
    the repository's."""
    files: list[Path] = []
    if not environ.get("GIT_CONFIG_NOSYSTEM"):
        files.append(Path(environ.get("GIT_CONFIG_SYSTEM") or "/etc/gitconfig"))
    if environ.get("GIT_CONFIG_GLOBAL"):
        files.append(Path(environ["GIT_CONFIG_GLOBAL"]))
    else:
        files.append(_xdg_config(environ, home) / "git" / "config")
        files.append(home / ".gitconfig")
    files.append(repo.common_dir / "config")
    return files


def excludes_file(repo: Repo, environ: Mapping[str, str] | None = None) -> Path | None:
    """`core.excludesFile` as git resolves it, else its default `$XDG_CONFIG_HOME/git/ignore`."""
    env = os.environ if environ is None else environ
    home = Path(env.get("HOME") or Path.home())
    value: str | None = None
    for path in config_files(repo, env, home):
        data = read_small(path)
        if data is None:
            continue
        for section, key, found in parse_config(data.decode("utf-8", "surrogateescape")):
            if section == "core" and key == "excludesfile" and found is not None:
                value = found
    if value is None:
        return _xdg_config(env, home) / "git" / "ignore"
    if not value:
        return None  # set to nothing: no global excludes
    if value == "~" or value.startswith("~/"):
        return home / value[2:]
    path = Path(value)
    return path if path.is_absolute() else repo.top / path


def _xdg_config(environ: Mapping[str, str], home: Path) -> Path:
    xdg = environ.get("XDG_CONFIG_HOME")
    return Path(xdg) if xdg else home / ".config"


def parse_config(text: str) -> Iterator[tuple[str, str, str | None]]:
    """(section, key, value) of each variable in a git config file; section and key lower
    case, a subsection kept as written (`remote "origin"` → `remote.origin`); a key without
    `=` has the value None (boolean true)."""
    section = ""
    lines = iter(text.splitlines())
    for line in lines:
        rest = line.strip()
        if rest.startswith("["):
            close = rest.find("]")
            if close < 0:
                continue
            section = _section_name(rest[1:close])
            rest = rest[close + 1 :].strip()
        if not rest or rest[0] in "#;":
            continue
        name, eq, raw = rest.partition("=")
        key = name.strip().lower()
        if not key or not (key[0].isalpha() and all(c.isalnum() or c == "-" for c in key)):
            continue
        if not eq:
            yield section, key, None
            continue
        value, more = _value(raw)
        while more:  # a trailing backslash continues the value on the next line
            following = next(lines, None)
            if following is None:
                break
            tail, more = _value(following)
            value += tail
        yield section, key, value


def _section_name(header: str) -> str:
    name, _, sub = header.strip().partition(" ")
    sub = sub.strip()
    if sub.startswith('"') and sub.endswith('"') and len(sub) >= 2:
        return f"{name.lower()}.{sub[1:-1]}"
    return name.lower()


def _value(raw: str) -> tuple[str, bool]:
    """A value's text (quotes and escapes resolved, comment dropped) and whether it continues."""
    out: list[str] = []
    quoted = False
    pending_space = ""
    i = 0
    raw = raw.strip()
    while i < len(raw):
        ch = raw[i]
        if ch == "\\":
            if i + 1 >= len(raw):
                return "".join(out), True
            escaped = {"n": "\n", "t": "\t", "b": "\b", '"': '"', "\\": "\\"}.get(raw[i + 1])
            if escaped is not None:
                out.append(pending_space + escaped)
                pending_space = ""
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "#;":
            break
        elif not quoted and ch.isspace():
            pending_space += ch
        else:
            out.append(pending_space + ch)
            pending_space = ""
        i += 1
    return "".join(out), False
