import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aegisd_audit.hookbridge import (
    END_RUN,
    LOG_EVENT,
    START_RUN,
    Action,
    dispatch_actions,
    hook_main,
    payload_to_actions,
)
from aegisd_audit.redact import REDACTED
from aegisd_audit.spool import SpoolReader

ROOT = Path(__file__).resolve().parents[3]
FIXTURE = ROOT / "tests" / "fixtures" / "audit" / "agent-hook-payloads.jsonl"
PAYLOADS = [json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip()]
SESSION = "5f0c2a7e-1b9d-4c1e-9a57-3e2d8f6b0c11"
RUN = {
    "external_id": f"claude-code:{SESSION}",
    "name": "claude-code 5f0c2a7e",
    "workspace": "/home/dev/shop",
}

# For each fixture line: type, title, actor, phase, status, ref, detail of its event.
EXPECTED: list[tuple[str, str, str, str | None, str, str | None, str | None]] = [
    ("session", "Session started (startup)", "system", "init", "ok", None, None),
    (
        "note",
        "Prompt: Add input validation to the checkout form and run the tests",
        "human",
        None,
        "ok",
        None,
        "Add input validation to the checkout form and run the tests",
    ),
    ("tool_call", "Read app/checkout.py", "agent", "explore", "running", "toolu_01A", None),
    ("tool_call", "Read app/checkout.py", "agent", "explore", "ok", "toolu_01A", None),
    ("tool_call", "Edit app/checkout.py", "agent", "apply", "running", "toolu_01B", None),
    ("tool_call", "Edit app/checkout.py", "agent", "apply", "ok", "toolu_01B", None),
    ("tool_call", "Write app/validation.py", "agent", "apply", "running", "toolu_01C", None),
    ("tool_call", "Write app/validation.py", "agent", "apply", "ok", "toolu_01C", None),
    (
        "command",
        "$ pytest -q tests/test_checkout.py",
        "agent",
        None,
        "running",
        "toolu_01D",
        "Run the checkout tests",
    ),
    (
        "command_result",
        "$ pytest -q tests/test_checkout.py",
        "agent",
        None,
        "ok",
        "toolu_01D",
        "..F\n1 failed, 2 passed in 0.41s\n",
    ),
    (
        "command_result",
        f"$ export API_TOKEN={REDACTED} && ./deploy.sh",
        "agent",
        None,
        "error",
        "toolu_01E",
        "Command exited with code 1",
    ),
    (
        "note",
        "Claude needs your permission to use Bash",
        "agent",
        None,
        "ok",
        None,
        "Claude needs your permission to use Bash",
    ),
    ("note", "Subagent finished (general-purpose)", "agent", None, "ok", None, None),
    ("note", "Context compaction (auto)", "system", None, "ok", None, None),
    ("phase", "Agent turn finished", "agent", "complete", "ok", None, None),
    ("session", "Session ended (prompt_input_exit)", "system", "complete", "ok", None, None),
]


def _event_fields(action: Action) -> tuple[Any, ...]:
    p = action.params
    keys = ("type", "title", "actor", "phase", "status", "ref", "detail")
    return tuple(p.get(k) for k in keys)


def test_the_fixture_is_the_shared_one() -> None:
    assert len(PAYLOADS) == len(EXPECTED) == 16


@pytest.mark.parametrize(("payload", "expected"), list(zip(PAYLOADS, EXPECTED, strict=True)))
def test_every_sample_payload_maps_to_its_event(
    payload: dict[str, Any], expected: tuple[Any, ...]
) -> None:
    actions = payload_to_actions(payload)
    assert actions[0] == Action(START_RUN, RUN)
    assert actions[1].method == LOG_EVENT
    assert _event_fields(actions[1]) == expected
    event_payload = actions[1].params["payload"]
    assert event_payload["hook_event_name"] == payload["hook_event_name"]
    assert "session_id" not in event_payload and "cwd" not in event_payload
    ends = payload["hook_event_name"] == "SessionEnd"
    assert [a.method for a in actions[2:]] == ([END_RUN] if ends else [])


def test_the_token_in_the_failing_command_is_redacted() -> None:
    (failure,) = [p for p in PAYLOADS if p["hook_event_name"] == "PostToolUseFailure"]
    event = payload_to_actions(failure)[1].params
    assert (
        event["payload"]["tool_input"]["command"] == f"export API_TOKEN={REDACTED} && ./deploy.sh"
    )
    assert "sk-live" not in json.dumps([a.params for a in payload_to_actions(failure)])
    assert "sk-live" in failure["tool_input"]["command"]  # the input was not changed


def test_tool_payloads_are_kept() -> None:
    edit = PAYLOADS[5]
    event_payload = payload_to_actions(edit)[1].params["payload"]
    assert event_payload["tool_input"] == edit["tool_input"]
    assert (
        event_payload["tool_response"]["structuredPatch"]
        == edit["tool_response"]["structuredPatch"]
    )


