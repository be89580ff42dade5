"""Running `git` safely: off the event loop, bounded, and never steered by what a client sends
nor by what a repository's config names. Every git call the daemon makes goes through `Runner`
(the git plugin's history, the code map's `index.tree` status).

Every call is an asyncio subprocess (the loop only waits on its pipes) with a timeout that kills
it, and a cap on what it may print (TOO_LARGE past it). The environment drops every `GIT_*`
variable the daemon inherited (`GIT_DIR`, `GIT_EXTERNAL_DIFF`, `GIT_CONFIG_PARAMETERS` would
point git elsewhere or run programs) and sets `GIT_OPTIONAL_LOCKS=0` (a `status` never takes
the index lock to refresh it), `GIT_TERMINAL_PROMPT=0` and no pager. `-c` options pin what
user config would otherwise change in the output (quoting, colour, prefixes, signatures) and
turn off what would run programs (fsmonitor; `--no-ext-diff` / `--no-textconv` are added by the
callers that diff). In a workspace that is not trusted, the filter drivers its repository's
own config defines are emptied too (`repository_filters`), so reading it runs nothing it names.

A client's revision never reaches git's command line as it came: `check_rev` refuses anything
starting with `-` (INVALID_PARAMS) and `resolve` turns it into a full commit id with
`rev-parse --verify --end-of-options`. Paths are root-confined by the caller and always passed
after `--`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aegisd.rpc.errors import InvalidParams, NotFound, Timeout, TooLarge, Unavailable, Unsupported

#: options that make git's output the same whatever the user's config says, and keep it from
#: running programs while it only reads
PINNED = (
    "core.quotepath=off",
    "core.fsmonitor=false",
    "color.ui=false",
    "log.showSignature=false",
    "log.follow=false",
    "diff.noprefix=false",
    "diff.mnemonicPrefix=false",
    "diff.relative=false",
    "diff.external=",
    "blame.ignoreRevsFile=",
    "i18n.logOutputEncoding=UTF-8",
    "core.precomposeUnicode=false",
)
_REV_MAX = 256
_RANGE = re.compile(r"^(?P<a>[^.]*?)(?P<dots>\.\.\.?)(?P<b>[^.]*)$")
_STDERR_KEEP = 8192


def git_env() -> dict[str, str]:
    """The environment of every git call (see the module docstring)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_OPTIONAL_LOCKS="0",
        GIT_TERMINAL_PROMPT="0",
        GIT_PAGER="cat",
        PAGER="cat",
        GIT_ASKPASS="/bin/false",
        LC_ALL="C",
        GIT_NO_LAZY_FETCH="1",  # a partial clone's missing blob is not fetched to show it
    )
    return env


def check_rev(rev: str, what: str = "rev") -> str:
    """A revision as a client wrote it, refused (INVALID_PARAMS) when it could be taken for an
    option or is not a revision at all."""
    if not rev or len(rev) > _REV_MAX:
        raise InvalidParams(f"{what} must be 1 to {_REV_MAX} characters", field=what)
    if rev.startswith("-"):
        raise InvalidParams(f"{what} may not start with '-': {rev!r}", field=what, rev=rev)
    if any(ch in rev for ch in "\0\n\r") or rev.isspace():
        raise InvalidParams(f"{what} holds a character no revision has", field=what)
    return rev


def split_range(rev: str) -> tuple[str | None, str, str | None]:
    """`A..B` → (A, "..", B); `A...B` → (A, "...", B); a single revision → (None, "", rev).
    An empty side means HEAD, as in git."""
    match = _RANGE.match(rev)
    if match is None or not match["dots"]:
        return None, "", rev
    return match["a"] or "HEAD", match["dots"], match["b"] or "HEAD"


class GitFailed(Exception):
    """git ran and exited with a status the caller did not expect."""

    def __init__(self, returncode: int, stderr: str) -> None:
        super().__init__(stderr.strip() or f"git exited with {returncode}")
        self.returncode = returncode
        self.stderr = stderr


