"""`aegisd audit hook` and `aegisd audit exec`: the audit trail's client commands.

Standard library and aegisd's light client only (the hook runs on every agent action and must
start fast); `aegisd.cli` imports this module only when an `audit` command runs.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from typing import Any

from aegisd.client import Client, DaemonUnavailable, RpcCallError
from aegisd.paths import resolve_data_dir, resolve_socket
from aegisd_audit.hookbridge import LOG_EVENT, hook_main
from aegisd_audit.limits import TITLE_MAX_CHARS
from aegisd_audit.spool import SPOOL_FILENAME

HOOK_TIMEOUT_S = 3.0  # a daemon slower than this is treated as absent: the payload is spooled
HOOK_RETRY_S = 1.0  # how long the hook waits out RATE_LIMITED / UNAVAILABLE before spooling
EXEC_RETRY_S = 10.0
STREAM_CAP = 8 * 1024  # per stream, so that stdout and stderr together fit an event's detail
EXIT_ERROR, EXIT_UNAVAILABLE = 1, 2
_RETRYABLE = ("RATE_LIMITED", "UNAVAILABLE")


def call(client: Client, method: str, params: dict[str, Any], retry_s: float) -> Any:
    """`client.call`, waiting out RATE_LIMITED and UNAVAILABLE answers (as their
    `retry_after_ms` says) for up to `retry_s` seconds in all."""
    deadline = time.monotonic() + retry_s
    while True:
        try:
            return client.call(method, params)
        except RpcCallError as exc:
            wait_ms = exc.error.get("data", {}).get("retry_after_ms")
            retryable = exc.code_name in _RETRYABLE and isinstance(wait_ms, int | float)
            if not retryable or time.monotonic() + wait_ms / 1000 > deadline:
                raise
            time.sleep(wait_ms / 1000)


def _hook_client(stdin_text: str) -> str:
    try:
        session = json.loads(stdin_text).get("session_id")
    except (ValueError, AttributeError):
        session = None
    return f"audit-hook:{str(session)[:36]}" if session else "audit-hook"


def hook_command(socket: str | None, data_dir: str | None, stdin_text: str) -> int:
    """Record one agent hook payload; spool it when no daemon answers, or when the daemon
    cannot take it now (rate limit, store unavailable). Always 0."""
    # One rate-limit budget per agent session, not one shared by every agent on the machine.
    client = Client(
        resolve_socket(socket), timeout=HOOK_TIMEOUT_S, client_name=_hook_client(stdin_text)
    )

    def send(method: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            result: dict[str, Any] = call(client, method, params, HOOK_RETRY_S)
        except DaemonUnavailable as exc:  # hook_main spools on OSError
            raise ConnectionError(str(exc)) from exc
        except RpcCallError as exc:
            if exc.code_name in _RETRYABLE:
                raise ConnectionError(str(exc)) from exc
            raise
        return result

    return hook_main(stdin_text, send, resolve_data_dir(data_dir) / SPOOL_FILENAME)


def exec_command(socket: str | None, run: int, argv: list[str], actor: str) -> int:
    """Run `argv` in the current directory, passing its output through, and record it in run
    `run` as a `command` event and a `command_result` event. Exits with the command's code; a
    command that cannot be recorded first is not run (1: the daemon refused, 2: no daemon)."""
    from aegisd_audit.execcmd import run_and_capture

    argv = argv[1:] if argv[:1] == ["--"] else argv
    if not argv:
        print("aegisd audit exec: no command given (aegisd audit exec --run ID -- CMD ...)",
              file=sys.stderr)  # fmt: skip
        return EXIT_UNAVAILABLE
    client = Client(resolve_socket(socket), timeout=30.0, client_name="audit-exec")
    cwd = os.getcwd()
    title = _clip(f"$ {shlex.join(argv)}")
    command = {"run": run, "type": "command", "title": title, "actor": actor}
    try:
        payload = {"argv": argv, "cwd": cwd}
        started = call(client, LOG_EVENT, {**command, "status": "running", "payload": payload},
                       EXEC_RETRY_S)  # fmt: skip
    except RpcCallError as exc:
        print(f"aegisd audit exec: not run: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except DaemonUnavailable as exc:
        print(f"aegisd audit exec: not run: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    outcome = run_and_capture(argv, cwd, STREAM_CAP)
    output = "\n".join(part for part in (outcome.stdout.text, outcome.stderr.text) if part)
    result = {
        **command,
        "type": "command_result",
        "status": "ok" if outcome.exit_code == 0 else "error",
        "ref": str(started["id"]),
        "detail": outcome.error or output or None,
        "payload": {
            "exit_code": outcome.exit_code,
            "signal": outcome.signal,
            "duration_ms": outcome.duration_ms,
            "stdout_bytes": outcome.stdout.total_bytes,
            "stderr_bytes": outcome.stderr.total_bytes,
            "output_truncated": outcome.stdout.truncated or outcome.stderr.truncated,
        },
    }
    try:
        call(client, LOG_EVENT, {k: v for k, v in result.items() if v is not None}, EXEC_RETRY_S)
    except (RpcCallError, DaemonUnavailable) as exc:
        print(f"aegisd audit exec: the result was not recorded: {exc}", file=sys.stderr)
    return outcome.exit_code


def _clip(title: str, limit: int = TITLE_MAX_CHARS) -> str:
    return title if len(title) <= limit else title[: limit - 1] + "…"
