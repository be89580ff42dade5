"""Logging, configured once at the entry point: the only module that adds loguru sinks.

Modules just `from loguru import logger`. stdlib logging (aiohttp, peewee, asyncio) is routed
into loguru so there is one stream, as text for people or as JSON lines for machines.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from typing import TYPE_CHECKING, Any, TextIO

from loguru import logger

if TYPE_CHECKING:
    from loguru import Message, Record


class _InterceptHandler(logging.Handler):
    """Send stdlib log records to loguru, keeping level and origin."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.opt(exception=record.exc_info, depth=6).bind(logger_name=record.name).log(
            level, record.getMessage()
        )


def _text_format(record: Record) -> str:
    # Placeholders, not values: loguru caches the parsed format by this string.
    extra = " ".join(f"{key}={{extra[{key}]}}" for key in record["extra"])
    tail = f" | {extra}" if extra else ""
    return (
        "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <7} | {name}:{line} | {message}"
        + tail
        + "\n{exception}"
    )


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
        logger.add(out, level=level, format=_text_format, backtrace=False, diagnose=False)
    logging.basicConfig(handlers=[_InterceptHandler()], level=logging.WARNING, force=True)
    logging.getLogger("aiohttp.access").disabled = True
