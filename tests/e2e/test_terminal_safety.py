"""A terminal is code execution: refused wherever the API refuses a peer, in untrusted
workspaces, and held to its caps. Each refusal through a real daemon's real transports."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from wsclient import WsClient

from aegisd.client import RpcCallError
from tests.conftest import DaemonProcess
from tests.e2e.terminal_support import Viewer
from tests.e2e.test_dashboard import free_port

OPEN = {"argv": ["cat"], "cols": 80, "rows": 24}
NOBODY = 65534


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    return root


def error_code(exc: RpcCallError) -> str:
    return str(exc.error["data"]["code"])


def test_refused_in_an_untrusted_workspace_and_ended_when_trust_is_revoked(
    daemon_factory: Any, project: Path, tmp_path: Path
) -> None:
    d: DaemonProcess = daemon_factory("--root", str(project))
    stranger = tmp_path / "cloned"
    stranger.mkdir()
    d.call("workspace.open", {"root": str(stranger)})
    with pytest.raises(RpcCallError) as refused:
        d.call("terminal.open", {**OPEN, "workspace": str(stranger)})
    assert error_code(refused.value) == "CONFLICT"
    assert "not trusted" in refused.value.error["message"]
    assert d.call("terminal.list") == {"sessions": []}

    opened = d.call("terminal.open", {**OPEN, "workspace": str(project)})  # POST /rpc works too
    d.call("workspace.trust", {"workspace": str(project), "trusted": False})
    deadline = time.monotonic() + 15
    while d.call("terminal.list")["sessions"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert d.call("terminal.list") == {"sessions": []}
    assert not os.path.exists(f"/proc/{opened['pid']}/cmdline") or _zombie(opened["pid"])


def _zombie(pid: int) -> bool:
    with open(f"/proc/{pid}/stat", "rb") as fh:
        return fh.read().rpartition(b")")[2].split()[0] == b"Z"


async def test_refused_with_a_foreign_origin(daemon_factory: Any, project: Path) -> None:
    d: DaemonProcess = daemon_factory("--root", str(project))
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "terminal.open", "params": OPEN})
    status, _, _ = d.post(body, headers={"Origin": "http://evil.example"})
    assert status == 403
    async with aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=str(d.socket))) as s:
        with pytest.raises(aiohttp.WSServerHandshakeError) as handshake:
            await s.ws_connect("http://localhost/rpc/ws", headers={"Origin": "http://evil.example"})
        assert handshake.value.status == 403
    assert d.call("terminal.list") == {"sessions": []}


async def test_refused_over_tcp_without_the_token(daemon_factory: Any, project: Path) -> None:
    port = free_port()
    d: DaemonProcess = daemon_factory("--root", str(project), "--tcp", f"127.0.0.1:{port}")
    token = (d.data_dir / "token").read_text().strip()
    url = f"http://127.0.0.1:{port}/rpc/ws"
    async with aiohttp.ClientSession() as s:
        for headers, protocols in (({}, ()), ({"Authorization": "Bearer wrong"}, ()),
                                   ({}, ("aegisd.rpc", "aegisd.token.wrong"))):  # fmt: skip
            with pytest.raises(aiohttp.WSServerHandshakeError) as handshake:
                await s.ws_connect(url, headers=headers, protocols=protocols)
            assert handshake.value.status == 401
        assert d.call("terminal.list") == {"sessions": []}
        # The same request with the token is served: the refusal was the token's. A browser
        # offers it as a subprotocol (it cannot set headers).
        async with s.ws_connect(url, protocols=("aegisd.rpc", f"aegisd.token.{token}")) as ws:
            assert ws.protocol == "aegisd.rpc"
        async with s.ws_connect(url, headers={"Authorization": f"Bearer {token}"}) as ws:
            await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "terminal.open",
                                "params": OPEN})  # fmt: skip
            while (answer := json.loads((await ws.receive()).data)).get("id") != 1:
                pass
            assert answer["result"]["id"].startswith("term-")
            await ws.send_json({"jsonrpc": "2.0", "id": 2, "method": "terminal.close",
                                "params": {"id": answer["result"]["id"]}})  # fmt: skip
            while json.loads((await ws.receive()).data).get("id") != 2:
                pass


PEER = """
import os, socket, sys
sock = socket.socket(socket.AF_UNIX)
os.setgroups([]); os.setgid({uid}); os.setuid({uid})  # the peer's credentials are taken here
sock.connect({path!r})
body = {body!r}
sock.sendall(("POST /rpc HTTP/1.1\\r\\nHost: localhost\\r\\nContent-Type: application/json\\r\\n"
              f"Content-Length: {{len(body)}}\\r\\nConnection: close\\r\\n\\r\\n" + body).encode())
