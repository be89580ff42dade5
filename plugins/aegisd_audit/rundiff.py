"""What a run changed: its file_change events folded into one entry per file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aegisd.workspace import coalesce


@dataclass
class FileTotal:
    """A file's net change over a run; lines are summed over the run's changes of it."""

    path: str
    change: str
    lines_added: int = 0
    lines_removed: int = 0
    binary: bool = False
    events: int = 0


def summarize(changes: list[dict[str, Any]]) -> list[FileTotal]:
    """One entry per file from file_change payloads, oldest first, sorted by path. A file
    created then deleted during the run does not appear; deleted then created is modified."""
    files: dict[str, FileTotal] = {}
    for change in changes:
        path, kind = change.get("path"), change.get("change")
        if not isinstance(path, str) or kind not in ("created", "modified", "deleted"):
            continue
        current = files.get(path)
        net = coalesce(current.change if current else None, kind)
        if net is None:
            files.pop(path, None)
            continue
        total = current or FileTotal(path, net)
        total.change = net
        total.lines_added += int(change.get("lines_added") or 0)
        total.lines_removed += int(change.get("lines_removed") or 0)
        total.binary = total.binary or bool(change.get("binary"))
        total.events += 1
        files[path] = total
    return [files[path] for path in sorted(files)]
