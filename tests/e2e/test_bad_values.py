"""Bad values inside valid JSON get the right error, never INTERNAL_ERROR, over every method and
both transports: integers past 64 bits, and malformed envelopes (a fuzzed stream of them must
not close the WebSocket)."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aegisd.rpc.errors import ERROR_CLASSES
from tests.conftest import DaemonProcess, start_daemon
from tests.e2e.apidoc_support import accepts, copy_shop, example_params, wait_until_ready

TOO_BIG, TOO_SMALL = 2**63, -(2**63) - 1
DOCUMENTED_CODES = {cls.rpc_code: cls.code_name for cls in ERROR_CLASSES}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DaemonProcess, Path]]:
    tmp = tmp_path_factory.mktemp("bad-values")
    root = copy_shop(tmp)
    d = start_daemon(tmp, "--root", str(root), env={"AEGISD_RATE_LIMITS__ENABLED": "false"})
    wait_until_ready(d)
    yield d, root
    d.stop(signal.SIGKILL)


def error_code(d: DaemonProcess, method: str, params: Any) -> str | None:
    _, answer, _ = d.post(
        json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1})
    )
    return answer["error"]["data"]["code"] if "error" in answer else None


def test_integers_past_64_bits_are_invalid_params_in_every_method(
    shop: tuple[DaemonProcess, Path],
) -> None:
    d, root = shop
    doc = d.call("rpc.discover")
    tried: list[str] = []
    wrong: list[str] = []
    for method in doc["methods"]:
        if method["name"] == "daemon.shutdown":
            continue
        base = example_params(method, root)
        for param in method["params"]:
            if not accepts(param["schema"], "integer", doc):
                continue
            for value in (TOO_BIG, TOO_SMALL):
                code = error_code(d, method["name"], {**base, param["name"]: value})
                tried.append(f"{method['name']}.{param['name']}")
                if code != "INVALID_PARAMS":
                    wrong.append(f"{method['name']} {param['name']}={value}: {code}")
    assert not wrong, "\n".join(wrong)
    assert "audit.get_run.run" in tried and "index.preview.start_line" in tried
    assert len(set(tried)) >= 15


def test_the_reported_case_and_a_nested_setting(shop: tuple[DaemonProcess, Path]) -> None:
    d, _ = shop
    assert error_code(d, "audit.get_run", {"run": 9223372036854775808}) == "INVALID_PARAMS"
    # Settings are validated like params: an unbounded setting does not take a 65-bit value
    # (it would be stored, then fail wherever it is used).
    patch = {"insights": {"history_keep": TOO_BIG}}
    assert error_code(d, "settings.update", {"settings": patch}) == "INVALID_PARAMS"
    assert d.call("settings.get")["settings"]["insights"]["history_keep"] != TOO_BIG


# -- malformed envelopes over both transports -------------------------------------------------

MALFORMED = [
    {"jsonrpc": "2.0", "method": ["daemon.health"], "id": 1},
    {"jsonrpc": "2.0", "method": {"name": "daemon.health"}, "id": 2},
    {"jsonrpc": "2.0", "method": "daemon.health", "id": {"a": 1}},
    {"jsonrpc": "2.0", "method": "daemon.health", "id": [1]},
    {"jsonrpc": "2.0", "method": "daemon.health", "params": "x", "id": 3},
    {"jsonrpc": "2.0", "method": "daemon.health", "params": 5, "id": 4},
    {"jsonrpc": "1.0", "method": "daemon.health", "id": 5},
    {"method": "daemon.health", "id": 6},
    {"jsonrpc": "2.0", "method": None, "id": 7},
]


class WsLink:
    """One WebSocket to the daemon, driven from synchronous test code (hypothesis) through a
    loop in a thread of its own."""

    def __init__(self, socket: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.socket = socket
        self.sent = 0
        self._run(self._open())

    def _run(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _open(self) -> None:
        self.session = aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=str(self.socket)))
        self.ws = await self.session.ws_connect("http://localhost/rpc/ws")

    def exchange(self, frame: str, expected: int | None = None) -> list[Any]:
        """Send `frame`, then a health check; the messages received until the health check's
        answer (the connection must still be up to give it) and, when given, until `expected`
        others came. Answers of methods run in tasks may come after the health check's (it is
        answered inline): without `expected` they are returned by a later exchange."""
        return self._run(self._exchange(frame, expected))  # type: ignore[no-any-return]

    async def _exchange(self, frame: str, expected: int | None) -> list[Any]:
        self.sent += 1
        sentinel = f"sentinel-{self.sent}"
        await self.ws.send_str(frame)
        health = {"jsonrpc": "2.0", "method": "daemon.health", "id": sentinel}
        await self.ws.send_str(json.dumps(health))
        received: list[Any] = []
        answered = False
        async with asyncio.timeout(20):
            while not answered or (expected is not None and len(received) < expected):
                message = await self.ws.receive()
                assert message.type is aiohttp.WSMsgType.TEXT, f"connection ended: {message}"
                data = json.loads(message.data)
                if isinstance(data, dict) and str(data.get("id")).startswith("sentinel-"):
                    assert data["result"]["status"] in ("ok", "degraded")
                    answered = answered or data["id"] == sentinel
                else:
                    received.append(data)
        return received

    def close(self) -> None:
        async def shut() -> None:
            await self.ws.close()
            await self.session.close()

        self._run(shut())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def link(shop: tuple[DaemonProcess, Path]) -> Iterator[WsLink]:
    ws = WsLink(shop[0].socket)
    yield ws
    ws.close()


def check_answer(answer: Any) -> None:
    """A JSON-RPC response (or batch of them) whose errors are documented and not internal."""
    for item in answer if isinstance(answer, list) else [answer]:
        assert isinstance(item, dict) and item.get("jsonrpc") == "2.0", item
        if "error" in item:
            error = item["error"]
            assert error["code"] in DOCUMENTED_CODES, item
            assert error["data"]["code"] == DOCUMENTED_CODES[error["code"]], item
            assert error["data"]["code"] != "INTERNAL_ERROR", item
        else:
            assert "result" in item, item


@pytest.mark.parametrize("message", MALFORMED, ids=[json.dumps(m)[:60] for m in MALFORMED])
def test_malformed_envelope_is_invalid_request_on_both_transports(
    shop: tuple[DaemonProcess, Path], link: WsLink, message: dict[str, Any]
) -> None:
    d, _ = shop
    status, answer, _ = d.post(json.dumps(message))
    assert status == 200
    assert answer["error"]["data"]["code"] == "INVALID_REQUEST"
    over_ws = link.exchange(json.dumps(message), expected=1)
    assert [a["error"]["data"]["code"] for a in over_ws] == ["INVALID_REQUEST"]
    # In a batch, the member alone is refused.
    batch = [message, {"jsonrpc": "2.0", "method": "x.y", "id": 9}]
    (answer,) = link.exchange(json.dumps(batch), expected=1)
    assert [a["error"]["data"]["code"] for a in answer] == ["INVALID_REQUEST", "METHOD_NOT_FOUND"]


# Methods the fuzzer may name: harmless whatever their params (never shutdown or close).
SAFE_METHODS = ["daemon.health", "daemon.status", "index.search", "index.file", "audit.get_run",
                "settings.get", "workspace.changes", "events.unsubscribe", "no.such"]  # fmt: skip
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
members = st.fixed_dictionaries(
    {},
    optional={
        "jsonrpc": st.sampled_from(["2.0", "1.0", 2]) | json_values,
        "method": st.sampled_from(SAFE_METHODS) | json_values,
        "params": json_values,
        "id": json_values,
    },
)
envelopes = members | st.lists(members, max_size=4) | json_values


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(envelope=envelopes)
def test_fuzzed_envelopes_get_documented_answers_and_keep_the_connection(
    shop: tuple[DaemonProcess, Path], link: WsLink, envelope: Any
) -> None:
    d, _ = shop
    frame = json.dumps(envelope)
    status, answer, _ = d.post(frame)
    assert status in (200, 204)
    if answer is not None:
        check_answer(answer)
    for received in link.exchange(frame):
        check_answer(received)
