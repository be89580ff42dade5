"""The per-request log line, off loguru's hot path.

Every request is logged (request_id, method, duration_ms, outcome, client) in the same stream and
format as the rest of the log, but formatted with one f-string and written in small batches:
loguru costs 15-20 µs a line, as much as a whole bare request (measured by bench/rpc.py).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import datetime
from typing import TextIO

FLUSH_DELAY_S = 0.05
LEVELS_LOGGING_REQUESTS = ("TRACE", "DEBUG", "INFO")


class AccessLog:
    def __init__(self, log_format: str, level: str, stream: TextIO | None = None) -> None:
        self.json = log_format == "json"
        self.enabled = level in LEVELS_LOGGING_REQUESTS
        self._stream = stream
        self._lines: list[str] = []
        self._flush_scheduled = False
        self._cached_second = -1
        self._cached_text = ""

    def record(
        self, request_id: str, method: str, duration_ms: float, outcome: str, client: str
    ) -> None:
        if not self.enabled:
            return
        now = time.time()
        if self.json:
            stamp = datetime.fromtimestamp(now).astimezone().isoformat(timespec="milliseconds")
            line = json.dumps(
                {
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
            )
        else:
            line = (
                f"{self._second(now)}.{int(now * 1000) % 1000:03d} | INFO    | rpc | "
                f"request_id={request_id} method={method} duration_ms={duration_ms:.3f} "
                f"outcome={outcome} client={client}"
            )
        self._lines.append(line + "\n")
        if not self._flush_scheduled:
            self._flush_scheduled = True
            try:
                asyncio.get_running_loop().call_later(FLUSH_DELAY_S, self.flush)
            except RuntimeError:
                self.flush()

    def _second(self, now: float) -> str:
        """The local date and time to the second, formatted once per second."""
        second = int(now)
        if second != self._cached_second:
            self._cached_second = second
            self._cached_text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        return self._cached_text

    def flush(self) -> None:
        self._flush_scheduled = False
        if not self._lines:
            return
        stream = self._stream or sys.stderr
        stream.write("".join(self._lines))
        stream.flush()
        self._lines.clear()
