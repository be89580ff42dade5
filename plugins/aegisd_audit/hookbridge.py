"""`aegisd audit hook`: turn one coding-agent hook payload (Claude Code's shape) into audit calls.

`payload_to_actions` maps a payload to RPC calls; `dispatch_actions` makes them through a `send`
function; `hook_main` is the whole hook: parse stdin, send, and when no daemon answers, spool the
payload for the daemon to replay. The protocol the daemon implements for it:

- ``audit.start_run {external_id, name, workspace?}`` *ensures* the run: it returns the open run
  whose `external_id` matches (``"claude-code:<session id>"``) or creates one, and its result
  holds the run's ``id``.
- ``audit.log_event {run, type, title, actor, detail?, phase?, status?, ref?, payload?, at?}``
  and ``audit.end_run {run}`` get ``run`` from that result (`dispatch_actions` fills it in);
  ``at`` is set only for replayed payloads: when the hook spooled it.

Every payload ensures its run (a hook may be installed mid-session, so SessionStart is not
guaranteed). `Stop` ends an agent's turn, not the session: it is logged as a phase event and only
`SessionEnd` ends the run. Unknown events become notes; missing fields are tolerated. Event
payloads are the hook payload without the session id and cwd (they identify the run), redacted.
A successful Bash command that moved HEAD with git (`git commit`, `merge`, `rebase`, ...) is a
`git` event whose payload's `git` names the commit and branch HEAD is at right after it (read
from the repository's files; a replayed payload stays a `command_result`: HEAD may have moved).

Standard library only: the hook must start fast and never print to stdout (agents may feed a
hook's stdout back to the model).
"""

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aegisd_audit import gitevent
from aegisd_audit.limits import cut_depth
from aegisd_audit.redact import redact, redact_text
from aegisd_audit.spool import SpoolWriter

START_RUN = "audit.start_run"
LOG_EVENT = "audit.log_event"
END_RUN = "audit.end_run"
AGENT_NAME = "claude-code"
_TITLE_MAX = 200  # limits.TITLE_MAX_CHARS; titles made here are clipped, not rejected

Send = Callable[[str, dict[str, Any]], dict[str, Any]]

# What the tools of coding agents do, as audit phases; other tools (Bash, MCP tools) have none.
_TOOL_PHASES = {
    "Read": "explore",
    "Grep": "explore",
    "Glob": "explore",
    "LS": "explore",
    "WebFetch": "explore",
    "WebSearch": "explore",
    "Task": "explore",
    "TodoWrite": "plan",
    "ExitPlanMode": "plan",
    "Edit": "apply",
    "MultiEdit": "apply",
    "Write": "apply",
    "NotebookEdit": "apply",
}
# The tool_input field that best names what a tool call is about, in order of preference.
_SUBJECT_FIELDS = ("file_path", "notebook_path", "path", "pattern", "url", "query", "description")
_COMMAND_TOOLS = ("Bash",)
_RUN_FIELDS = ("session_id", "cwd")


@dataclass(frozen=True)
class Action:
    """One RPC call to make: `method` with `params` (``run`` is added by `dispatch_actions`)."""

    method: str
    params: dict[str, Any] = field(default_factory=dict)


def payload_to_actions(payload: dict[str, Any], occurred_at: str | None = None) -> list[Action]:
    """The RPC calls recording one hook `payload`: ensure the run, log one event, and end the
    run on SessionEnd. `occurred_at` (ISO 8601) is given when replaying a spooled payload."""
    session = str(payload.get("session_id") or "unknown")
    # Nesting past what the daemon stores is cut here: a hook records what it can.
    shallow, _ = cut_depth({k: v for k, v in payload.items() if k not in _RUN_FIELDS})
    clean = redact(shallow)
    run = {
        "external_id": f"{AGENT_NAME}:{session}",
        "name": f"{AGENT_NAME} {session[:8]}",
        "workspace": _str(payload.get("cwd")),
    }
    event = _event(clean, _str(payload.get("cwd")) or "")
    event["payload"] = clean
    moved = _git_moved(payload, event) if occurred_at is None else None
    if moved is not None:
        event["type"] = "git"
        event["payload"] = {**clean, "git": moved}
    if occurred_at is not None:
        event["at"] = occurred_at
    actions = [Action(START_RUN, _present(run)), Action(LOG_EVENT, _present(event))]
    if clean.get("hook_event_name") == "SessionEnd":
        actions.append(Action(END_RUN))
    return actions


def dispatch_actions(actions: list[Action], send: Send) -> None:
    """Make the calls in order, passing the run id from ``audit.start_run``'s result on."""
    run_id: Any = None
    for action in actions:
        params = action.params if action.method == START_RUN else {**action.params, "run": run_id}
        result = send(action.method, params)
        if action.method == START_RUN:
            run_id = result["id"]


def hook_main(stdin_text: str, send: Send, spool_path: Path) -> int:
    """The hook command: record the payload on stdin through `send`; when `send` raises OSError
    (ConnectionError included: no daemon), spool the payload once instead. Always returns 0 —
    a hook must never get in the agent's way; problems are reported on stderr."""
    try:
        payload = json.loads(stdin_text)
        if not isinstance(payload, dict):
            raise ValueError("not a JSON object")
    except (ValueError, RecursionError) as exc:  # RecursionError: nested past json's limit
        print(f"aegisd audit hook: ignoring the payload: {exc}", file=sys.stderr)
        return 0
    try:
        dispatch_actions(payload_to_actions(payload), send)
    except OSError:
        _spool(payload, spool_path)
    except Exception as exc:  # the daemon refused the call, or a bug: still never fail the agent
        print(f"aegisd audit hook: could not record the event: {exc!r}", file=sys.stderr)
    return 0


