"""Rate limits over HTTP: every answer tells the client its standing (IETF RateLimit-* fields)
for the cost class it used, a refusal says when to retry, and a limited client stays limited
however many other client names come and go."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from tests.conftest import DaemonProcess

LIMITS = {
    "AEGISD_RATE_LIMITS__HEAVY__RATE": "0.01",
    "AEGISD_RATE_LIMITS__HEAVY__BURST": "2",
    "AEGISD_RATE_LIMITS__MAX_BUCKETS": "8",
}


def post(d: DaemonProcess, body: Any, client: str) -> tuple[Any, dict[str, str]]:
    status, answer, headers = d.post(json.dumps(body), headers={"X-Aegisd-Client": client})
    assert status == 200
    return answer, headers


def call(method: str, id_: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "id": id_}


def test_answers_carry_the_standing_and_refusals_a_retry_time(
    daemon_factory: Any, tmp_path: Path
) -> None:
    (tmp_path / "project").mkdir()
    d = daemon_factory("--root", str(tmp_path / "project"), env=LIMITS)
    answer, headers = post(d, call("daemon.health"), "victim")
    assert answer["result"]["status"] == "ok"
    assert headers["RateLimit-Limit"] == "1000"  # the read class
    assert headers["RateLimit-Remaining"] == "999"
    assert int(headers["RateLimit-Reset"]) >= 1 and "Retry-After" not in headers

    remaining = []
    for _ in range(2):
        answer, headers = post(d, call("index.rebuild"), "victim")
        assert "result" in answer
        assert headers["RateLimit-Limit"] == "2"  # the heavy class
        remaining.append(headers["RateLimit-Remaining"])
    assert remaining == ["1", "0"]
    assert int(headers["RateLimit-Reset"]) > 100  # two tokens at 0.01 a second

    answer, headers = post(d, call("index.rebuild"), "victim")
    error = answer["error"]["data"]
    assert error["code"] == "RATE_LIMITED"
    assert headers["Retry-After"] == str(math.ceil(error["retry_after_ms"] / 1000))
    assert headers["RateLimit-Remaining"] == "0"

    # Many other clients come (the table holds 8 buckets): the victim is not forgotten.
    for n in range(40):
        post(d, call("daemon.health"), f"passer-by-{n}")
    answer, _ = post(d, call("index.rebuild"), "victim")
    assert answer["error"]["data"]["code"] == "RATE_LIMITED"

    # A batch reports the most constrained class it touched.
    answer, headers = post(d, [call("daemon.health", 1), call("index.rebuild", 2)], "batcher")
    assert [("result" in a) for a in answer] == [True, True]
    assert (headers["RateLimit-Limit"], headers["RateLimit-Remaining"]) == ("2", "1")


def test_the_document_gives_each_method_its_class_and_limits(
    daemon_factory: Any, tmp_path: Path
) -> None:
    d = daemon_factory(env=LIMITS)
    methods = {m["name"]: m for m in d.call("rpc.discover")["methods"]}
    assert methods["index.rebuild"]["x-rate-limit"] == {
        "class": "heavy",
        "enabled": True,
        "rate_per_s": 0.01,
        "burst": 2.0,
    }
    assert methods["settings.update"]["x-rate-limit"]["class"] == "write"
