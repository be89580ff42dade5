"""The per-request log line, off loguru's hot path.

Every request is logged (request_id, method, duration_ms, outcome, client) in the same stream and
format as the rest of the log, but written in small batches: loguru costs 15-20 µs a line, as
much as a whole bare request (measured by bench/rpc.py). A request only notes its fields; a
batch of text lines is formatted by one `%` per second of requests, a third cheaper than a
format per line. Client-chosen values (method, request id, client) are escaped like every log
line (`aegisd.log.escape_control`) when the batch is written, not on the request's path.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO

from aegisd.log import escape_control

FLUSH_DELAY_S = 0.05
LEVELS_LOGGING_REQUESTS = ("TRACE", "DEBUG", "INFO")
# The text sink's layout (aegisd.log) after the date and time to the second.
TEXT_LINE = (
    ".%03d | INFO    | rpc | request_id=%s method=%s duration_ms=%.3f outcome=%s client=%s\n"
)
TEXT_FIELDS = 6  # the values TEXT_LINE takes


class AccessLog:
    def __init__(
        self,
        log_format: str,
        level: str,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.json = log_format == "json"
        self.enabled = level in LEVELS_LOGGING_REQUESTS
        self._stream = stream
        self._clock = clock
        # Text: TEXT_LINE's values, line after line; JSON: one (time, fields...) tuple a line.
        self._values: list[Any] = []
        self._seconds: list[tuple[int, int]] = []  # (second, index into _values where it starts)
        self._second = -1  # the last of _seconds
        self._flush_scheduled = False

    def record(
        self, request_id: str, method: str, duration_ms: float, outcome: str, client: str
    ) -> None:
        if not self.enabled:
            return
        now = self._clock()
        if self.json:
            self._values.append((now, request_id, method, duration_ms, outcome, client))
        else:
            if int(now) != self._second:
                self._second = int(now)
                self._seconds.append((self._second, len(self._values)))
            millis = int(now * 1000) % 1000
            self._values += (millis, request_id, method, duration_ms, outcome, client)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            try:
                asyncio.get_running_loop().call_later(FLUSH_DELAY_S, self.flush)
            except RuntimeError:
                self.flush()

    def flush(self) -> None:
        self._flush_scheduled = False
        if not self._values:
            return
        values, seconds = self._values, self._seconds
        self._values, self._seconds, self._second = [], [], -1
        text = _json_text(values) if self.json else _text(values, seconds)
        stream = self._stream or sys.stderr
        stream.write(text)
        stream.flush()


def _text(values: list[Any], seconds: list[tuple[int, int]]) -> str:
    parts = []
    ends = [start for _, start in seconds[1:]] + [len(values)]
    for (second, start), end in zip(seconds, ends, strict=True):
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        lines = (end - start) // TEXT_FIELDS
        fields = tuple(escape_control(v) if type(v) is str else v for v in values[start:end])
        parts.append((stamp + TEXT_LINE) * lines % fields)
    return "".join(parts)


def _json_text(entries: list[Any]) -> str:
    lines = []
    for now, request_id, method, duration_ms, outcome, client in entries:
        stamp = datetime.fromtimestamp(now).astimezone().isoformat(timespec="milliseconds")
        entry = {
            "time": stamp,
            "level": "INFO",
            "message": "rpc",
            "module": "aegisd.rpc.dispatch",
            "request_id": request_id,
            "method": method,
            "duration_ms": round(duration_ms, 3),
            "outcome": outcome,
            "client": client,
        }
        lines.append(json.dumps(entry) + "\n")
    return "".join(lines)