def test_unknown_events_become_notes_and_missing_fields_are_tolerated() -> None:
    actions = payload_to_actions({"hook_event_name": "PermissionRequest", "extra": [1]})
    assert actions == [
        Action(START_RUN, {"external_id": "claude-code:unknown", "name": "claude-code unknown"}),
        Action(
            LOG_EVENT,
            {
                "type": "note",
                "title": "PermissionRequest hook",
                "actor": "system",
                "status": "ok",
                "payload": {"hook_event_name": "PermissionRequest", "extra": [1]},
            },
        ),
    ]
    assert _event_fields(payload_to_actions({})[1])[:2] == ("note", "unknown hook")
    bare_tool = payload_to_actions({"hook_event_name": "PostToolUse", "tool_input": "odd"})
    assert _event_fields(bare_tool[1])[:2] == ("tool_call", "tool")


def test_long_and_multi_line_titles_are_clipped() -> None:
    payload = {"hook_event_name": "UserPromptSubmit", "prompt": "x" * 500 + "\nsecond line"}
    event = payload_to_actions(payload)[1].params
    assert len(event["title"]) == 200
    assert event["title"].endswith("…")
    assert event["detail"] == payload["prompt"]
    bash = {"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": "a\nb"}}
    assert payload_to_actions(bash)[1].params["title"] == "$ a …"


def test_replayed_payloads_carry_their_time() -> None:
    actions = payload_to_actions(PAYLOADS[1], occurred_at="2025-05-01T10:00:00.000+00:00")
    assert actions[1].params["at"] == "2025-05-01T10:00:00.000+00:00"
    assert "at" not in payload_to_actions(PAYLOADS[1])[1].params


