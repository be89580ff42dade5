"""Which workspace paths are ignored: excluded directory names and `.gitignore` rules.

One `IgnoreRules` per workspace serves the watcher's filter, reconciliation's tree walk and
every plugin that lists files, so they never disagree about what belongs to the workspace.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from loguru import logger
from pathspec import GitIgnoreSpec

from aegisd.safeio import read_text

GITIGNORE = ".gitignore"
MAX_IGNORE_BYTES = 4 * 1024 * 1024


class IgnoreRules:
    """Excluded directory names plus the `.gitignore` files found under the root."""

    def __init__(self, root: Path, exclude_dirs: Iterable[str], gitignore: bool = True) -> None:
        self.root = root
        self.exclude_dirs = frozenset(exclude_dirs)
        self.use_gitignore = gitignore
        # directory (relative, "" for the root) -> its .gitignore spec
        self._specs: dict[str, GitIgnoreSpec] = {}

    def load_gitignore(self, rel_dir: str) -> None:
        """(Re)read the `.gitignore` in `rel_dir` (relative; "" is the root)."""
        if not self.use_gitignore:
            return
        path = self.root / rel_dir / GITIGNORE
        try:
            # a workspace file like any other: a FIFO named .gitignore must not block
            text = read_text(self.root, f"{rel_dir}/{GITIGNORE}".lstrip("/"), MAX_IGNORE_BYTES)
        except OSError:
            self._specs.pop(rel_dir, None)
            return
        try:
            self._specs[rel_dir] = GitIgnoreSpec.from_lines(text.splitlines())
        except ValueError as exc:
            logger.warning("ignoring unreadable {}: {}", path, exc)
            self._specs.pop(rel_dir, None)

    def is_ignored(self, rel: str, is_dir: bool = False) -> bool:
        """True when `rel` (a `/` path relative to the root) is excluded or gitignored."""
        parts = rel.split("/")
        dir_parts = parts if is_dir else parts[:-1]
        if any(part in self.exclude_dirs for part in dir_parts):
            return True
        if not self._specs:
            return False
        for base, spec in self._specs.items():
            if base and not (rel == base or rel.startswith(base + "/")):
                continue
            inner = rel[len(base) + 1 :] if base else rel
            if spec.match_file(inner + "/" if is_dir else inner):
                return True
            # A file inside an ignored directory is ignored too.
            segments = inner.split("/")
            for i in range(1, len(segments)):
                if spec.match_file("/".join(segments[:i]) + "/"):
                    return True
        return False

    def relative(self, absolute: str) -> str | None:
        """The root-relative `/` path of an absolute path under the root, else None."""
        try:
            rel = os.path.relpath(absolute, self.root)
        except ValueError:
            return None
        if rel == "." or rel.startswith(".."):
            return None
        return rel.replace(os.sep, "/")

    def walk(self) -> Iterator[tuple[str, os.stat_result]]:
        """Every non-ignored file under the root (whatever its type, through symlinks), with
        its stat; directories are walked, symlinked ones not."""
        stack = [""]
        while stack:
            rel_dir = stack.pop()
            if self.use_gitignore:
                self.load_gitignore(rel_dir)
            try:
                entries = list(os.scandir(self.root / rel_dir))
            except OSError:
                continue
            for entry in entries:
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if not self.is_ignored(rel, is_dir=True):
                            stack.append(rel)
                        continue
                    if self.is_ignored(rel):
                        continue
                    # Special files and links out of the root too: settling reports them as
                    # skipped (see filestate), and reads nothing of them.
                    info = entry.stat(follow_symlinks=True)
                    if not stat.S_ISDIR(info.st_mode):
                        yield rel, info
                except OSError:
                    continue  # a dangling link, or gone since listed
