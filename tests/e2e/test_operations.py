"""Operations through a real daemon: metrics, rate limits, TCP token, path confinement, fuzzing."""

from __future__ import annotations

import asyncio
import http.client
import itertools
import json
import math
import socket
import stat
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from aegisd.client import RpcCallError, _UnixConnection
from tests.conftest import DaemonProcess


def get(d: DaemonProcess, path: str) -> tuple[int, bytes]:
    conn = _UnixConnection(d.socket, 10)
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


def test_metrics_exposition_parses_and_counts(daemon: DaemonProcess) -> None:
    daemon.call("daemon.health")
    daemon.call("settings.get")
    with pytest.raises(RpcCallError):
        daemon.call("nope.nothing")
    status, body = get(daemon, "/metrics")
    assert status == 200
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    requests = {
        (s.labels["method"], s.labels["outcome"]): s.value
        for s in families["aegisd_rpc_requests"].samples
        if s.name.endswith("_total")
    }
    assert requests[("daemon.health", "ok")] >= 1
    assert requests[("<unknown>", "METHOD_NOT_FOUND")] == 1  # client-chosen names stay out
    for name in (
        "aegisd_rpc_duration_seconds", "aegisd_rpc_in_flight", "aegisd_websocket_clients",
        "aegisd_cache_hits", "aegisd_store_query_duration_seconds", "aegisd_store_retries",
        "aegisd_store_breaker_open", "aegisd_watcher_batches", "aegisd_watcher_queue_depth",
        "aegisd_workspaces_degraded", "aegisd_rate_limited", "process_resident_memory_bytes",
    ):  # fmt: skip
        assert name in families, name


def test_rate_limits_refuse_with_retry_after(daemon_factory: Any, tmp_path: Path) -> None:
    d: DaemonProcess = daemon_factory(
        env={"AEGISD_RATE_LIMITS__WRITE__RATE": "1", "AEGISD_RATE_LIMITS__WRITE__BURST": "2",
             "AEGISD_RATE_LIMITS__EXEMPT_CLIENTS": "ci"}
    )  # fmt: skip
    root = str(tmp_path)
    body = json.dumps(
        {"jsonrpc": "2.0", "method": "workspace.open", "params": {"root": root}, "id": 1}
    )
    answers = [d.post(body, headers={"X-Aegisd-Client": "agent"})[1] for _ in range(4)]
    limited = [a for a in answers if "error" in a]
    assert len(limited) == 2
    assert limited[0]["error"]["data"]["code"] == "RATE_LIMITED"
    assert limited[0]["error"]["data"]["retry_after_ms"] > 0
    for _ in range(5):
        assert "result" in d.post(body, headers={"X-Aegisd-Client": "ci"})[1]
    assert "rate limit: client agent" in d.output()


