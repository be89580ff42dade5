from typing import Any

import pytest
from aegisd_audit.events import ACTORS, PHASES, STATUSES, prepare_event
from aegisd_audit.limits import PAYLOAD_MAX_DEPTH, PayloadTooDeepError, TitleTooLongError
from aegisd_audit.redact import REDACTED

from aegisd.store.jsonfield import MAX_DEPTH

GLPAT = "glpat-" + "x1Y2z3" * 4


def test_vocabularies() -> None:
    assert ACTORS == ("agent", "human", "system")
    assert PHASES == ("init", "explore", "plan", "apply", "validate", "complete")
    assert STATUSES == ("ok", "error", "pending", "running")


def test_prepare_event_redacts_every_free_form_field() -> None:
    event = prepare_event(
        "$ export TOKEN=abc && make",
        "PGPASSWORD=hunter2 psql",
        {"headers": {"Cookie": "sid=1"}, "cmd": "curl -u bob:pw https://x", GLPAT: 1},
        type=f"note {GLPAT}",
        ref="DB_PASS=hunter2",
    )
    assert event.title == f"$ export TOKEN={REDACTED} && make"
    assert event.detail == f"PGPASSWORD={REDACTED} psql"
    assert event.payload == {
        "headers": {"Cookie": REDACTED},
        "cmd": f"curl -u bob:{REDACTED} https://x",
        REDACTED: 1,
    }
    assert (event.type, event.ref) == (f"note {REDACTED}", f"DB_PASS={REDACTED}")
    assert not event.truncated


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def test_prepare_event_refuses_a_payload_nested_too_deep() -> None:
    assert PAYLOAD_MAX_DEPTH == MAX_DEPTH  # what the store itself would refuse
    assert prepare_event("t", None, nested(PAYLOAD_MAX_DEPTH)).payload == nested(PAYLOAD_MAX_DEPTH)
    for depth in (PAYLOAD_MAX_DEPTH + 1, 300, 100_000):  # the last would exhaust recursion
        with pytest.raises(PayloadTooDeepError, match="nested more than 64 levels"):
            prepare_event("t", None, nested(depth))


def test_prepare_event_flags_a_capped_detail_or_payload() -> None:
    assert prepare_event("t", "x" * 20_000).truncated
    big = prepare_event("t", None, {"out": "y" * 70_000})
    assert big.truncated
    assert big.payload is not None and big.payload["out"].startswith("y" * 4096 + "…[truncated")


def test_redaction_comes_before_the_cut() -> None:
    # Cut first, the key would lose its tail and no longer look like a key.
    detail = "x" * 90 + " key AKIAIOSFODNN7EXAMPLE"
    event = prepare_event("t", detail, detail_max_bytes=105)
    assert event.detail == "x" * 90 + f" key {REDACTED}"[:15]
    assert "AKIA" not in (event.detail or "")


def test_prepare_event_rejects_a_long_title() -> None:
    with pytest.raises(TitleTooLongError):
        prepare_event("t" * 201)
