"""Connection exhaustion: another local user holding many half-sent TCP requests cannot starve
the owner's Unix socket or flood the log, and every such connection is closed before long."""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import socket
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DaemonProcess

HALF_SENT = b"POST /rpc HTTP/1.1\r\nHost: localhost\r\nContent-Len"
TIMEOUTS = {"AEGISD_TRANSPORT__HEADER_TIMEOUT_S": "1", "AEGISD_TRANSPORT__BODY_TIMEOUT_S": "1"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def closed_by_peer(conn: socket.socket, timeout: float) -> bool:
    """Whether the daemon closes `conn` (EOF or reset) within `timeout`."""
    conn.settimeout(timeout)
    try:
        return conn.recv(1024) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_half_open_tcp_connections_do_not_starve_the_unix_socket(
    daemon_factory: Any, tmp_path: Path
) -> None:
    port = free_port()
    d: DaemonProcess = daemon_factory("--tcp", f"127.0.0.1:{port}", env=TIMEOUTS)
    # As under a default descriptor limit (1024) with 1,100 connections: 300 exhaust 256.
    resource.prlimit(d.proc.pid, resource.RLIMIT_NOFILE, (256, 256))
    held: list[socket.socket] = []
    try:
        for _ in range(300):
            conn = socket.create_connection(("127.0.0.1", port), timeout=5)
            with contextlib.suppress(OSError):  # refused at once: fine
                conn.sendall(HALF_SENT)
            held.append(conn)
        # The owner is still served, on a connection of its own.
        assert d.call("daemon.health")["status"] == "ok"
        # Every half-open connection is closed: refused over the cap at once, the admitted
        # ones when their head does not arrive in time.
        still_open = [c for c in held if not closed_by_peer(c, timeout=15)]
        assert not still_open
        assert d.call("daemon.health")["status"] == "ok"
    finally:
        for conn in held:
            conn.close()
    d.stop()
    log = d.output()
    assert "refused a connection: 32 unauthenticated TCP connections are open" in log
    assert "sent no complete request in 1.0 s" in log
    assert len(log.encode()) < 50_000, log[-3000:]


def test_a_body_that_never_comes_is_refused_and_its_connection_closed(
    daemon: DaemonProcess,
) -> None:
    head = (
        b"POST /rpc HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: 200\r\n\r\n"
    )
    with socket.socket(socket.AF_UNIX) as conn:
        conn.connect(str(daemon.socket))
        conn.sendall(head + b'{"jsonrpc": "2.0",')
        conn.settimeout(60)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert b" 408 " in status_line
    body = json.loads(rest.split(b"\r\n\r\n", 1)[1])
    assert body["error"]["data"]["code"] == "INVALID_REQUEST"


@pytest.fixture
def daemon(daemon_factory: Any) -> DaemonProcess:
    return daemon_factory(env=TIMEOUTS)  # type: ignore[no-any-return]


def test_a_refused_tcp_request_does_not_keep_its_connection(
    daemon_factory: Any, tmp_path: Path
) -> None:
    port = free_port()
    daemon_factory("--tcp", f"127.0.0.1:{port}", env=TIMEOUTS)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")  # no token
        answer = b""
        while chunk := conn.recv(65536):  # ends: the daemon closes it (else recv times out)
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 401")


def test_a_burst_of_clients_connecting_at_once_is_served(daemon: DaemonProcess) -> None:
    """More clients than the old listen backlog (128), fewer than the cap, at once: every one answered.
    asyncio took a Unix connect the kernel refused (queue full) for a connected socket."""

    async def one(i: int) -> dict[str, Any]:
        reader, writer = await asyncio.open_unix_connection(str(daemon.socket))
        try:
            body = json.dumps({"jsonrpc": "2.0", "method": "daemon.health", "id": i}).encode()
            writer.write(
                b"POST /rpc HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
            )
            answer = await reader.read()
        finally:
            writer.close()
        return json.loads(answer.split(b"\r\n\r\n", 1)[1])  # type: ignore[no-any-return]

    async def burst() -> list[Any]:
        return await asyncio.gather(*(one(i) for i in range(400)), return_exceptions=True)

    answers = asyncio.run(burst())
    failed = [a for a in answers if not (isinstance(a, dict) and a.get("result"))]
    assert not failed, failed[:3]
