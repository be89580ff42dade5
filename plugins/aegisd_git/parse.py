"""Parsers of git's machine-readable outputs into plain dicts (the result models validate them).

`LOG_FORMAT` puts each commit's header fields NUL-separated behind a record mark; with
`--raw --numstat -z` its files follow as NUL-separated tokens. Fields are taken by count, so a
commit message holding the record mark cannot shift them (git cuts messages at NUL).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

_FIELDS = ("hash", "short", "parents", "an", "ae", "at", "cn", "ce", "ct", "subject", "body")
LOG_FORMAT = (
    "--format=%x1e"
    + "%x00".join(("%H", "%h", "%P", "%an", "%ae", "%aI", "%cn", "%ce", "%cI", "%s", "%b"))
    + "%x00"
)
STATUS_NAMES = {"A": "A", "M": "M", "D": "D", "R": "R", "C": "C", "T": "T", "U": "U"}


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def parse_log(out: bytes, keep: Any = None) -> list[dict[str, Any]]:
    """Commits of `git log LOG_FORMAT [--raw --numstat -z]`, in git's order. `keep(path)`
    maps each file path (None drops the file: outside the workspace)."""
    tokens = out.split(b"\0")
    commits: list[dict[str, Any]] = []
    i = 0
    current: dict[str, Any] | None = None
    files: dict[str, dict[str, Any]] = {}
    while i < len(tokens):
        token = tokens[i].lstrip(b"\n")
        if token.startswith(b"\x1e"):
            if current is not None:
                current["files"] = _finish(files, keep)
            head = [token[1:], *tokens[i + 1 : i + len(_FIELDS)]]
            i += len(_FIELDS)
            current = _commit([_text(v) for v in head])
            commits.append(current)
            files = {}
            continue
        if token.startswith(b":"):
            status = _text(token.rsplit(b" ", 1)[1])
            letter = STATUS_NAMES.get(status[:1], status[:1])
            if letter in ("R", "C"):
                old, new = _text(tokens[i + 1]), _text(tokens[i + 2])
                i += 3
            else:
                old, new = None, _text(tokens[i + 1])
                i += 2
            files[new] = {"path": new, "old_path": old, "status": letter,
                          "added": None, "removed": None, "binary": False}  # fmt: skip
            continue
        if token and token[:1] in b"0123456789-" and token.count(b"\t") == 2:
            added, removed, path_raw = token.split(b"\t", 2)
            if path_raw:
                path = _text(path_raw)
                i += 1
            else:
                path = _text(tokens[i + 2])
                i += 3
            entry = files.get(path)
            if entry is not None:
                binary = added == b"-"
                entry["binary"] = binary
                entry["added"] = None if binary else int(added)
                entry["removed"] = None if binary else int(removed)
            continue
        i += 1
    if current is not None:
        current["files"] = _finish(files, keep)
    return commits


def parse_files(out: bytes) -> list[dict[str, Any]]:
    """The files of `git diff --raw --numstat -z` (no commit header)."""
    header = b"\x1e" + b"\0" * len(_FIELDS)
    return parse_log(header + out)[0]["files"]  # type: ignore[no-any-return]


def _finish(files: dict[str, dict[str, Any]], keep: Any) -> list[dict[str, Any]]:
    out = []
    for entry in files.values():
        if keep is not None:
            path = keep(entry["path"])
            if path is None:
                continue
            entry["path"] = path
            if entry["old_path"] is not None:
                entry["old_path"] = keep(entry["old_path"]) or entry["old_path"]
        out.append(entry)
    return out


def _commit(values: list[str]) -> dict[str, Any]:
    v = dict(zip(_FIELDS, values, strict=False))
    return {
        "hash": v["hash"],
        "short": v["short"],
        "parents": v["parents"].split(),
        "author": {"name": v["an"], "email": v["ae"], "time": v["at"]},
        "committer": {"name": v["cn"], "email": v["ce"], "time": v["ct"]},
        "subject": v["subject"],
        "body": v.get("body", "").rstrip("\n"),
    }


def parse_blame(out: bytes) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Lines of `git blame --porcelain` (commit, original and final line, the path in that
    commit, the line's text) and their commits by id (author, time with offset, summary,
    boundary)."""
    commits: dict[str, dict[str, Any]] = {}
    lines: list[dict[str, Any]] = []
    rows = out.split(b"\n")
    i = 0
    while i < len(rows):
        header = rows[i].split(b" ")
        i += 1
        if len(header) < 3:
            continue
        sha = _text(header[0])
        info = commits.setdefault(sha, {"boundary": False})
        while i < len(rows) and not rows[i].startswith(b"\t"):
            key, _, value = rows[i].partition(b" ")
            info[_text(key)] = _text(value)
            if key == b"boundary":
                info["boundary"] = True
            i += 1
        text = _text(rows[i][1:]) if i < len(rows) else ""
        i += 1
        lines.append({"line": int(header[2]), "commit": sha, "original_line": int(header[1]),
                      "path": info.get("filename", ""), "text": text})  # fmt: skip
    about = {
        sha: {
            "author": info.get("author", ""),
            "author_email": info.get("author-mail", "").strip("<>"),
            "time": iso_time(info.get("author-time", "0"), info.get("author-tz", "+0000")),
            "summary": info.get("summary", ""),
            "boundary": info["boundary"],
        }
        for sha, info in commits.items()
    }
    return lines, about


