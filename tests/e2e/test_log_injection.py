"""Client-supplied values cannot forge log lines: in the text log every control character a
client sends is escaped and tracebacks are indented; JSON lines stay one record each."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from wsclient import WsClient

from tests.conftest import DaemonProcess

FORGED = "2026-01-01 00:00:00.000 | CRITICAL | aegisd.security:1 - root login from 10.0.0.1"
TEST_PLUGINS = {"AEGISD_PLUGINS__EXTRA": "aegisd_test_plugins"}


def raw_post(sock: Path, body: dict[str, Any], headers: bytes = b"") -> bytes:
    """A POST /rpc sent byte for byte (clients refuse to send some header values)."""
    data = json.dumps(body).encode()
    request = (
        b"POST /rpc HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        + headers
        + b"Content-Length: " + str(len(data)).encode() + b"\r\nConnection: close\r\n\r\n"
        + data
    )  # fmt: skip
    with socket.socket(socket.AF_UNIX) as conn:
        conn.settimeout(10)
        conn.connect(str(sock))
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


async def inject(d: DaemonProcess) -> None:
    """Client values carrying line breaks and terminal escapes, through every door."""
    for method in (f"nope\n{FORGED}", f"nope\r{FORGED}", f"nope\u2028{FORGED}\x1b[2J"):
        d.post(json.dumps({"jsonrpc": "2.0", "method": method, "id": 1}))
    # An exception whose message quotes the params: the traceback is logged.
    d.post(json.dumps({"jsonrpc": "2.0", "method": "test.fail", "params": {"text": f"x\n{FORGED}"},
                       "id": 2}))  # fmt: skip
    # Headers (request id, client name): HTTP admits tabs; aiohttp refuses other control
    # characters with a logged 400, where they must not come out raw either.
    health = {"jsonrpc": "2.0", "method": "daemon.health", "id": 3}
    raw_post(d.socket, health, b"X-Request-ID: id\tx\r\nX-Aegisd-Client: cli\tx\r\n")
    raw_post(d.socket, health, b"X-Request-ID: id\x1b[31mred\r\nX-Aegisd-Client: \x7f\r\n")
    async with WsClient(d.socket, client="ws\tclient") as ws:
        with pytest.raises(RuntimeError):
            await ws.call(f"nope\n{FORGED}")
    d.stop()


def lines_of(d: DaemonProcess) -> list[str]:
    deadline = time.monotonic() + 10
    while "daemon stopped" not in d.output() and time.monotonic() < deadline:
        time.sleep(0.05)
    return d.output().splitlines()


async def test_text_log_escapes_what_clients_send(daemon_factory: Any) -> None:
    d = daemon_factory("--log-format", "text", "--log-level", "DEBUG", env=TEST_PLUGINS)
    await inject(d)
    lines = lines_of(d)
    levels = [line.split(" | ")[1].strip() for line in lines if line[:1].isdigit()]
    assert "CRITICAL" not in levels
    assert not [line for line in lines if line.startswith(FORGED[:23])]
    for line in lines:
        assert "\x1b" not in line and "\x7f" not in line and "\u2028" not in line
    text = "\n".join(lines)
    assert f"method=nope\\n{FORGED}" in text and f"method=nope\\r{FORGED}" in text
    assert "\\u2028" in text and "\\x1b[2J" in text
    assert "client=ws\\tclient" in text
    assert "request_id=id\\tx" in text and "client=cli\\tx" in text
    # The traceback is there, every line of it indented, the forged one too.
    assert "    ValueError: cannot handle x" in text
    assert f"    {FORGED}" in text
    assert not [line for line in lines if line.startswith(("Traceback", "ValueError"))]


async def test_json_log_keeps_one_record_per_line(daemon_factory: Any) -> None:
    d = daemon_factory("--log-format", "json", "--log-level", "DEBUG", env=TEST_PLUGINS)
    await inject(d)
    records = [json.loads(line) for line in lines_of(d) if line.strip()]  # each line is JSON
    assert not [r for r in records if r["level"] == "CRITICAL"]
    methods = {r.get("method") for r in records}
    assert f"nope\n{FORGED}" in methods  # kept exactly, escaped by JSON
    failure = next(r for r in records if "exception" in r)
    assert FORGED in failure["exception"]
