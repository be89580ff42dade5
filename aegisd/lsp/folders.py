"""Which workspace a document belongs to: the editor's folders and the daemon's roots.

A `file:` URI is decoded to the bytes of its path (a name that is not UTF-8 keeps its bytes as
surrogate escapes, the way the daemon's `PathText` params carry them). Anything else (`untitled:`,
`git:`, a file outside every folder) belongs to no workspace: the server answers it with nothing
rather than guessing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import quote_from_bytes, unquote_to_bytes, urlsplit


def uri_to_path(uri: str) -> str | None:
    """The absolute local path of a `file:` URI, or None for any other URI."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return None
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    path = os.fsdecode(unquote_to_bytes(parts.path))
    return os.path.normpath(path) if path.startswith("/") else None


def path_to_uri(path: str) -> str:
    return "file://" + quote_from_bytes(os.fsencode(path), safe="/")


@dataclass(frozen=True, slots=True)
class Place:
    """A document inside a workspace: the root the daemon knows and the root-relative path."""

    root: str
    path: str

    @property
    def absolute(self) -> str:
        return os.path.join(self.root, self.path)


class Folders:
    """The workspace folders of this session: as the editor names them, and as opened."""

    def __init__(self) -> None:
        self._roots: dict[str, str] = {}  # folder path as given (and real path) -> daemon root
        self.ids: dict[str, str] = {}  # daemon root -> workspace id

    def requested(self) -> list[str]:
        """The folders to open (as the editor gave them, without duplicates)."""
        return list(dict.fromkeys(self._roots))

    def add(self, folder: str) -> None:
        self._roots.setdefault(folder, folder)

    def remove(self, folder: str) -> None:
        root = self._roots.pop(folder, None)
        for alias, target in list(self._roots.items()):
            if target == root and alias != target:
                del self._roots[alias]

    def opened(self, folder: str, root: str, workspace_id: str) -> None:
        """The daemon opened `folder` as `root` (its real path)."""
        self._roots[folder] = root
        self._roots.setdefault(root, root)
        self.ids[root] = workspace_id

    def root_of(self, workspace_id: str) -> str | None:
        return next((root for root, wid in self.ids.items() if wid == workspace_id), None)

    def locate(self, uri: str) -> Place | None:
        """The workspace place of `uri`, the innermost folder winning; None when it has none."""
        path = uri_to_path(uri)
        if path is None:
            return None
        for candidate in (path, os.path.realpath(path)):
            best = max(
                (folder for folder in self._roots if _inside(candidate, folder)),
                key=len,
                default=None,
            )
            if best is not None:
                rel = os.path.relpath(candidate, best)
                return Place(self._roots[best], PurePosixPath(*rel.split(os.sep)).as_posix())
        return None


def _inside(path: str, folder: str) -> bool:
    return path != folder and path.startswith(folder.rstrip("/") + "/")