def test_tcp_requires_the_token_and_loopback(daemon_factory: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    d: DaemonProcess = daemon_factory("--tcp", f"127.0.0.1:{port}")
    token_file = d.data_dir / "token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    body = json.dumps({"jsonrpc": "2.0", "method": "daemon.health", "id": 1})

    def post(headers: dict[str, str]) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", "/rpc", body, headers)
        response = conn.getresponse()
        data = json.loads(response.read())
        conn.close()
        return response.status, data

    assert post({})[0] == 401
    assert post({"Authorization": "Bearer wrong"})[0] == 401
    status, answer = post({"Authorization": f"Bearer {token}"})
    assert status == 200 and answer["result"]["status"] == "ok"
    status, answer = post({"Authorization": f"Bearer {token}", "Host": "attacker.example"})
    assert status == 403 and answer["error"]["data"]["code"] == "INVALID_REQUEST"


def test_every_method_with_a_path_refuses_escapes(daemon_factory: Any, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    # Heavy methods (lint.run) have a tight budget; this prober is exempt so every probe runs.
    daemon: DaemonProcess = daemon_factory(
        "--root", str(project), env={"AEGISD_RATE_LIMITS__EXEMPT_CLIENTS": "cli"}
    )
    (project / "ok.py").write_text("x = 1\n")
    outside = tmp_path / "outside.py"
    outside.write_text("secret = 1\n")
    (project / "link.py").symlink_to(outside)
    doc = daemon.call("rpc.discover")
    probed = []
    for method in doc["methods"]:
        params = {p["name"]: p for p in method["params"]}
        for name in ("path", "paths"):
            if name not in params:
                continue
            # Other required params (a position's line and column) get a valid value.
            others = {
                p["name"]: 1
                for p in method["params"]
                if p["required"] and p["name"] != name and p["schema"].get("type") == "integer"
            }
            for bad in ("../outside.py", str(outside), "link.py", "/etc/passwd"):
                value: Any = [bad] if name == "paths" else bad
                with pytest.raises(RpcCallError) as info:
                    daemon.call(method["name"], {**others, name: value})
                assert info.value.code_name == "INVALID_PATH", (method["name"], bad)
            probed.append(method["name"])
    assert {"index.preview", "index.file", "workspace.notify_changes", "graph.dependents"} <= set(
        probed
    )


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.one_of(
        st.binary(max_size=200),
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers()
            | st.floats(allow_nan=False)
            | st.text(max_size=20),
            lambda children: (
                st.lists(children, max_size=4)
                | st.dictionaries(st.text(max_size=8), children, max_size=4)
            ),
            max_leaves=20,
        ).map(lambda v: json.dumps(v).encode()),
        st.builds(
            lambda m, p, i: json.dumps(
                {"jsonrpc": "2.0", "method": m, "params": p, "id": i}
            ).encode(),
            st.sampled_from(
                [
                    "daemon.health",
                    "settings.get",
                    "index.search",
                    "workspace.changes",
                    "index.preview",
                    "settings.update",
                    "nope",
                ]
            ),
            st.dictionaries(
                st.sampled_from(["query", "path", "since", "settings", "limit", "x"]),
                st.integers() | st.text(max_size=10) | st.none(),
                max_size=3,
            ),
            st.integers() | st.text(max_size=5),
        ),
        st.just(b"[" * 5000 + b"]" * 5000),
        st.just(b'{"jsonrpc": "2.0", "method": "daemon.health", "id": 1' + b"9" * 5000 + b"}"),
        st.just(b'{"jsonrpc": "2.0", "method": "daemon.health", "id": "\xff\xfe"}'),
    )
)
def test_fuzzed_bodies_always_get_a_valid_response(fuzz_daemon: DaemonProcess, body: bytes) -> None:
    status, answer, _ = fuzz_daemon.post(body)
    assert status in (200, 204)
    if status == 204:
        return
    for item in answer if isinstance(answer, list) else [answer]:
        assert item["jsonrpc"] == "2.0" and "id" in item
        assert ("result" in item) != ("error" in item)
        if "error" in item:
            assert isinstance(item["error"]["code"], int)
            assert {"code", "timestamp", "method", "request_id"} <= set(item["error"]["data"])


@pytest.fixture(scope="module")
def fuzz_daemon(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.conftest import start_daemon

    tmp = tmp_path_factory.mktemp("fuzz")
    (tmp / "p").mkdir()
    d = start_daemon(tmp, "--root", str(tmp / "p"))
    yield d
    assert d.call("daemon.health")["status"] == "ok"  # still healthy after the fuzzing
    d.stop()


# --- WebSocket fuzzing ----------------------------------------------------------------------

T = TypeVar("T")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class WsLink:
    """One WebSocket to the daemon for sync tests, driven by an event loop in a thread; kept
    across examples so an answer that arrives late (or should never come) is still noticed."""

    def __init__(self, socket_path: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.socket_path = socket_path
        self.session, self.ws = self._run(self._open(socket_path))

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    @staticmethod
    async def _open(
        socket_path: Path,
    ) -> tuple[aiohttp.ClientSession, aiohttp.ClientWebSocketResponse]:
        session = aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=str(socket_path)))
        ws = await session.ws_connect("http://localhost/rpc/ws", max_msg_size=0)
        return session, ws

    def reset(self) -> None:
        """A fresh connection (after a failed example left answers unread)."""
        self._run(self._close_connection())
        self.session, self.ws = self._run(self._open(self.socket_path))

    async def _close_connection(self) -> None:
        await self.ws.close()
        await self.session.close()

    def send(self, text: str) -> None:
        self._run(self.ws.send_str(text))

    def receive(self) -> Any:
        """The next message, parsed strictly (NaN or Infinity would not be JSON)."""
        message = self._run(self.ws.receive(timeout=30))
        assert message.type is aiohttp.WSMsgType.TEXT, message
        return json.loads(message.data, parse_constant=_reject_constant)

    def close(self) -> None:
        self._run(self._close_connection())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


