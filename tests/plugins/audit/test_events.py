import pytest
from aegisd_audit.events import ACTORS, PHASES, STATUSES, prepare_event
from aegisd_audit.limits import TitleTooLongError
from aegisd_audit.redact import REDACTED


def test_vocabularies() -> None:
    assert ACTORS == ("agent", "human", "system")
    assert PHASES == ("init", "explore", "plan", "apply", "validate", "complete")
    assert STATUSES == ("ok", "error", "pending", "running")


def test_prepare_event_redacts_every_free_form_field() -> None:
    event = prepare_event(
        "$ export TOKEN=abc && make",
        "PGPASSWORD=hunter2 psql",
        {"headers": {"Cookie": "sid=1"}, "cmd": "curl -u bob:pw https://x"},
    )
    assert event.title == f"$ export TOKEN={REDACTED} && make"
    assert event.detail == f"PGPASSWORD={REDACTED} psql"
    assert event.payload == {"headers": {"Cookie": REDACTED}, "cmd": "curl -u bob:pw https://x"}
    assert not event.truncated


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