def _spool(payload: dict[str, Any], spool_path: Path) -> None:
    # Secrets never reach the disk. Redaction by key would hide the session id (its key says
    # "session"), but it keys the run: it and cwd are redacted by shape only, as the daemon does.
    kept = {
        k: redact_text(v) for k, v in payload.items() if k in _RUN_FIELDS and isinstance(v, str)
    }
    try:
        SpoolWriter(spool_path).append({**redact(cut_depth(payload)[0]), **kept})
    except OSError as exc:
        print(f"aegisd audit hook: could not spool the event: {exc}", file=sys.stderr)


def _event(p: dict[str, Any], cwd: str) -> dict[str, Any]:
    """type, title, detail, actor, phase, status and ref of the event for a (redacted) payload."""
    name = _str(p.get("hook_event_name")) or "unknown"
    tool = _str(p.get("tool_name")) or "tool"
    given_input = p.get("tool_input")
    tool_input: dict[str, Any] = given_input if isinstance(given_input, dict) else {}
    command = tool in _COMMAND_TOOLS
    ref = _str(p.get("tool_use_id"))
    if name in ("PreToolUse", "PostToolUse", "PostToolUseFailure"):
        failed = name == "PostToolUseFailure"
        kind = "tool_call"
        if command:
            kind = "command" if name == "PreToolUse" else "command_result"
        return {
            "type": kind,
            "title": _tool_title(tool, tool_input, cwd),
            "detail": _error(p) if failed else _tool_detail(name, command, tool_input, p),
            "actor": "agent",
            "phase": _TOOL_PHASES.get(tool),
            "status": "running" if name == "PreToolUse" else "error" if failed else "ok",
            "ref": ref,
        }
    if name == "SessionStart":
        return _simple("session", f"Session started{_why(p.get('source'))}", "system", "init")
    if name == "SessionEnd":
        return _simple("session", f"Session ended{_why(p.get('reason'))}", "system", "complete")
    if name == "UserPromptSubmit":
        prompt = _str(p.get("prompt")) or ""
        return {**_simple("note", f"Prompt: {_first_line(prompt)}", "human"), "detail": prompt}
    if name == "Stop":
        return _simple("phase", "Agent turn finished", "agent", "complete")
    if name == "SubagentStop":
        return _simple("note", f"Subagent finished{_why(p.get('agent_type'))}", "agent")
    if name == "Notification":
        message = _str(p.get("message")) or "Notification"
        return {**_simple("note", message, "agent"), "detail": message}
    if name == "PreCompact":
        return _simple("note", f"Context compaction{_why(p.get('trigger'))}", "system")
    return _simple("note", f"{name} hook", "system")


def _git_moved(payload: dict[str, Any], event: dict[str, Any]) -> dict[str, Any] | None:
    """For a successful command that moved HEAD with git: the commit (and branch) it left
    HEAD at, read now from the repository's files; None otherwise (and for a replay: HEAD
    may have moved since)."""
    tool_input = payload.get("tool_input")
    command = _str(tool_input.get("command")) if isinstance(tool_input, dict) else None
    cwd = _str(payload.get("cwd"))
    if event["type"] != "command_result" or event["status"] != "ok" or not command or not cwd:
        return None
    target = gitevent.git_target(command, cwd)
    return gitevent.head_of(target) if target is not None else None


def _simple(type_: str, title: str, actor: str, phase: str | None = None) -> dict[str, Any]:
    return {"type": type_, "title": _clip(title), "actor": actor, "phase": phase, "status": "ok"}


def _tool_title(tool: str, tool_input: dict[str, Any], cwd: str) -> str:
    if tool in _COMMAND_TOOLS:
        return _clip(f"$ {_first_line(_str(tool_input.get('command')) or '')}")
    subject = next((tool_input[f] for f in _SUBJECT_FIELDS if _str(tool_input.get(f))), "")
    if cwd and subject.startswith(cwd.rstrip("/") + "/"):
        subject = subject[len(cwd.rstrip("/")) + 1 :]
    return _clip(f"{tool} {_first_line(subject)}".strip())


def _tool_detail(
    name: str, command: bool, tool_input: dict[str, Any], p: dict[str, Any]
) -> str | None:
    """A command's description before it runs, its output after; None for other tools."""
    if not command:
        return None
    if name == "PreToolUse":
        return _str(tool_input.get("description"))
    response = p.get("tool_response")
    if not isinstance(response, dict):
        return _str(response)
    parts = (_str(response.get("stdout")), _str(response.get("stderr")))
    return "\n".join(part for part in parts if part) or None


def _error(p: dict[str, Any]) -> str | None:
    error = p.get("error")
    return error if isinstance(error, str) else None if error is None else json.dumps(error)


def _why(value: Any) -> str:
    text = _str(value)
    return f" ({text})" if text else ""


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] + (" …" if len(lines) > 1 else "") if lines else ""


def _clip(title: str) -> str:
    return title if len(title) <= _TITLE_MAX else title[: _TITLE_MAX - 1] + "…"


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _present(params: dict[str, Any]) -> dict[str, Any]:
    """`params` without the None values (absent optional fields)."""
    return {k: v for k, v in params.items() if v is not None}