_sentinels = itertools.count(1)


def _sentinel() -> tuple[str, str]:
    rid = f"sentinel-{next(_sentinels)}"
    return rid, json.dumps({"jsonrpc": "2.0", "method": "daemon.health", "id": rid})


def _valid_id(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or (isinstance(value, str | int) and not isinstance(value, bool))


def _is_notification(member: Any) -> bool:
    return (
        isinstance(member, dict)
        and "id" not in member
        and member.get("jsonrpc") == "2.0"
        and isinstance(member.get("method"), str)
        and isinstance(member.get("params", {}), dict | list)
    )


def _expected(frame: str) -> tuple[Any, bool]:
    """The parsed frame (None when unparsable) and whether it must be answered."""
    try:
        payload = json.loads(frame)
    except (ValueError, RecursionError):
        return None, True
    members = payload if isinstance(payload, list) and payload else [payload]
    return payload, not all(_is_notification(m) for m in members)


def _check_response(item: Any) -> None:
    assert isinstance(item, dict) and item["jsonrpc"] == "2.0" and "id" in item, item
    assert ("result" in item) != ("error" in item), item
    assert _valid_id(item["id"]), item
    if "error" in item:
        error = item["error"]
        assert isinstance(error["code"], int) and isinstance(error["message"], str)
        assert {"code", "timestamp", "method", "request_id"} <= set(error["data"])


@pytest.fixture(scope="module")
def ws_link(fuzz_daemon: DaemonProcess) -> Iterator[WsLink]:
    link = WsLink(fuzz_daemon.socket)
    yield link
    # Nothing may be left over: every answer was expected, and nothing came for a notification.
    rid, sentinel = _sentinel()
    link.send(sentinel)
    assert link.receive()["id"] == rid
    link.close()
    status, body = get(fuzz_daemon, "/metrics")
    assert status == 200
    assert list(text_string_to_metric_families(body.decode()))


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
_METHODS = st.sampled_from([
    "daemon.health", "daemon.status", "settings.get", "settings.update", "index.search",
    "index.file", "index.preview", "workspace.changes", "workspace.list", "plugins.list",
    "rpc.discover", "nope", "",
])  # fmt: skip
# Non-finite ids have their own test (test_non_finite_ids_are_refused).
_ID = (
    st.integers()
    | st.text(max_size=5)
    | st.none()
    | st.floats(allow_nan=False, allow_infinity=False)
)
_REQUEST = st.fixed_dictionaries(
    {"jsonrpc": st.sampled_from(["2.0", "2.0", "2.0", "1.0"]), "method": _METHODS},
    optional={
        "params": st.dictionaries(
            st.sampled_from(["query", "path", "since", "settings", "limit", "workspace", "x"]),
            _JSON,
            max_size=3,
        )
        | st.lists(_JSON, max_size=3),
        "id": _ID,
    },
)
_HUGE = st.sampled_from(["1" * 5000, "-" + "9" * 4300, "0." + "0" * 400 + "1", "1e-400"]) | (
    st.integers(min_value=10**18, max_value=10**300).map(str)
)
_HUGE_PARAM = _HUGE | st.sampled_from(["1e400", "-1e400"])
_DEPTH = st.integers(min_value=10, max_value=50_000)
WS_FRAMES = st.one_of(
    st.binary(max_size=200).map(lambda raw: raw.decode("utf-8", errors="replace")),
    st.text(st.characters(codec="utf-8"), max_size=100),
    _JSON.map(json.dumps),
    _DEPTH.map(lambda n: "[" * n + "]" * n),
    _DEPTH.map(lambda n: '{"a":' * n + "0" + "}" * n),
    _DEPTH.map(
        lambda n: (
            '{"jsonrpc":"2.0","method":"index.search","params":{"query":'
            + "[" * n
            + "]" * n
            + '},"id":3}'
        )
    ),
    _HUGE.map(lambda h: '{"jsonrpc":"2.0","method":"daemon.health","id":' + h + "}"),
    _HUGE_PARAM.map(
        lambda h: (
            '{"jsonrpc":"2.0","method":"index.search","params":{"query":"a","limit":'
            + h
            + '},"id":4}'
        )
    ),
    _HUGE_PARAM.map(
        lambda h: '{"jsonrpc":"2.0","method":"workspace.changes","params":{"since":' + h + "}}"
    ),
    _REQUEST.map(json.dumps),
    st.lists(_REQUEST, max_size=5).map(json.dumps),
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(frame=WS_FRAMES)
def test_fuzzed_websocket_frames_always_get_valid_answers(ws_link: WsLink, frame: str) -> None:
    try:
        _exchange(ws_link, frame)
    except BaseException:
        ws_link.reset()  # leftovers of a failed example must not fail the next ones
        raise


def _exchange(ws_link: WsLink, frame: str) -> None:
    payload, answered = _expected(frame)
    rid, sentinel = _sentinel()
    ws_link.send(frame)
    ws_link.send(sentinel)  # an instant method: answered as soon as it is read
    answers: list[Any] = []
    seen_sentinel = False
    while not seen_sentinel or len(answers) < answered:
        message = ws_link.receive()
        if isinstance(message, dict) and message.get("id") == rid:
            _check_response(message)
            seen_sentinel = True
        else:
            answers.append(message)
    assert len(answers) == answered, (frame[:200], answers)
    if not answers:
        return
    answer = answers[0]
    _check_response(answer[0] if isinstance(answer, list) and answer else answer)
    parse_error = isinstance(answer, dict) and answer.get("error", {}).get("code") == -32700
    if parse_error and frame.count("[") + frame.count("{") > 500:
        return  # nesting the daemon's parser refuses although this one parsed it: fine
    if isinstance(payload, list) and payload:
        assert isinstance(answer, list) and answer, answer
        requests = [m for m in payload if not _is_notification(m)]
        assert len(answer) == len(requests)
    for item in answer if isinstance(answer, list) else [answer]:
        _check_response(item)
    if isinstance(payload, dict) and _valid_id(payload.get("id")) and "id" in payload:
        assert answer["id"] == payload["id"]


def _post_raw(d: DaemonProcess, body: bytes) -> bytes:
    conn = _UnixConnection(d.socket, 10)
    conn.request("POST", "/rpc", body=body)
    raw = conn.getresponse().read()
    conn.close()
    return raw


def test_non_finite_ids_are_refused(fuzz_daemon: DaemonProcess) -> None:
    for body in (b"1e400", b"-1e400"):
        raw = _post_raw(
            fuzz_daemon, b'{"jsonrpc":"2.0","method":"daemon.health","id":' + body + b"}"
        )
        answer = json.loads(raw, parse_constant=_reject_constant)
        assert answer["id"] is None and answer["error"]["data"]["code"] == "INVALID_REQUEST"


def test_unknown_method_names_cannot_break_metrics(daemon: DaemonProcess) -> None:
    raw = _post_raw(daemon, b'{"jsonrpc":"2.0","method":"nope\\udc80","id":1}')
    assert json.loads(raw)["error"]["data"]["code"] == "METHOD_NOT_FOUND"
    status, body = get(daemon, "/metrics")
    assert status == 200
    assert list(text_string_to_metric_families(body.decode()))
