"""The repository behind a workspace: found once by asking git, with what kind it is.

A workspace root may be a repository's top, a directory inside one (paths then carry a
`prefix` that is stripped from git's top-relative output), a linked worktree, a submodule's
checkout, a bare repository (history only: no status, no working-tree diff) or a shallow
clone (history stops at the graft; said in `git.status`). No repository at all makes every
method UNSUPPORTED with the reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from aegisd.gitrun import GitFailed, Runner, unsupported_reason
from aegisd.rpc.errors import Unsupported


@dataclass
class Repository:
    """One workspace's repository and the runner that reads it."""

    runner: Runner
    git_dir: Path
    common_dir: Path
    bare: bool
    shallow: bool
    top: Path | None  # the work tree's top (None when bare)
    prefix: str  # the workspace root relative to `top`, "" or ending in "/"
    superproject: Path | None  # set when this work tree is a submodule's checkout

    @property
    def worktree(self) -> bool:
        """A linked worktree (`git worktree add`): its own HEAD and index, shared refs."""
        return self.git_dir != self.common_dir

    @property
    def kind(self) -> str:
        if self.bare:
            return "bare"
        if self.superproject is not None:
            return "submodule"
        return "worktree" if self.worktree else "repository"

    def need_work_tree(self, what: str) -> None:
        """UNSUPPORTED for work-tree operations in a bare repository."""
        if self.bare:
            raise Unsupported(f"{what} needs a work tree; this is a bare repository", reason="bare")

    def to_git(self, rel: str) -> str:
        """A workspace-relative path as a pathspec relative to the top (git's outputs are)."""
        return f"{self.prefix}{rel}" if rel else (self.prefix.rstrip("/") or ".")

    def from_git(self, path: str) -> str | None:
        """A top-relative path from git's output as workspace-relative; None outside it."""
        if not self.prefix:
            return path
        return path[len(self.prefix) :] if path.startswith(self.prefix) else None

    def pathspec(self, paths: list[str] | None) -> list[str]:
        """Literal top-relative pathspecs of workspace-relative paths (no glob, no magic a
        client could slip in); the workspace itself when none are given."""
        if not paths:
            return self.scope()
        return [f":(top,literal){self.to_git(p)}" for p in paths]

    def scope(self) -> list[str]:
        """The pathspec that keeps whole-history answers inside the workspace."""
        return [f":(top){self.prefix}"] if self.prefix else []


async def discover(root: Path, runner: Runner) -> Repository:
    """The repository `root` belongs to (UNSUPPORTED when none; UNAVAILABLE without git)."""
    try:
        first = await runner.run(
            "rev-parse", "--is-bare-repository", "--is-shallow-repository",
            "--absolute-git-dir", "--git-common-dir",
        )  # fmt: skip
    except GitFailed as exc:
        raise unsupported_reason(exc.stderr) or Unsupported(
            f"not usable as a git repository: {exc}", reason="git refused"
        ) from None
    bare_s, shallow_s, git_dir_s, common_s = first.decode("utf-8", "surrogateescape").splitlines()
    git_dir = Path(git_dir_s)
    common = Path(common_s)
    common = common if common.is_absolute() else (root / common)
    bare = bare_s == "true"
    top: Path | None = None
    prefix = ""
    superproject: Path | None = None
    if not bare:
        second = await runner.run(
            "rev-parse", "--show-toplevel", "--show-prefix", "--show-superproject-working-tree"
        )
        lines = second.decode("utf-8", "surrogateescape").splitlines()
        top = Path(lines[0])
        prefix = lines[1] if len(lines) > 1 else ""
        superproject = Path(lines[2]) if len(lines) > 2 and lines[2] else None
    return Repository(
        runner=runner,
        git_dir=git_dir,
        common_dir=Path(_normal(common)),
        bare=bare,
        shallow=shallow_s == "true",
        top=top,
        prefix=prefix,
        superproject=superproject,
    )


def _normal(path: Path) -> str:
    """`..` resolved lexically (a worktree's commondir is relative); no file is touched."""
    return os.path.normpath(path)
