"""GET /dashboard rendered by headless Chromium over TCP loopback with the bearer token."""

from __future__ import annotations

import http.client
import re
import shutil
import socket
import struct
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from aegisd.client import _UnixConnection
from tests.conftest import DaemonProcess

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium on PATH (Debian: apt-get install -y chromium; .ci/run installs it)",
)
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip
# Virtual time: 5 s of page time lets the 2 s refresh loop run at least twice, however
# slow the machine is (virtual time waits for pending fetches).
BUDGET = "--virtual-time-budget=5000"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LINT_STATUSES = {"pass", "warn", "fail", "error", "skipped"}


def chromium(profile: Path, url: str, *args: str) -> str:
    assert CHROMIUM is not None
    done = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", BUDGET, *args, url],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def text_of(dom: str, attribute: str) -> str:
    """Text of the first element carrying `attribute` (e.g. 'id="rate"'), up to its first child."""
    match = re.search(re.escape(attribute) + r"[^>]*>([^<]*)<", dom)
    assert match is not None, f"{attribute} not in the page"
    return match.group(1)


def number(dom: str, attribute: str) -> float:
    return float(text_of(dom, attribute))


def wait_for(d: DaemonProcess, files: int) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        status = d.call("index.status")
        if status["ready"] and not status["pending"] and status["files"] == files:
            return status  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


def get_tcp(port: int, path: str) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read().decode()
    conn.close()
    return response.status, dict(response.headers), body


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_dashboard_shows_live_numbers_in_chromium(daemon_factory: Any, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "a.py").write_text("def alpha() -> int:\n    return 1\n\n\nclass Beta:\n    pass\n")
    (project / "b.py").write_text("from a import alpha\n\nVALUE = alpha()\n")
    port = free_port()
    d: DaemonProcess = daemon_factory("--root", str(project), "--tcp", f"127.0.0.1:{port}")
    token = (d.data_dir / "token").read_text().strip()
    before = wait_for(d, files=2)

    # The page itself: token required over TCP, self-contained, locked down by its CSP.
    assert get_tcp(port, "/dashboard")[0] == 401
    assert get_tcp(port, "/dashboard?token=wrong")[0] == 401
    status, headers, page = get_tcp(port, f"/dashboard?token={token}")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    assert not re.search(r"(src|href)=\"(https?:)?//", page) and "https://" not in page
    conn = _UnixConnection(d.socket, 10)
    conn.request("GET", "/dashboard")
    assert conn.getresponse().status == 200  # the Unix socket needs no token
    conn.close()

    url = f"http://127.0.0.1:{port}/dashboard?token={token}"
    profile = tmp_path / "chromium-profile"
    first = chromium(profile, url, "--dump-dom")
    assert 'data-state="ok"' in first, first[-2000:]
    assert int(re.search(r'data-updates="(\d+)"', first).group(1)) >= 2  # type: ignore[union-attr]
    row = re.search(r'<tr data-ws="(\w+)">.*?</tr>', first)
    assert row is not None and row.group(1) == d.call("workspace.list")["workspaces"][0]["id"]
    assert number(first, 'data-k="files"') == 2
    assert number(first, 'data-k="symbols"') == before["symbols"]
    assert number(first, 'data-k="clock"') == before["clock"]
    assert text_of(first, 'data-k="pending"') == "fresh"
    methods = {m["name"] for m in d.call("rpc.discover")["methods"]}
    lint_expected = LINT_STATUSES if "lint.report" in methods else {"n/a"}
    assert text_of(first, 'data-k="lint"').split(" ")[0] in lint_expected
    assert number(first, 'id="rate"') > 0
    p50, p90, p99 = (number(first, f'id="{q}"') for q in ("p50", "p90", "p99"))
    assert 0 < p50 <= p90 <= p99
    assert text_of(first, 'id="health"') == "ok"

    # Live: new code and a burst of cached reads show up on the next load.
    (project / "c.py").write_text(
        "def gamma() -> None:\n    pass\n\n\ndef delta() -> None:\n    pass\n"
    )
    d.call("workspace.notify_changes", {"paths": ["c.py"]})
    after = wait_for(d, files=3)
    for _ in range(40):
        d.call("settings.get")
    second = chromium(profile, url, "--dump-dom")
    assert number(second, 'data-k="files"') == 3
    assert number(second, 'data-k="symbols"') == after["symbols"] > before["symbols"]
    assert number(second, 'data-k="clock"') == after["clock"] > before["clock"]
    assert number(second, 'id="requests"') >= number(first, 'id="requests"') + 40
    assert number(second, 'id="cache-hits"') >= number(first, 'id="cache-hits"') + 39
    assert 0 < number(second, 'id="cache-ratio"') <= 100

    shot = tmp_path / "dashboard.png"
    chromium(profile, url, f"--screenshot={shot}", "--window-size=1200,900")
    data = shot.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert struct.unpack(">II", data[16:24]) == (1200, 900)  # IHDR width, height
