"""GET /dashboard/terminal: the page's files and policy, then typing into it in headless
Chromium (driven through the DevTools protocol) over TCP with the bearer token."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import DaemonProcess
from tests.e2e.test_dashboard import CHROMIUM, FLAGS, free_port, get_tcp

STATIC = Path(__file__).resolve().parents[2] / "plugins" / "aegisd_terminal" / "static"


@pytest.fixture
def served(daemon_factory: Any, tmp_path: Path) -> tuple[DaemonProcess, int, str]:
    project = tmp_path / "project"
    project.mkdir()
    port = free_port()
    d: DaemonProcess = daemon_factory("--root", str(project), "--tcp", f"127.0.0.1:{port}")
    return d, port, (d.data_dir / "token").read_text().strip()


def test_the_page_and_its_vendored_files(served: tuple[DaemonProcess, int, str]) -> None:
    _, port, token = served
    assert get_tcp(port, "/dashboard/terminal")[0] == 401
    assert get_tcp(port, "/dashboard/terminal/xterm.js")[0] == 401
    status, headers, page = get_tcp(port, f"/dashboard/terminal?token={token}")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    csp = headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp)
    assert nonce is not None and f'nonce="{nonce.group(1)}"' in page
    assert "default-src 'none'" in csp and "script-src 'self';" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert not re.search(r"(src|href)=\"(https?:)?//", page) and "https://" not in page
    again = get_tcp(port, f"/dashboard/terminal?token={token}")[1]["Content-Security-Policy"]
    assert again != csp  # a nonce per response
    table = (STATIC / "VENDORED.md").read_text()
    for name in ("xterm.js", "xterm.css", "addon-fit.js"):
        status, headers, body = get_tcp(port, f"/dashboard/terminal/{name}?token={token}")
        assert status == 200 and body == (STATIC / name).read_text()
        assert hashlib.sha256(body.encode()).hexdigest() in table  # unchanged from npm
    assert get_tcp(port, f"/dashboard/terminal/VENDORED.md?token={token}")[0] == 404
    assert get_tcp(port, f"/dashboard/nothing?token={token}")[0] == 404


class DevTools:
    """A page in Chromium, driven through the DevTools protocol."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ids = 0

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        self.ids += 1
        await self.ws.send_json({"id": self.ids, "method": method, "params": params})
        while True:
            message = json.loads((await self.ws.receive()).data)
            if message.get("id") == self.ids:
                assert "error" not in message, message
                return message["result"]  # type: ignore[no-any-return]

    async def value(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    async def until(self, expression: str, timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        while not (value := await self.value(expression)):
            assert time.monotonic() < deadline, f"never true: {expression}"
            await asyncio.sleep(0.1)
        return value

    async def key(self, key: str, code: int, text: str) -> None:
        for kind in ("keyDown", "keyUp"):
            await self.send("Input.dispatchKeyEvent", type=kind, key=key, code=key,
                            windowsVirtualKeyCode=code, text=text if kind == "keyDown" else "")  # fmt: skip


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (.ci/run installs it)")
async def test_typing_a_command_in_chromium_shows_its_output(
    served: tuple[DaemonProcess, int, str], tmp_path: Path
) -> None:
    d, port, token = served
    assert CHROMIUM is not None
    url = f"http://127.0.0.1:{port}/dashboard/terminal?token={token}"
    browser = subprocess.Popen(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--remote-debugging-port=0",
         "--window-size=1000,700", url],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    drain: threading.Thread | None = None
    try:
        assert browser.stderr is not None
        devtools_port = None
        while devtools_port is None:
            line = await asyncio.wait_for(asyncio.to_thread(browser.stderr.readline), 60)
            assert line, "chromium exited before listening"
            if found := re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line):
                devtools_port = int(found.group(1))
        drain = threading.Thread(target=browser.stderr.read, daemon=True)  # never fills up
        drain.start()
        async with aiohttp.ClientSession() as http:
            targets = await (await http.get(f"http://127.0.0.1:{devtools_port}/json/list")).json()
            page = next(t for t in targets if t["type"] == "page")
            async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                await drive(DevTools(ws), d)
                await DevTools(ws).send("Browser.close")
    finally:
        try:
            browser.wait(30)
        except subprocess.TimeoutExpired:
            browser.kill()
            browser.wait(10)
        if drain is not None:
            drain.join(10)
        assert browser.stderr is not None
        browser.stderr.close()
        for session in d.call("terminal.list")["sessions"]:
            d.call("terminal.close", {"id": session["id"]})


async def drive(page: DevTools, d: DaemonProcess) -> None:
    await page.until("document.body.dataset.status === 'connected'")
    await page.value("document.getElementById('new').click()")
    await page.until("document.body.dataset.status === 'attached'")
    # Typed into the terminal itself: its (hidden) input has the focus once attached.
    assert await page.value("document.activeElement.classList.contains('xterm-helper-textarea')")
    await page.send("Input.insertText", text="echo $((6*7))")
    await page.key("Enter", 13, "\r")
    rows = "document.querySelector('.xterm-rows').innerText"
    await page.until(f"{rows}.split('\\n').some((line) => line.trim() === '42')")
    # xterm.js's own style elements applied under the policy (a blocked one has no sheet).
    assert await page.value(
        "[...document.querySelectorAll('style')].every((s) => s.sheet !== null)"
        " && document.querySelectorAll('style').length > 0"
    )
    [session] = d.call("terminal.list")["sessions"]
    assert session["running"] and session["viewers"] == 1
    # The window narrows: the terminal follows it.
    await page.send("Emulation.setDeviceMetricsOverride", width=500, height=400,
                    deviceScaleFactor=1, mobile=False)  # fmt: skip
    deadline = time.monotonic() + 30
    while d.call("terminal.list")["sessions"][0]["cols"] >= session["cols"]:
        assert time.monotonic() < deadline, "the terminal did not follow the window"
        await asyncio.sleep(0.1)