print(sock.recv(65536).decode().split("\\r\\n")[0])
"""


def test_refused_to_a_peer_of_another_user(daemon_factory: Any, project: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("being another user on the socket needs root")
    # A socket another user can reach (pytest's tmp dirs are private): a loosened directory
    # and socket, so only SO_PEERCRED stands between the peer and a shell.
    reachable = Path(tempfile.mkdtemp(prefix="aegisd-peer-"))
    try:
        _peer_is_refused(daemon_factory(
            "--root", str(project), socket=reachable / "run" / "aegisd.sock"
        ))  # fmt: skip
    finally:
        shutil.rmtree(reachable, ignore_errors=True)


def _peer_is_refused(d: DaemonProcess) -> None:
    os.chmod(d.socket.parent.parent, 0o711)
    os.chmod(d.socket.parent, 0o711)
    os.chmod(d.socket, 0o666)
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "terminal.open", "params": OPEN})
    script = PEER.format(uid=NOBODY, path=str(d.socket), body=body)
    line = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=30, check=True).stdout.strip()  # fmt: skip
    assert line == "HTTP/1.1 403 Forbidden"
    assert d.call("terminal.list") == {"sessions": []}
    # The same code as this user is served: the refusal was the peer's uid.
    same = script.replace(f"setgid({NOBODY}); os.setuid({NOBODY})", "getuid(); os.getuid()")
    same = same.replace("os.setgroups([]); ", "")
    line = subprocess.run([sys.executable, "-c", same], capture_output=True, text=True,
                          timeout=30, check=True).stdout.strip()  # fmt: skip
    assert line == "HTTP/1.1 200 OK"
    for session in d.call("terminal.list")["sessions"]:
        d.call("terminal.close", {"id": session["id"]})


async def test_caps_on_sessions_and_input(daemon_factory: Any, project: Path) -> None:
    env = {"AEGISD_TERMINAL__MAX_SESSIONS": "2", "AEGISD_TERMINAL__MAX_INPUT_BYTES": "1024"}
    d: DaemonProcess = daemon_factory("--root", str(project), env=env)
    # Opens side by side count against the cap while they start.
    answers = await asyncio.gather(
        *(asyncio.to_thread(d.call, "terminal.open", OPEN) for _ in range(4)),
        return_exceptions=True,
    )
    refused = [a for a in answers if isinstance(a, RpcCallError)]
    assert len(refused) == 2 and {error_code(a) for a in refused} == {"UNAVAILABLE"}
    first, second = (a["id"] for a in answers if isinstance(a, dict))
    with pytest.raises(RpcCallError) as third:
        d.call("terminal.open", OPEN)
    assert (
        error_code(third.value) == "UNAVAILABLE" and "max_sessions" in third.value.error["message"]
    )
    with pytest.raises(RpcCallError) as large:
        d.call("terminal.input", {"id": first, "data": "x" * 1025})
    assert error_code(large.value) == "TOO_LARGE"
    d.call("terminal.input", {"id": first, "data": "é" * 512})  # 1024 bytes: just fits
    d.call("terminal.close", {"id": second})
    third_id = d.call("terminal.open", OPEN)["id"]  # a closed one frees its place
    for term in (first, third_id):
        d.call("terminal.close", {"id": term})
    with pytest.raises(RpcCallError) as unknown:
        d.call("terminal.input", {"id": first, "data": "x"})
    assert error_code(unknown.value) == "NOT_FOUND"
    with pytest.raises(RpcCallError) as outside:
        d.call("terminal.open", {**OPEN, "cwd": "../.."})
    assert error_code(outside.value) == "INVALID_PATH"
    with pytest.raises(RpcCallError) as missing:
        d.call("terminal.open", {**OPEN, "argv": ["no-such-program-here"]})
    assert error_code(missing.value) == "NOT_FOUND"
    with pytest.raises(RpcCallError) as over_http:
        d.call("terminal.attach", {"id": first})
    assert error_code(over_http.value) in ("UNSUPPORTED", "NOT_FOUND")


async def test_output_is_read_no_faster_than_the_rate_cap(
    daemon_factory: Any, project: Path
) -> None:
    rate = 256 * 1024
    d: DaemonProcess = daemon_factory(
        "--root", str(project), env={"AEGISD_TERMINAL__OUTPUT_BYTES_PER_S": str(rate)}
    )
    async with WsClient(d.socket) as ws:
        viewer = Viewer(ws)
        began = time.monotonic()
        term = (await ws.call("terminal.open", {"argv": ["yes"], "cols": 80, "rows": 24}))["id"]
        await viewer.until(term, r"^y$")
        await asyncio.sleep(1.0)
        listed = (await ws.call("terminal.list"))["sessions"][0]
        elapsed = time.monotonic() - began  # longer than the session has run
        # The bucket starts with a quarter second's worth: what was read is within it and
        # the rate over the time the session ran (a bound, not a measured speed).
        assert 0 < listed["bytes"] <= rate / 4 + rate * elapsed + 65536
        await ws.call("terminal.close", {"id": term})
