"""Which workspace paths are ignored: the daemon's own files, excluded directory names, and
git's ignore rules exactly as `git check-ignore` applies them.

One `IgnoreRules` per workspace serves the watcher's filter, reconciliation's tree walk and
every plugin that lists files, so they never disagree about what belongs to the workspace.

Git's sources, lowest precedence first: `core.excludesFile`, `$GIT_DIR/info/exclude`, then each
`.gitignore` from the repository's top down to the directory holding the path; within and across
them the last matching pattern wins, and nothing inside an ignored directory can be re-included
(git does not look inside one, nor read a `.gitignore` there). `.gitignore` files are honoured
outside a git repository too; the other two sources only inside one. The workspace root and its
ancestors are never ignored themselves.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from aegisd.gitconfig import Repo, excludes_file, find_repo, read_small
from aegisd.gitignore import PatternList, matchable, parse
from aegisd.ownpaths import OwnInRoot
from aegisd.safeio import read_bytes

GITIGNORE = ".gitignore"
MAX_IGNORE_BYTES = 4 * 1024 * 1024

#: called with a root-relative path (`.` for the root) that could not be read while walking
OnError = Callable[[str, OSError], None]
#: a dangling link, or an entry gone since it was listed: not an error
_GONE = frozenset({errno.ENOENT, errno.ENOTDIR})


class IgnoreRules:
    """Exclusions of one workspace root. Reading rules (`load`, `walk`, `is_ignored` with
    `load=True`) does blocking I/O: call them in a thread. With `load=False`, `is_ignored`
    reads nothing and lets a path through when a rule it needs is not read yet."""

    def __init__(
        self,
        root: Path,
        exclude_dirs: Iterable[str],
        gitignore: bool = True,
        own: OwnInRoot | None = None,
    ) -> None:
        self.root = root
        self.exclude_dirs = frozenset(exclude_dirs)
        self.use_gitignore = gitignore
        self.own = own or OwnInRoot()
        self.repo: Repo | None = None
        self._prefix = ""  # the root relative to the repository's top, "/"-terminated
        self._outer: tuple[PatternList, ...] = ()  # sources outside the root, lowest first
        # root-relative directory -> its .gitignore's patterns (None: it has none)
        self._lists: dict[str, PatternList | None] = {}
        self._dir_verdicts: dict[str, bool] = {}

    # -- sources --------------------------------------------------------------------------------

    def load(self) -> IgnoreRules:
        """Read the repository's sources above the root, and the root's `.gitignore`."""
        if not self.use_gitignore:
            return self
        self.repo = repo = find_repo(self.root)
        outer: list[PatternList] = []
        if repo is not None:
            prefix = os.path.relpath(self.root, repo.top)
            self._prefix = "" if prefix == "." else prefix.replace(os.sep, "/") + "/"
            excludes = excludes_file(repo)
            if excludes is not None:
                outer.append(_pattern_list("", read_small(excludes), str(excludes)))
            info = repo.common_dir / "info" / "exclude"
            outer.append(_pattern_list("", read_small(info), str(info)))
            parts = self._prefix.split("/")[:-1]
            for depth in range(len(parts)):
                above = "/".join(parts[:depth])
                path = repo.top / above / GITIGNORE
                outer.append(_pattern_list(above, read_small(path, follow=False), str(path)))
        self._outer = tuple(patterns for patterns in outer if patterns)
        self._list("", load=True)
        return self

    def _list(self, rel_dir: str, load: bool) -> PatternList | bool | None:
        """The patterns of `rel_dir`'s `.gitignore` (None: none); False when unread and not
        `load`."""
        try:
            return self._lists[rel_dir]
        except KeyError:
            if not load:
                return False
        rel = f"{rel_dir}/{GITIGNORE}" if rel_dir else GITIGNORE
        patterns = _pattern_list(self._prefix + rel_dir, self._read_gitignore(rel), rel)
        found = self._lists[rel_dir] = patterns or None
        return found

    def _read_gitignore(self, rel: str) -> bytes | None:
        """A `.gitignore` of the work tree, read like any workspace file (beneath the root,
        never blocking); git does not follow one that is a symlink, nor do we."""
        try:
            if stat.S_ISLNK(os.lstat(self.root / rel).st_mode):
                return None
            return read_bytes(self.root, rel, MAX_IGNORE_BYTES)
        except (OSError, ValueError):
            return None

    def _chain(self, rel_dir: str, load: bool) -> tuple[PatternList, ...] | None:
        """Every source that applies to entries of `rel_dir`, lowest precedence first; None
        when one is not read yet and `load` is false."""
        chain = list(self._outer)
        parts = rel_dir.split("/") if rel_dir else []
        for depth in range(len(parts) + 1):
            found = self._list("/".join(parts[:depth]), load)
            if found is False:
                return None
            if isinstance(found, PatternList):
                chain.append(found)
        return tuple(chain)

    # -- decisions ------------------------------------------------------------------------------

    def _gitignored(self, chain: tuple[PatternList, ...], rel: str, is_dir: bool) -> bool:
        if not chain:
            return False
        path = matchable(self._prefix + rel)
        for patterns in reversed(chain):
            verdict = patterns.verdict(path[patterns.cut :], is_dir)
            if verdict is not None:
                return verdict
        return False

    def _dir_ignored(self, rel: str, load: bool) -> bool | None:
        """Whether directory `rel` is ignored by its own entry (its parents not considered);
        None when that needs a rule not read yet."""
        known = self._dir_verdicts.get(rel)
        if known is not None:
            return known
        chain = self._chain(rel.rpartition("/")[0], load)
        if chain is None:
            return None
        verdict = self._dir_verdicts[rel] = self._gitignored(chain, rel, True)
        return verdict

    def is_ignored(self, rel: str, is_dir: bool = False, *, load: bool = True) -> bool:
        """True when `rel` (a `/` path relative to the root) is the daemon's own, inside an
        excluded directory, or ignored by git's rules (it or a directory above it)."""
        if not rel:
            return False
        if self.own and self.own.holds(rel):
            return True
        parts = rel.split("/")
        dir_parts = parts if is_dir else parts[:-1]
        if self.exclude_dirs and not self.exclude_dirs.isdisjoint(dir_parts):
            return True
        if not self.use_gitignore:
            return False
        for depth in range(1, len(parts)):
            above = self._dir_ignored("/".join(parts[:depth]), load)
            if above is None:
                return False
            if above:
                return True
        chain = self._chain("/".join(parts[:-1]), load)
        return chain is not None and self._gitignored(chain, rel, is_dir)

    def excluded_dir(self, rel: str) -> bool:
        """True for a directory never looked into whatever git says: one of the daemon's own,
        or named in (or under one named in) `exclude_dirs`."""
        if self.own and self.own.holds(rel):
            return True
        return bool(self.exclude_dirs) and not self.exclude_dirs.isdisjoint(rel.split("/"))

    def is_own(self, rel: str) -> bool:
        """True when `rel` is one of the daemon's own files or inside its directories."""
        return bool(self.own) and self.own.holds(rel)

    # -- paths ----------------------------------------------------------------------------------

    def relative(self, absolute: str) -> str | None:
        """The root-relative `/` path of an absolute path under the root, else None."""
        try:
            rel = os.path.relpath(absolute, self.root)
        except ValueError:
            return None
        if rel == "." or rel.startswith(".."):
            return None
        return rel.replace(os.sep, "/")

    def walk(
        self, start: str = "", on_error: OnError | None = None
    ) -> Iterator[tuple[str, os.stat_result]]:
        """Every file under `start` (a root-relative directory the caller knows is not
        ignored) that is not ignored, whatever its type and through symlinks, with its stat
        (settling reports special files and links out of the root as skipped, and reads
        nothing of them). Directories are walked, symlinked ones not. Entries that cannot be
        looked at go to `on_error`; dangling links and entries gone since listed are left out."""
        stack = [start]
        own = self.own
        excluded = self.exclude_dirs
        while stack:
            rel_dir = stack.pop()
            chain = self._chain(rel_dir, load=True) if self.use_gitignore else ()
            try:
                with os.scandir(self.root / rel_dir) as scan:
                    entries = list(scan)
            except OSError as exc:
                if on_error is not None and exc.errno not in _GONE:
                    on_error(rel_dir or ".", exc)
                continue
            for entry in entries:
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if entry.name in excluded or rel in own.dirs:
                            continue
                        if chain and self._gitignored(chain, rel, True):
                            self._dir_verdicts[rel] = True
                            continue
                        self._dir_verdicts[rel] = False
                        stack.append(rel)
                        continue
                    if rel in own.files or (chain and self._gitignored(chain, rel, False)):
                        continue
                    info = entry.stat(follow_symlinks=True)
                    if not stat.S_ISDIR(info.st_mode):
                        yield rel, info
                except OSError as exc:
                    if on_error is not None and exc.errno not in _GONE:
                        on_error(rel, exc)


def _pattern_list(base: str, data: bytes | None, origin: str) -> PatternList:
    return PatternList(matchable(base.rstrip("/")), parse(data) if data else [], origin)
