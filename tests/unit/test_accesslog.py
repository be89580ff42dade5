"""The access log: one line per request, in the log's text or JSON layout, written in batches."""

from __future__ import annotations

import asyncio
import io
import json
import re
import time
from collections.abc import Callable
from datetime import datetime

from aegisd import accesslog
from aegisd.accesslog import AccessLog

TEXT = re.compile(
    r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.(\d{3}) \| INFO    \| rpc \| "
    r"request_id=(\S+) method=(\S+) duration_ms=(\d+\.\d{3}) outcome=(\S+) client=(\S+)"
)


def _clock(*stamps: float) -> Callable[[], float]:
    return iter(stamps).__next__


def test_text_lines_carry_every_field_and_their_own_time() -> None:
    base = float(int(time.time()))
    # The last one after the clock was set back.
    clock = _clock(base + 0.25, base + 0.9994, base + 1.5, base + 0.75)
    stream = io.StringIO()
    log = AccessLog("text", "INFO", stream, clock)
    log.record("r1", "daemon.health", 0.12345, "ok", "unix-anonymous")
    log.record("r2", "lint.run", 12.0, "RATE_LIMITED", "ws-1")
    log.record("r3", "<unknown>", 1500.5, "METHOD_NOT_FOUND", "cli")
    log.record("r4", "daemon.status", 0.0004, "ok", "cli")
    log.flush()  # no event loop: every record is written at once
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4
    fields = [TEXT.fullmatch(line).groups() for line in lines]  # type: ignore[union-attr]

    def second(offset: float) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(int(base + offset)))

    assert fields == [
        (second(0), "250", "r1", "daemon.health", "0.123", "ok", "unix-anonymous"),
        (second(0), "999", "r2", "lint.run", "12.000", "RATE_LIMITED", "ws-1"),
        (second(1), "500", "r3", "<unknown>", "1500.500", "METHOD_NOT_FOUND", "cli"),
        (second(0), "750", "r4", "daemon.status", "0.000", "ok", "cli"),
    ]


def test_json_lines() -> None:
    now = time.time()
    stream = io.StringIO()
    log = AccessLog("json", "DEBUG", stream, _clock(now))
    log.record("r1", "daemon.health", 0.12345, "ok", "cli")
    entry = json.loads(stream.getvalue())
    assert entry == {
        "time": datetime.fromtimestamp(now).astimezone().isoformat(timespec="milliseconds"),
        "level": "INFO",
        "message": "rpc",
        "module": "aegisd.rpc.dispatch",
        "request_id": "r1",
        "method": "daemon.health",
        "duration_ms": 0.123,
        "outcome": "ok",
        "client": "cli",
    }


def test_quiet_levels_log_no_requests() -> None:
    stream = io.StringIO()
    log = AccessLog("text", "WARNING", stream)
    log.record("r1", "daemon.health", 0.1, "ok", "cli")
    log.flush()
    assert stream.getvalue() == ""


async def test_on_the_loop_lines_are_batched_then_all_written() -> None:
    stream = io.StringIO()
    log = AccessLog("text", "INFO", stream)
    for n in range(1000):
        log.record(f"r{n}", "daemon.health", 0.1, "ok", "cli")
    assert stream.getvalue() == ""
    await asyncio.sleep(accesslog.FLUSH_DELAY_S * 2)
    lines = stream.getvalue().splitlines()
    ids = [TEXT.fullmatch(line).group(3) for line in lines]  # type: ignore[union-attr]
    assert ids == [f"r{n}" for n in range(1000)]