class FakeDaemon:
    """Stands in for the socket client: answers like the daemon's audit methods."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def send(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((method, params))
        return {"id": 42} if method == START_RUN else {}


def test_dispatch_passes_the_run_id_on() -> None:
    daemon = FakeDaemon()
    dispatch_actions(payload_to_actions(PAYLOADS[-1]), daemon.send)
    assert [m for m, _ in daemon.calls] == [START_RUN, LOG_EVENT, END_RUN]
    assert "run" not in daemon.calls[0][1]
    assert daemon.calls[1][1]["run"] == 42
    assert daemon.calls[2][1] == {"run": 42}


def test_hook_main_sends_when_the_daemon_answers(tmp_path: Path) -> None:
    daemon = FakeDaemon()
    spool = tmp_path / "spool.jsonl"
    assert hook_main(json.dumps(PAYLOADS[2]), daemon.send, spool) == 0
    assert [m for m, _ in daemon.calls] == [START_RUN, LOG_EVENT]
    assert not spool.exists()


def _send_to_nowhere(socket_path: Path) -> Any:
    def send(method: str, params: dict[str, Any]) -> dict[str, Any]:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(socket_path))  # no daemon listens: FileNotFoundError
        raise AssertionError("unreachable")

    return send


def test_hook_main_spools_once_when_no_daemon_answers(tmp_path: Path) -> None:
    spool = tmp_path / "state" / "spool.jsonl"
    failure = PAYLOADS[10]
    assert hook_main(json.dumps(failure), _send_to_nowhere(tmp_path / "aegisd.sock"), spool) == 0
    raw = spool.read_bytes()
    (entry,) = SpoolReader(spool).read_pending()
    assert entry.payload["session_id"] == SESSION  # kept to key the run on replay
    assert entry.payload["tool_input"]["command"] == f"export API_TOKEN={REDACTED} && ./deploy.sh"
    assert b"sk-live" not in raw  # secrets never reach the disk
    replayed = payload_to_actions(entry.payload, occurred_at=entry.at)
    live = payload_to_actions(failure)
    assert [a.params | {"at": None} for a in replayed] == [a.params | {"at": None} for a in live]


def test_hook_main_spools_once_when_the_daemon_goes_away_midway(tmp_path: Path) -> None:
    spool = tmp_path / "spool.jsonl"
    calls: list[str] = []

    def flaky(method: str, params: dict[str, Any]) -> dict[str, Any]:
        calls.append(method)
        if method == LOG_EVENT:
            raise ConnectionResetError("daemon stopped")
        return {"id": 1}

    assert hook_main(json.dumps(PAYLOADS[-1]), flaky, spool) == 0
    assert calls == [START_RUN, LOG_EVENT]
    assert len(SpoolReader(spool).read_pending()) == 1


def test_hook_main_never_fails_the_agent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spool = tmp_path / "spool.jsonl"

    def refusing(method: str, params: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("JSON-RPC error -32602: invalid params")

    assert hook_main(json.dumps(PAYLOADS[0]), refusing, spool) == 0  # daemon up: not spooled
    assert hook_main("not json", FakeDaemon().send, spool) == 0
    assert hook_main("[1, 2]", FakeDaemon().send, spool) == 0
    assert hook_main(json.dumps(PAYLOADS[0]), lambda m, p: {}, spool) == 0  # result without id
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert hook_main(json.dumps(PAYLOADS[0]), _send_to_nowhere(tmp_path / "s"), blocked / "x") == 0
    assert not spool.exists()
    out, err = capsys.readouterr()
    assert out == ""  # agents may read a hook's stdout
    assert err.count("aegisd audit hook:") == 5


def test_the_hook_modules_import_only_the_standard_library() -> None:
    code = (
        "import sys; before = set(sys.modules); import aegisd_audit.hookbridge, aegisd_audit.events;"
        "print('\\n'.join(sorted(set(sys.modules) - before)))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins")}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    loaded = {name.split(".")[0] for name in result.stdout.split()}
    ours = {"aegisd_audit"}
    assert loaded - ours <= set(sys.stdlib_module_names)
    assert not loaded & {"pydantic", "aiohttp", "loguru", "pluggy", "aegisd"}


def test_a_payload_nested_too_deep_is_cut_not_refused(tmp_path: Path) -> None:
    deep: dict[str, Any] = {"leaf": 1}
    for _ in range(500):
        deep = {"a": deep}
    payload = {**PAYLOADS[1], "extra": deep}
    actions = payload_to_actions(payload)
    event = actions[1].params
    assert event["title"].startswith("Prompt:")
    assert "nested too deep" in json.dumps(event["payload"])
    spool = tmp_path / "spool.jsonl"
    assert hook_main(json.dumps(payload), _send_to_nowhere(tmp_path / "aegisd.sock"), spool) == 0
    (entry,) = SpoolReader(spool).read_pending()
    assert "nested too deep" in json.dumps(entry.payload)
    # Past what json parses at all: ignored with a message, never a crash of the hook.
    hopeless = '{"a": ' * 100_000 + "1" + "}" * 100_000
    assert hook_main(hopeless, _send_to_nowhere(tmp_path / "aegisd.sock"), spool) == 0


def test_the_spool_redacts_the_run_fields_by_shape_only(tmp_path: Path) -> None:
    token = "ghp_" + "A1b2C3d4E5" * 4
    payload = {**PAYLOADS[0], "cwd": f"/home/dev/{token}/shop"}
    spool = tmp_path / "spool.jsonl"
    hook_main(json.dumps(payload), _send_to_nowhere(tmp_path / "aegisd.sock"), spool)
    assert token.encode() not in spool.read_bytes()
    (entry,) = SpoolReader(spool).read_pending()
    assert entry.payload["session_id"] == SESSION  # no secret shape: kept to key the run
    assert entry.payload["cwd"] == f"/home/dev/{REDACTED}/shop"


def _bash_result(command: str, cwd: Path, ok: bool = True) -> dict[str, Any]:
    return {"session_id": SESSION, "cwd": str(cwd), "hook_event_name": "PostToolUse"
            if ok else "PostToolUseFailure", "tool_name": "Bash", "tool_use_id": "toolu_g",
            "tool_input": {"command": command}, "tool_response": {"stdout": "", "stderr": ""}}  # fmt: skip


def test_a_git_command_that_moved_head_is_a_git_event_with_the_commit(tmp_path: Path) -> None:
    from tests.plugins.git.repos import git, history

    root = tmp_path / "repo"
    ids = history(root)
    (root / "sub").mkdir()
    for command, where in [
        ("git commit -m 'x'", root),
        ("cd . && GIT_EDITOR=true git -c user.name=a rebase main", root),
        ("git -C .. merge side", root / "sub"),
    ]:
        [_, log] = payload_to_actions(_bash_result(command, where))
        assert log.params["type"] == "git", command
        assert log.params["payload"]["git"] == {"head": ids["binary"], "branch": "main"}
    git(root, "pack-refs", "--all")  # the branch now only in packed-refs
    git(root, "checkout", "-q", "--detach", ids["merge"])
    [_, log] = payload_to_actions(_bash_result("git checkout side", root))
    assert log.params["payload"]["git"] == {"head": ids["merge"], "branch": None}
    git(root, "checkout", "-q", "side")
    [_, log] = payload_to_actions(_bash_result("git switch side", root))
    assert log.params["payload"]["git"] == {"head": ids["side"], "branch": "side"}
    for command, where, ok in [
        ("git status", root, True),  # does not move HEAD
        ("git log --oneline | head", root, True),
        ("echo git commit", root, True),
        ("git commit -m x", root, False),  # failed
        ("git commit -m x", tmp_path, True),  # no repository there
    ]:
        [_, log] = payload_to_actions(_bash_result(command, where, ok))
        assert log.params["type"] != "git" and "git" not in log.params["payload"], command
    [_, log] = payload_to_actions(_bash_result("git commit -m x", root), "2024-01-01T00:00:00Z")
    assert log.params["type"] == "command_result"  # a replay: HEAD may have moved since
