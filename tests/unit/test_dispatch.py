"""The dispatcher's request path, in process: parsing, answers, and what every request records."""

from __future__ import annotations

import asyncio
import codecs
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from aegisd import threads
from aegisd.config import RateLimitsConfig
from aegisd.daemon import Daemon
from aegisd.limits import RateLimiter
from aegisd.rpc.context import Caller
from aegisd.rpc.dispatch import UNKNOWN_METHOD, UNPARSABLE, _plain, parse
from aegisd.rpc.registry import FreshResult

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=10,
)


def _loads(data: str | bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return UNPARSABLE


@given(json_values, st.sampled_from(["", " ", "\n", " \t\r\n"]), st.booleans())
def test_parse_reads_what_json_loads_reads(value: Any, space: str, as_bytes: bool) -> None:
    for text in (json.dumps(value), space + json.dumps(value, indent=1) + space):
        data: str | bytes = text.encode() if as_bytes else text
        assert parse(data) == _loads(data)


@pytest.mark.parametrize(
    "data",
    [
        b'{"a": 1}',
        '{"a": "\u00e9"}'.encode("utf-16"),
        '{"a": 1}'.encode("utf-16-le"),
        '{"a": 1}'.encode("utf-32"),
        codecs.BOM_UTF8 + b'{"a": 1}',
        "\ufeff" + '{"a": 1}',
        b'{"a": 1} x',
        b'{"a": 1}{}',
        b"{\xff}",
        b"",
        "",
        "NaN",
        "[1e400]",
        "[" * 100_000,
        "not json",
    ],
)
def test_parse_accepts_and_refuses_like_json_loads(data: str | bytes) -> None:
    result, expected = parse(data), _loads(data)
    if isinstance(expected, float) and expected != expected:  # NaN
        assert result != result
    else:
        assert result == expected


def _caller(client: str = "test-client") -> Caller:
    return Caller(client, "unix", "rid-1")


async def test_answer_shape_and_what_a_request_records(app_daemon: Daemon) -> None:
    dispatcher = app_daemon.dispatcher
    text = await dispatcher.handle(
        b'{"jsonrpc":"2.0","method":"daemon.health","id":"a"}', _caller()
    )
    answer = json.loads(text or "")
    assert answer["id"] == "a" and answer["result"]["status"] == "ok"
    assert set(answer["result"]) == {"status", "reasons", "version", "pid"}
    assert await dispatcher.handle('{"jsonrpc":"2.0","method":"daemon.health"}', _caller()) is None
    for params in ("[]", "{}"):
        message = f'{{"jsonrpc":"2.0","method":"daemon.health","params":{params},"id":2}}'
        assert json.loads(await dispatcher.handle(message, _caller()) or "")["id"] == 2
    await dispatcher.handle('{"jsonrpc":"2.0","method":"no.such","id":3}', _caller())
    assert dispatcher.in_flight == 0
    counts = app_daemon.metrics.request_counts()
    assert counts[("daemon.health", "ok")] == 4
    assert counts[(UNKNOWN_METHOD, "METHOD_NOT_FOUND")] == 1


async def test_a_method_without_params_refuses_unknown_ones(app_daemon: Daemon) -> None:
    message = '{"jsonrpc":"2.0","method":"daemon.health","params":{"x":1},"id":1}'
    error = json.loads(await app_daemon.dispatcher.handle(message, _caller()) or "")["error"]
    assert error["data"]["code"] == "INVALID_PARAMS"


async def test_every_request_takes_a_rate_limit_token(app_daemon: Daemon) -> None:
    config = RateLimitsConfig.model_validate({"read": {"rate": 0.001, "burst": 2}})
    app_daemon.limits = RateLimiter(config)
    message = '{"jsonrpc":"2.0","method":"daemon.health","id":1}'
    answers = [
        json.loads(await app_daemon.dispatcher.handle(message, _caller()) or "") for _ in range(3)
    ]
    assert [("result" in a) for a in answers] == [True, True, False]
    assert answers[2]["error"]["data"]["code"] == "RATE_LIMITED"


async def test_health_follows_the_daemon(
    app_daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = '{"jsonrpc":"2.0","method":"daemon.health","id":1}'

    async def health() -> dict[str, Any]:
        return json.loads(await app_daemon.dispatcher.handle(message, _caller()) or "")["result"]

    assert (await health())["status"] == "ok"
    degraded = {"status": "degraded", "reasons": ["store circuit breaker open after 3 failures"]}
    monkeypatch.setattr(
        app_daemon, "health", lambda: dict(degraded, reasons=[*degraded["reasons"]])
    )
    assert {k: (await health())[k] for k in degraded} == degraded
    monkeypatch.undo()
    assert (await health())["reasons"] == []


class _Item(BaseModel):
    path: str
    line: int
    kinds: list[str]


class _Report(FreshResult):
    files: list[_Item]
    empty: list[_Item]
    names: list[str]
    summary: dict[str, int]


def test_internal_answers_are_plain_data_the_same_as_one_dump() -> None:
    report = _Report(
        clock=3,
        files=[_Item(path=f"m{i}.py", line=i, kinds=["a"] * i) for i in range(5)],
        empty=[],
        names=["x", "y"],
        summary={"issues": 5},
    )
    assert _plain(report) == report.model_dump(mode="json")


async def test_requests_but_not_probes_make_background_work_step_aside(
    app_daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(threads, "_last_interactive", -1e9)
    dispatcher = app_daemon.dispatcher
    started = dispatcher.started
    for probe in ("daemon.health", "daemon.status"):
        await dispatcher.handle(f'{{"jsonrpc":"2.0","method":"{probe}","id":1}}', _caller())
    assert not threads.busy()
    await dispatcher.handle('{"jsonrpc":"2.0","method":"workspace.list","id":1}', _caller())
    assert threads.busy()
    assert dispatcher.started == started + 3  # every request counts towards an idle check


async def test_held_requests_wait_for_the_roots_but_liveness_does_not(app_daemon: Daemon) -> None:
    dispatcher = app_daemon.dispatcher
    dispatcher.hold()
    listed = asyncio.ensure_future(
        dispatcher.handle('{"jsonrpc":"2.0","method":"workspace.list","id":1}', _caller())
    )
    # Probes other than liveness wait as well: answered now they would say no workspace is open.
    indexed = asyncio.ensure_future(
        dispatcher.handle('{"jsonrpc":"2.0","method":"index.status","id":3}', _caller())
    )
    status = asyncio.ensure_future(
        dispatcher.handle('{"jsonrpc":"2.0","method":"daemon.status","id":4}', _caller())
    )
    health = await dispatcher.handle('{"jsonrpc":"2.0","method":"daemon.health","id":2}', _caller())
    assert json.loads(health or "")["result"]["status"] == "ok"
    await asyncio.sleep(0.05)
    assert not listed.done()
    assert not indexed.done()
    assert not status.done()
    dispatcher.release()
    async with asyncio.timeout(5):
        assert "result" in json.loads(await listed or "")
        assert "error" in json.loads(await indexed or "")  # released, and still no workspace
        assert "result" in json.loads(await status or "")
    dispatcher.release()  # again: nothing held, nothing happens