def iso_time(epoch: str, tz: str) -> str:
    """git's epoch seconds and `+hhmm` offset as ISO 8601 with that offset (as `%aI` prints)."""
    sign = -1 if tz.startswith("-") else 1
    digits = tz.lstrip("+-").rjust(4, "0")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])) * sign
    return datetime.fromtimestamp(int(epoch), timezone(offset)).isoformat()


def parse_hunks(patch: bytes) -> list[list[dict[str, Any]]]:
    """The hunks of each file section (`diff --git` ...) of a unified patch, in order."""
    sections: list[list[dict[str, Any]]] = []
    hunk: dict[str, Any] | None = None
    for raw in patch.split(b"\n"):
        if raw.startswith(b"diff --git ") or raw.startswith(b"diff --cc "):
            sections.append([])
            hunk = None
            continue
        if not sections:
            continue
        if raw.startswith(b"@@ "):
            hunk = _hunk_header(_text(raw))
            sections[-1].append(hunk)
            continue
        if hunk is not None and raw[:1] in (b" ", b"+", b"-", b"\\"):
            hunk["lines"].append(_text(raw))
    return sections


def _hunk_header(line: str) -> dict[str, Any]:
    ranges, _, header = line[3:].partition(" @@")
    old, new = ranges.split(" ")[:2]
    old_start, old_lines = _range(old[1:])
    new_start, new_lines = _range(new[1:])
    return {"old_start": old_start, "old_lines": old_lines, "new_start": new_start,
            "new_lines": new_lines, "header": header.strip(), "lines": []}  # fmt: skip


def _range(text: str) -> tuple[int, int]:
    start, _, count = text.partition(",")
    return int(start), int(count) if count else 1


def parse_status(out: bytes) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """`git status --porcelain=v2 --branch -z`: the branch headers and the entries."""
    headers: dict[str, str] = {}
    entries: list[dict[str, Any]] = []
    tokens = out.split(b"\0")
    i = 0
    while i < len(tokens):
        token = _text(tokens[i])
        i += 1
        if not token:
            continue
        kind = token[0]
        if kind == "#":
            key, _, value = token[2:].partition(" ")
            headers[key] = value
        elif kind == "1":
            parts = token.split(" ", 8)
            entries.append(_entry(parts[1], parts[8], None))
        elif kind == "2":
            parts = token.split(" ", 9)
            entries.append(_entry(parts[1], parts[9], _text(tokens[i])))
            i += 1
        elif kind == "u":
            parts = token.split(" ", 10)
            entries.append(_entry(parts[1], parts[10], None, conflicted=True))
        elif kind in "?!":
            code = "??" if kind == "?" else "!!"
            entries.append(_entry(code, token[2:], None))
    return headers, entries


def _entry(xy: str, path: str, old: str | None, conflicted: bool = False) -> dict[str, Any]:
    return {"path": path, "old_path": old, "index": xy[0], "worktree": xy[1],
            "conflicted": conflicted}  # fmt: skip
