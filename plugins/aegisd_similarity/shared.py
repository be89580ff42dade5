"""Token arrays handed to worker processes through one temporary file, not the task pipes.

Matching the whole index sends each task the tokens of most files: through the pipes that is
several copies of every array, pickled one after another by the daemon, which made shipping as
slow as the matching it feeds. Written once to a file (in RAM under /dev/shm where there is
one), it is mapped by the workers, which read the arrays in place: they share its pages
instead of each holding a copy.
"""

from __future__ import annotations

import mmap
import os
import tempfile
from array import array
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import NamedTuple, cast

from aegisd_similarity.tokens import FileTokens

__all__ = ["Place", "mapped_tokens", "shared_tokens"]

_SHM = "/dev/shm"
_PREFIX = "aegisd-similarity-"


class Place(NamedTuple):
    """Where one file's arrays are in the file: norm, then orig, then layout (uint32s)."""

    path: str
    language: str
    offset: int
    tokens: int
    layout: int


@contextmanager
def shared_tokens(files: Mapping[int, FileTokens]) -> Iterator[tuple[str, dict[int, Place]]]:
    """Write the arrays of `files` to a temporary file, removed when the block ends; yields its
    path and where each file's arrays are."""
    size = sum(4 * (2 * len(t.norm) + len(t.layout)) for t in files.values())
    folder = _folder(size)
    _sweep(folder or tempfile.gettempdir())
    with tempfile.NamedTemporaryFile(prefix=f"{_PREFIX}{os.getpid()}-", dir=folder) as fh:
        places: dict[int, Place] = {}
        offset = 0
        for fid, t in files.items():
            places[fid] = Place(t.path, t.language, offset, len(t.norm), len(t.layout))
            for values in (t.norm, t.orig, t.layout):
                fh.write(values.tobytes())
            offset += 4 * (2 * len(t.norm) + len(t.layout))
        fh.flush()
        yield fh.name, places


def _sweep(folder: str) -> None:
    """Remove the files a killed daemon left behind (named after its pid): in /dev/shm they
    would hold memory until the next reboot."""
    try:
        names = [n for n in os.listdir(folder) if n.startswith(_PREFIX)]
    except OSError:
        return
    for name in names:
        pid = name[len(_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            with suppress(OSError):
                os.unlink(os.path.join(folder, name))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: not ours to judge
    return True


def _folder(size: int) -> str | None:
    """/dev/shm when it is there with room to spare (a container may give it 64 MiB in all),
    else the default temporary folder."""
    try:
        room = os.statvfs(_SHM)
    except OSError:
        return None
    return _SHM if os.access(_SHM, os.W_OK) and room.f_bavail * room.f_frsize > 2 * size else None


@contextmanager
def mapped_tokens(
    path: str, places: Iterable[tuple[int, Place]]
) -> Iterator[dict[int, FileTokens]]:
    """Worker side: the files at `places` as `FileTokens` holding what matching reads (no
    source, no line breaks), valid until the block ends. Their arrays are views of the mapped
    file: matching only indexes, slices and compares them, as it would arrays."""
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        whole = memoryview(mm)
        views: list[memoryview] = [whole]
        out: dict[int, FileTokens] = {}
        try:
            for fid, p in places:
                arrays = []
                at = p.offset
                for count in (p.tokens, p.tokens, p.layout):
                    views.append(whole[at : at + 4 * count].cast("I"))
                    arrays.append(cast("array[int]", views[-1]))
                    at += 4 * count
                norm, orig, layout = arrays
                out[fid] = FileTokens(p.path, p.language, 0, norm, orig, array("I"), layout, b"")
            yield out
        finally:
            out.clear()
            for view in reversed(views):  # the map closes only once no view is left
                view.release()
