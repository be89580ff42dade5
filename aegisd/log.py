"""Logging, configured once at the entry point: the only module that adds loguru sinks.

Modules just `from loguru import logger`. stdlib logging (aiohttp, peewee, asyncio) is routed
into loguru so there is one stream, as text for people or as JSON lines for machines.

Log lines carry what clients send (method names, client names, request ids, paths, exception
messages quoting them). In the text format every line is one record: control characters in it
are escaped (`escape_control`, also used by the access log) and a traceback's lines are
indented, so no client can start a line that looks like a record of its own. JSON lines are
escaped by JSON itself.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, TextIO

from loguru import logger

if TYPE_CHECKING:
    from loguru import Message, Record


class LogThrottle:
    """Which of many similar log lines to write: the first of each kind, then at most one per
    `every_s`, each saying how many were dropped before it. Lines a peer can provoke at will
    (refused connections, malformed requests) go through one, so a flood cannot fill the disk."""

    MAX_KINDS = 1000

    def __init__(self, every_s: float = 10.0, clock: Callable[[], float] = time.monotonic):
        self.every_s = every_s
        self._clock = clock
        self._kinds: dict[Hashable, list[float]] = {}  # kind -> [window start, dropped]

    def allow(self, kind: Hashable) -> int | None:
        """None to drop this line; else how many of its kind were dropped since the last."""
        now = self._clock()
        entry = self._kinds.get(kind)
        if entry is None:
            if len(self._kinds) >= self.MAX_KINDS:
                self._kinds.clear()  # at worst a few lines more
            self._kinds[kind] = [now, 0]
            return 0
        if now - entry[0] >= self.every_s:
            dropped = int(entry[1])
            entry[0], entry[1] = now, 0
            return dropped
        entry[1] += 1
        return None

    def drain(self, kind: Hashable) -> int:
        """How many of `kind` were dropped since the last line; the count starts again."""
        entry = self._kinds.get(kind)
        if entry is None:
            return 0
        dropped = int(entry[1])
        entry[0], entry[1] = self._clock(), 0
        return dropped


#: stdlib loggers a peer can make talk (a malformed request, a connection reset, descriptors
#: running out): their warnings and errors are throttled per message
NETWORK_LOGGERS = ("asyncio", "aiohttp")


class _InterceptHandler(logging.Handler):
    """Send stdlib log records to loguru, keeping level and origin."""

    def __init__(self) -> None:
        super().__init__()
        self.throttle = LogThrottle()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        message = record.getMessage()
        if record.name.startswith(NETWORK_LOGGERS) and record.levelno >= logging.WARNING:
            kind = (record.name, str(record.msg).split("\n", 1)[0][:100])
            dropped = self.throttle.allow(kind)
            if dropped is None:
                return
            if dropped:
                message += f" ({dropped} like it dropped before this)"
        logger.opt(exception=record.exc_info, depth=6).bind(logger_name=record.name).log(
            level, message
        )


TRACEBACK_INDENT = "    "


def escape_control(text: str) -> str:
    """`text` with control characters (and anything else unprintable: line and paragraph
    separators, lone surrogates) as Python escapes, so it stays on its one log line."""
    if text.isprintable():
        return text  # the usual case, checked in C
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


def _escape(ch: str) -> str:
    code = ord(ch)
    if ch in "\n\r\t":
        return repr(ch)[1:-1]
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _text_format(record: Record) -> str:
    # Placeholders, not values: loguru caches the parsed format by this string. No
    # {exception}: `_text_sink` writes the traceback itself, indented.
    extra = " ".join(f"{key}={{extra[{key}]}}" for key in record["extra"])
    tail = f" | {extra}" if extra else ""
    return "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <7} | {name}:{line} | {message}" + tail + "\n"


def _text_sink(stream: TextIO) -> Any:
    def sink(message: Message) -> None:
        line = escape_control(str(message).rstrip("\n"))
        parts = [line, "\n"]
        exception = message.record["exception"]
        if exception is not None:
            exc_type, exc_value, exc_tb = exception
            text = "".join(traceback.format_exception(exc_type, exc_value, exc_tb))
            for tb_line in text.splitlines():
                parts += [TRACEBACK_INDENT, escape_control(tb_line), "\n"]
        stream.write("".join(parts))
        stream.flush()

    return sink


def _json_sink(stream: TextIO) -> Any:
    def sink(message: Message) -> None:
        record = message.record
        entry: dict[str, Any] = {
            "time": record["time"].isoformat(timespec="milliseconds"),
            "level": record["level"].name,
            "message": record["message"],
            "module": record["name"],
            "line": record["line"],
        }
        entry.update(record["extra"])
        if record["exception"] is not None:
            exc_type, exc_value, exc_tb = record["exception"]
            entry["exception"] = "".join(traceback.format_exception(exc_type, exc_value, exc_tb))
        stream.write(json.dumps(entry, default=str) + "\n")
        stream.flush()

    return sink


def configure_logging(
    log_format: str = "text", level: str = "INFO", stream: TextIO | None = None
) -> None:
    """Install the one sink (text or JSON lines) and route stdlib logging into it."""
    out = stream or sys.stderr
    logger.remove()
    if log_format == "json":
        logger.add(_json_sink(out), level=level, backtrace=False, diagnose=False)
    else:
        logger.add(
            _text_sink(out), level=level, format=_text_format, backtrace=False, diagnose=False
        )
    logging.basicConfig(handlers=[_InterceptHandler()], level=logging.WARNING, force=True)
    logging.getLogger("aiohttp.access").disabled = True
