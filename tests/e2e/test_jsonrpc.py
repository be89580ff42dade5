"""The JSON-RPC 2.0 specification's examples, adapted to real methods, against a real daemon."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import DaemonProcess, start_daemon


@pytest.fixture(scope="module")
def d(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    tmp = tmp_path_factory.mktemp("jsonrpc")
    project = tmp / "project"
    project.mkdir()
    daemon = start_daemon(
        tmp, "--root", str(project), env={"AEGISD_PLUGINS__EXTRA": "aegisd_test_plugins"}
    )
    yield daemon
    daemon.stop(signal.SIGKILL)


def assert_error(answer: dict[str, Any], code: int, name: str, req_id: Any) -> dict[str, Any]:
    assert answer["jsonrpc"] == "2.0"
    assert answer["id"] == req_id
    assert "result" not in answer
    error = answer["error"]
    assert error["code"] == code
    assert error["data"]["code"] == name
    for key in ("timestamp", "method", "request_id"):
        assert key in error["data"]
    return error  # type: ignore[no-any-return]


def test_call_with_positional_params(d: DaemonProcess) -> None:
    status, answer, _ = d.post(
        json.dumps({"jsonrpc": "2.0", "method": "test.sleep", "params": [0], "id": 1})
    )
    assert status == 200
    assert answer == {"jsonrpc": "2.0", "result": {"slept": 0.0}, "id": 1}


def test_call_with_named_params(d: DaemonProcess) -> None:
    _, answer, _ = d.post(
        json.dumps({"jsonrpc": "2.0", "method": "test.sleep", "params": {"seconds": 0}, "id": "a"})
    )
    assert answer == {"jsonrpc": "2.0", "result": {"slept": 0.0}, "id": "a"}


def test_notification_gets_no_response(d: DaemonProcess) -> None:
    status, answer, _ = d.post(json.dumps({"jsonrpc": "2.0", "method": "daemon.health"}))
    assert status == 204
    assert answer is None


def test_unknown_method(d: DaemonProcess) -> None:
    _, answer, _ = d.post(json.dumps({"jsonrpc": "2.0", "method": "foobar", "id": "1"}))
    error = assert_error(answer, -32601, "METHOD_NOT_FOUND", "1")
    assert error["data"]["method"] == "foobar"


def test_invalid_json(d: DaemonProcess) -> None:
    _, answer, _ = d.post('{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]')
    assert_error(answer, -32700, "PARSE_ERROR", None)


def test_invalid_request_object(d: DaemonProcess) -> None:
    _, answer, _ = d.post(json.dumps({"jsonrpc": "2.0", "method": 1, "params": "bar"}))
    assert_error(answer, -32600, "INVALID_REQUEST", None)


@pytest.mark.parametrize(
    "message",
    [
        {"jsonrpc": "1.0", "method": "daemon.health", "id": 7},
        {"method": "daemon.health", "id": 7},
        {"jsonrpc": "2.0", "method": "daemon.health", "params": "x", "id": 7},
        {"jsonrpc": "2.0", "method": "daemon.health", "params": 3, "id": 7},
    ],
)
def test_invalid_request_keeps_a_valid_id(d: DaemonProcess, message: dict[str, Any]) -> None:
    _, answer, _ = d.post(json.dumps(message))
    assert_error(answer, -32600, "INVALID_REQUEST", 7)


def test_invalid_id_type_answers_with_null_id(d: DaemonProcess) -> None:
    _, answer, _ = d.post(json.dumps({"jsonrpc": "2.0", "method": "daemon.health", "id": {"x": 1}}))
    assert_error(answer, -32600, "INVALID_REQUEST", None)


def test_batch_with_invalid_json(d: DaemonProcess) -> None:
    body = '[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},{"jsonrpc": "2.0", "method"]'
    _, answer, _ = d.post(body)
    assert_error(answer, -32700, "PARSE_ERROR", None)


def test_empty_batch(d: DaemonProcess) -> None:
    _, answer, _ = d.post("[]")
    assert isinstance(answer, dict)
    assert_error(answer, -32600, "INVALID_REQUEST", None)


def test_invalid_batch_of_one(d: DaemonProcess) -> None:
    _, answer, _ = d.post("[1]")
    assert isinstance(answer, list) and len(answer) == 1
    assert_error(answer[0], -32600, "INVALID_REQUEST", None)


def test_invalid_batch_of_three(d: DaemonProcess) -> None:
    _, answer, _ = d.post("[1,2,3]")
    assert len(answer) == 3
    for item in answer:
        assert_error(item, -32600, "INVALID_REQUEST", None)


def test_mixed_batch(d: DaemonProcess) -> None:
    batch = [
        {"jsonrpc": "2.0", "method": "test.sleep", "params": [0], "id": "1"},
        {"jsonrpc": "2.0", "method": "daemon.health", "params": {}},
        {"jsonrpc": "2.0", "method": "test.sleep", "params": {"seconds": 0.01}, "id": "2"},
        {"foo": "boo"},
        {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
        {"jsonrpc": "2.0", "method": "daemon.health", "id": "9"},
    ]
    _, answer, _ = d.post(json.dumps(batch))
    by_id = {item["id"]: item for item in answer if item["id"] is not None}
    assert len(answer) == 5
    assert by_id["1"]["result"] == {"slept": 0.0}
    assert by_id["2"]["result"] == {"slept": 0.01}
    assert_error(by_id["5"], -32601, "METHOD_NOT_FOUND", "5")
    assert by_id["9"]["result"]["status"] in ("ok", "degraded")
    nulls = [item for item in answer if item["id"] is None]
    assert len(nulls) == 1
    assert_error(nulls[0], -32600, "INVALID_REQUEST", None)


def test_batch_of_notifications_is_204(d: DaemonProcess) -> None:
    batch = [
        {"jsonrpc": "2.0", "method": "daemon.health", "params": {}},
        {"jsonrpc": "2.0", "method": "test.sleep", "params": [0]},
    ]
    status, answer, _ = d.post(json.dumps(batch))
    assert status == 204
    assert answer is None


def test_batch_members_run_concurrently(d: DaemonProcess) -> None:
    batch = [{"jsonrpc": "2.0", "method": "test.sleep", "params": [0.5], "id": i} for i in range(6)]
    _, answer, _ = d.post(json.dumps(batch))
    assert sorted(item["id"] for item in answer) == list(range(6))
    assert d.call("test.concurrency")["max_concurrent_sleeps"] == 6


def test_invalid_params_lists_each_field(d: DaemonProcess) -> None:
    _, answer, _ = d.post(
        json.dumps(
            {
                "jsonrpc": "2.0",
                "method": "test.sleep",
                "params": {"seconds": "soon", "extra": 1},
                "id": 3,
            }
        )
    )
    error = assert_error(answer, -32602, "INVALID_PARAMS", 3)
    locs = {tuple(e["loc"]) for e in error["data"]["errors"]}
    assert ("params", "seconds") in locs
    assert ("params", "extra") in locs
    assert all(e["msg"] for e in error["data"]["errors"])


def test_too_many_positional_params(d: DaemonProcess) -> None:
    _, answer, _ = d.post(
        json.dumps({"jsonrpc": "2.0", "method": "test.sleep", "params": [0, 1], "id": 4})
    )
    assert_error(answer, -32602, "INVALID_PARAMS", 4)


def test_internal_error_hides_internals_and_is_logged(d: DaemonProcess) -> None:
    _, answer, headers = d.post(
        json.dumps({"jsonrpc": "2.0", "method": "test.explode", "id": 5}),
        headers={"X-Request-ID": "trace-me-42"},
    )
    error = assert_error(answer, -32603, "INTERNAL_ERROR", 5)
    assert "secret internal detail" not in json.dumps(answer)
    assert error["data"]["request_id"] == "trace-me-42"
    assert headers["X-Request-ID"] == "trace-me-42"
    log = d.output()
    assert "secret internal detail" in log and "Traceback" in log


def test_request_id_is_generated_and_echoed(d: DaemonProcess) -> None:
    _, answer, headers = d.post(json.dumps({"jsonrpc": "2.0", "method": "nope", "id": 1}))
    assert headers["X-Request-ID"] == answer["error"]["data"]["request_id"]
    assert len(headers["X-Request-ID"]) >= 8
    wanted = "request_id=" + headers["X-Request-ID"]
    deadline = time.monotonic() + 10  # request lines are written in small batches
    while wanted not in d.output() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert wanted in d.output()


def test_body_over_the_limit_is_refused(d: DaemonProcess) -> None:
    big = (
        b'{"jsonrpc": "2.0", "method": "daemon.health", "id": 1, "pad": "'
        + b"x" * (5 * 1024 * 1024)
        + b'"}'
    )
    try:
        status, answer, _ = d.post(big)
    except (BrokenPipeError, ConnectionResetError):
        return  # refused before the client finished sending: also a refusal
    assert status == 413
    assert_error(answer, -32600, "INVALID_REQUEST", None)
    assert d.call("daemon.health")["status"] == "ok"


def test_subscribe_over_http_is_unsupported(d: DaemonProcess) -> None:
    _, answer, _ = d.post(
        json.dumps(
            {
                "jsonrpc": "2.0",
                "method": "events.subscribe",
                "params": {"topics": ["progress"]},
                "id": 1,
            }
        )
    )
    assert_error(answer, -32008, "UNSUPPORTED", 1)


def test_non_local_host_or_origin_is_refused(d: DaemonProcess) -> None:
    body = json.dumps({"jsonrpc": "2.0", "method": "daemon.health", "id": 1})
    status, answer, _ = d.post(body, headers={"Host": "evil.example"})
    assert status == 403
    assert_error(answer, -32600, "INVALID_REQUEST", None)
    status, _, _ = d.post(body, headers={"Origin": "http://evil.example"})
    assert status == 403
    status, _, _ = d.post(body, headers={"Origin": "http://localhost:3000"})
    assert status == 200


async def _ws_exchange(socket: Path, frames: list[str]) -> list[Any]:
    connector = aiohttp.UnixConnector(path=str(socket))
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.ws_connect("http://localhost/rpc/ws") as ws,
    ):
        answers = []
        for frame in frames:
            await ws.send_str(frame)
            answers.append(json.loads((await ws.receive(timeout=10)).data))
        return answers


def test_websocket_serves_the_same_dispatcher(d: DaemonProcess) -> None:
    answers = asyncio.run(
        _ws_exchange(
            d.socket,
            [
                json.dumps({"jsonrpc": "2.0", "method": "daemon.health", "id": 1}),
                json.dumps(
                    [
                        {"jsonrpc": "2.0", "method": "test.sleep", "params": [0], "id": 2},
                        {"jsonrpc": "2.0", "method": "nope", "id": 3},
                    ]
                ),
                "not json",
                json.dumps(
                    {
                        "jsonrpc": "2.0",
                        "method": "events.subscribe",
                        "params": {"topics": ["progress"]},
                        "id": 4,
                    }
                ),
            ],
        )
    )
    assert answers[0]["result"]["status"] == "ok"
    assert [a["id"] for a in answers[1]] == [2, 3]
    assert_error(answers[1][1], -32601, "METHOD_NOT_FOUND", 3)
    assert_error(answers[2], -32700, "PARSE_ERROR", None)
    assert answers[3]["result"] == {"topics": ["progress"]}