@dataclass
class Runner:
    """Runs git in one directory with the daemon's limits."""

    cwd: Path
    timeout_s: float = 15.0
    max_bytes: int = 64 << 20
    #: extra `-c` options (the neutralized filter drivers of an untrusted repository)
    extra_config: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=git_env)

    def argv(self, args: Sequence[str]) -> list[str]:
        configs = [item for opt in (*PINNED, *self.extra_config) for item in ("-c", opt)]
        return ["git", "--no-pager", "--no-optional-locks", *configs, *args]

    async def run(
        self,
        *args: str,
        paths: Sequence[str] | None = None,
        ok: Sequence[int] = (0,),
        max_bytes: int | None = None,
    ) -> bytes:
        """git's stdout for `args` (then `--` and `paths` when given); GitFailed on another
        exit status than `ok`, TIMEOUT past the timeout, TOO_LARGE past the output cap,
        UNAVAILABLE when git cannot be started."""
        argv = self.argv([*args, *(("--", *paths) if paths is not None else ())])
        cap = self.max_bytes if max_bytes is None else max_bytes
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                cwd=self.cwd,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        except FileNotFoundError:
            raise Unavailable("git is not installed (not found on PATH)", tool="git") from None
        except OSError as exc:
            raise Unavailable(f"cannot run git: {exc.strerror}", tool="git") from None
        try:
            async with asyncio.timeout(self.timeout_s):
                out, err = await asyncio.gather(
                    _read_capped(proc.stdout, cap), _read_capped(proc.stderr, _STDERR_KEEP, True)
                )
                code = await proc.wait()
        except TimeoutError:
            raise Timeout(
                f"git {args[0]} took longer than {self.timeout_s:g} s", timeout_s=self.timeout_s
            ) from None
        finally:
            if proc.returncode is None:
                # its own session: what it started (a filter, a helper) goes with it
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        if out is None:
            raise TooLarge(f"git {args[0]} printed more than {cap} bytes", limit_bytes=cap)
        if code not in ok:
            raise GitFailed(code, (err or b"").decode(errors="replace"))
        return out

    async def resolve(self, rev: str, what: str = "rev") -> str:
        """The full id of the commit `rev` names (NOT_FOUND when it names none)."""
        check_rev(rev, what)
        try:
            out = await self.run(
                "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"
            )
        except GitFailed:
            raise NotFound(f"no commit {rev!r} in this repository", **{what: rev}) from None
        return out.decode().strip()

    async def resolve_range(self, rev: str, what: str = "rev") -> list[str]:
        """A revision or range as git log arguments made of full ids only: `A..B` →
        [B, ^A]; `A...B` → [A, B, ^merge-bases]; `X` → [X]."""
        check_rev(rev, what)
        left, dots, right = split_range(rev)
        if left is None:
            return [await self.resolve(right or rev, what)]
        a = await self.resolve(check_rev(left, what), what)
        b = await self.resolve(check_rev(right or "HEAD", what), what)
        if dots == "..":
            return [b, f"^{a}"]
        bases = (await self.run("merge-base", "--all", a, b, ok=(0, 1))).decode().split()
        return [a, b, *(f"^{base}" for base in bases)]


async def _read_capped(
    stream: asyncio.StreamReader | None, cap: int, keep_head: bool = False
) -> bytes | None:
    """All of `stream`, or None once it passes `cap` bytes (its first `cap` bytes with
    `keep_head`); the rest is drained unread, so the process never blocks on a full pipe."""
    if stream is None:
        return b""
    chunks: list[bytes] = []
    size = 0
    over = False
    while chunk := await stream.read(1 << 16):
        if over:
            continue
        size += len(chunk)
        if size > cap:
            over = True
            if keep_head:
                chunks.append(chunk[: cap - (size - len(chunk))])
                return_head = b"".join(chunks)
                chunks = [return_head]
            else:
                chunks.clear()
            continue
        chunks.append(chunk)
    return b"".join(chunks) if keep_head or not over else None


def unsupported_reason(stderr: str) -> Unsupported | None:
    """git's refusals that are about the repository, not the request, as UNSUPPORTED."""
    text = stderr.lower()
    if "not a git repository" in text:
        return Unsupported("not a git repository", reason="no repository")
    if "dubious ownership" in text:
        return Unsupported(
            "git refuses this repository: it is owned by another user (safe.directory)",
            reason="dubious ownership",
        )
    if "must be run in a work tree" in text:
        return Unsupported("a bare repository has no work tree", reason="bare")
    return None


async def repository_filters(runner: Runner) -> tuple[str, ...]:
    """`-c` options emptying every filter driver the repository's own config (or a file it
    includes) defines: for a workspace that is not trusted, reading it must run nothing."""
    try:
        out = await runner.run(
            "config", "--show-scope", "--name-only", "--get-regexp", r"^filter\.", ok=(0, 1)
        )
    except GitFailed:
        return ()
    drivers: set[str] = set()
    for line in out.decode("utf-8", "surrogateescape").splitlines():
        scope, _, name = line.partition("\t")
        if scope in ("local", "worktree", "command") and name.count(".") >= 2:
            drivers.add(name[len("filter.") : name.rindex(".")])
    return tuple(
        f"filter.{driver}.{key}={value}"
        for driver in sorted(drivers)
        for key, value in (("clean", ""), ("smudge", ""), ("process", ""), ("required", "false"))
    )
