"""Compact text renderings of tool results, for models that read text rather than structure.

Each starts with a line saying what the answer is and how fresh: the workspace clock it was
computed at, and whether changes were still pending (then it may be stale).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

Renderer = Callable[[Mapping[str, Any], Mapping[str, Any]], str]
MAX_TEXT_CHARS = 40_000


def freshness(result: Mapping[str, Any]) -> str:
    if "clock" not in result:
        return ""
    if result.get("pending"):
        return f"[clock {result['clock']}, PENDING: changes are being processed, may be stale]"
    return f"[clock {result['clock']}, fresh]"


def _head(text: str, result: Mapping[str, Any]) -> str:
    return f"{text} {freshness(result)}".rstrip()


def clip(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """`text` within `limit` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n[... {len(text) - limit} more characters: narrow the request]"


def generic(result: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    rest = {k: v for k, v in result.items() if k not in ("clock", "pending")}
    return _head("result", result) + "\n" + json.dumps(rest, separators=(",", ":"))


def search(result: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    hits = result.get("hits", [])
    lines = [_head(f"{len(hits)} symbols match {args.get('query')!r}", result)]
    for h in hits:
        sig = h.get("signature") or ""
        refs = "" if h.get("references") is None else f" ({h['references']} refs)"
        line = f"{h['path']}:{h['line']}-{h['end_line']} {h['kind']} {h['qualname']}{sig}{refs}"
        lines.append(line)
    return "\n".join(lines)


def references(result: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    symbol = result.get("symbol")
    refs = result.get("references", [])
    about = f"{symbol['qualname']} ({symbol['path']}:{symbol['line']})" if symbol else "nothing"
    more = " (more: raise limit)" if result.get("truncated") else ""
    lines = [_head(f"{len(refs)} references to {about}{more}", result)]
    others = [c for c in result.get("candidates", []) if c != symbol]
    lines += [f"also: {c['qualname']} ({c['path']}:{c['line']})" for c in others]
    for r in refs:
        unsure = " ambiguous" if r["resolution"] != "resolved" else ""
        lines.append(
            f"{r['path']}:{r['line']}:{r['column']} {r['kind']}{unsure}  {r['text'].strip()}"
        )
    return "\n".join(lines)


def calls(result: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    edges = result.get("edges", [])
    direction = args.get("direction", "callees")
    deeper = " (max depth reached: raise depth)" if result.get("max_depth_reached") else ""
    roots = ", ".join(result.get("roots", []))
    lines = [_head(f"{len(edges)} calls, {direction} of {roots}{deeper}", result)]
    for e in edges:
        unsure = "" if e["resolution"] == "resolved" else f" {e['resolution']}"
        lines.append(f"{e['source']} -> {e['target']} (line {e['line']}, {e['call_type']}{unsure})")
    lines += ["cycle: " + " -> ".join(c) for c in result.get("cycles", [])]
    outside = result.get("unresolved", [])
    if outside:
        total = result.get("unresolved_total", len(outside))
        lines.append(f"{total} calls outside the workspace or unresolved:")
        lines += [
            f"{u['source']} line {u['line']}: {u['target']} ({u['resolution']})" for u in outside
        ]
    return "\n".join(lines)


def _outline_lines(nodes: list[dict[str, Any]], depth: int) -> list[str]:
    lines = []
    for n in nodes:
        sig = n.get("signature") or ""
        lines.append(f"{'  ' * depth}{n['line']}-{n['end_line']} {n['kind']} {n['name']}{sig}")
        lines += _outline_lines(n.get("children", []), depth + 1)
    return lines


def outline(result: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    about = f"{result['path']} ({result.get('language')}, {result.get('lines')} lines)"
    if result.get("stale"):
        about += " STALE: the file no longer parses, this is its last good outline"
    lines = [_head(about, result)]
    lines += [f"error {e['line']}:{e['column']} {e['message']}" for e in result.get("errors", [])]
    return "\n".join(lines + _outline_lines(result.get("outline", []), 0))


def preview(result: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    start, end = result["start_line"], result["end_line"]
    head = _head(f"{result['path']} lines {start}-{end} of {result['total_lines']}", result)
    body = result.get("text", "").splitlines()
    return "\n".join([head, *(f"{start + i:>6}\t{line}" for i, line in enumerate(body))])


def dependents(result: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    files = result.get("dependents", [])
    how = " directly or indirectly" if args.get("transitive") else ""
    lines = [_head(f"{len(files)} files import {result.get('path')}{how}", result)]
    return "\n".join(lines + files)


def cycles(result: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    """One line per cycle: its path of imports (``file:line`` imports the next file), and how
    many more files the cycle holds when the path passes only some of them."""
    found = result.get("cycles", [])
    paths = result.get("cycle_paths") or []
    lines = [_head(f"{len(found)} import cycles (file:line imports the next file)", result)]
    for at, members in enumerate(found):
        path = paths[at] if at < len(paths) else []
        if not path:
            lines.append(" <-> ".join(members))
            continue
        route = " -> ".join([f"{e['source']}:{e['line']}" for e in path] + [path[0]["source"]])
        more = len(members) - len(path)
        lines.append(route + (f" (and {more} more files in this cycle)" if more > 0 else ""))
    return "\n".join(lines)


def changes(result: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    found = result.get("changes", [])
    since = args.get("since", 0)
    head = f"{len(found)} files changed since {since}; pass since={result.get('cursor')!r} next"
    lines = [_head(head, result)]
    if result.get("fresh_instance"):
        lines.append("since is not answerable (too old or another daemon instance): re-read files")
    return "\n".join(lines + [f"{c['kind']} {c['path']}" for c in found])


def lint(result: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    lag = ", a lint run is going: results may lag" if result.get("running") else ""
    head = f"lint {result['status']}: {result['summary']['issues']} issues{lag}"
    lines = [_head(head, result)]
    for report in result["files"]:
        for i in report["issues"]:
            code = f" {i['code']}" if i.get("code") else ""
            where = f"{i['path']}:{i['line']}:{i['column']}"
            lines.append(f"{where} {i['severity']} {i['tool']}{code} {i['message']}")
    return "\n".join(lines)


def git_history(result: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    if "lines" in result:
        lines = [_head(f"blame of {result['path']}", result)]
        commits = result.get("commits", {})
        for b in result["lines"]:
            about = commits.get(b["commit"], {})
            who = f"{b['commit'][:8]} {about.get('author', '?')} {about.get('time', '')[:10]}"
            lines.append(f"{b['line']} {who} | {b['text']}")
        return clip("\n".join(lines))
    commits = result.get("commits", [])
    more = f"; more with cursor={result['next_cursor']!r}" if result.get("next_cursor") else ""
    lines = [_head(f"{len(commits)} commits{more}", result)]
    for c in commits:
        lines.append(
            f"{c['short']} {c['author']['time'][:10]} {c['author']['name']}: {c['subject']}"
        )
        for f in c.get("files", []):
            counts = "binary" if f.get("binary") else f"+{f.get('added')} -{f.get('removed')}"
            moved = f" (from {f['old_path']})" if f.get("old_path") else ""
            lines.append(f"  {f['status']} {f['path']}{moved} {counts}")
    return clip("\n".join(lines))


def audit_run(result: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    about = f"{result['status']}, {result['event_count']} events"
    return f"audit run {result['id']} {result['name']!r}: {about}"


def audit_event(result: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    cut = " (detail or payload truncated to its cap)" if result.get("truncated") else ""
    about = f"{result['type']} {result['title']!r}{cut}"
    return f"event {result['id']} logged in run {result['run']}: {about}"


def error(code_name: str, message: str, data: Mapping[str, Any]) -> str:
    """`CODE: message`, then field errors and details such as path or retry_after_ms."""
    lines = [f"{code_name}: {message}"]
    for err in data.get("errors", []) if isinstance(data.get("errors"), list) else []:
        loc = ".".join(str(p) for p in err.get("loc", [])[1:]) or "params"
        lines.append(f"- {loc}: {err.get('msg')}")
    skip = {"code", "timestamp", "method", "request_id", "errors"}
    details = ", ".join(f"{k}={v}" for k, v in data.items() if k not in skip)
    if details:
        lines.append(f"({details})")
    return "\n".join(lines)
