"""Large git output is parsed off the event loop (a 2,000-line blame is ~700 KB); small output
inline (a hop to a thread costs more than the parse)."""

from __future__ import annotations

import threading

from aegisd_git import history


def _thread(out: bytes) -> str:
    return threading.current_thread().name


async def test_large_output_is_parsed_in_the_interactive_lane() -> None:
    loop_thread = threading.current_thread().name
    small = await history._parsed(_thread, b"x" * 100)
    large = await history._parsed(_thread, b"x" * (history.PARSE_INLINE_BYTES + 1))
    assert small == loop_thread
    assert large != loop_thread and large.startswith("aegisd-interactive")
