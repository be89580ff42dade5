"""Which workspace paths are ignored: excluded directory names and `.gitignore` rules.

One `IgnoreRules` per workspace serves the watcher's filter, reconciliation's tree walk and
every plugin that lists files, so they never disagree about what belongs to the workspace.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from loguru import logger
from pathspec import GitIgnoreSpec

GITIGNORE = ".gitignore"


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
            lines = path.read_text(errors="replace").splitlines()
        except OSError:
            self._specs.pop(rel_dir, None)
            return
        try:
            self._specs[rel_dir] = GitIgnoreSpec.from_lines(lines)
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

    def inside_root(self, path: str) -> bool:
        real = os.path.realpath(path)
        return real == str(self.root) or real.startswith(str(self.root) + os.sep)

    def walk(self) -> Iterator[tuple[str, os.stat_result]]:
        """Every non-ignored regular file under the root, with its stat (no symlinked dirs)."""
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
                    if not entry.is_file(follow_symlinks=True) or self.is_ignored(rel):
                        continue
                    if entry.is_symlink() and not self.inside_root(entry.path):
                        continue  # a link pointing out of the workspace is not part of it
                    yield rel, entry.stat(follow_symlinks=True)
                except OSError:
                    continue
