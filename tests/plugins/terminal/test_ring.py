"""The scrollback ring: bounded in bytes, frames replayed after a seq."""

from __future__ import annotations

from types import SimpleNamespace

from aegisd_terminal.ring import Frame, Scrollback
from aegisd_terminal.service import ScrollbackShare


def test_oldest_frames_leave_within_the_budget() -> None:
    ring = Scrollback(max_bytes=10)
    for seq in range(1, 8):
        ring.append(Frame(seq, "ab", 2))
    assert ring.bytes == 10 and ring.first_seq == 3
    frames, lost = ring.since(4)
    assert [f.seq for f in frames] == [5, 6, 7] and lost == 0
    frames, lost = ring.since(0)
    assert [f.seq for f in frames] == [3, 4, 5, 6, 7] and lost == 2


def test_a_frame_larger_than_the_budget_keeps_its_tail() -> None:
    ring = Scrollback(max_bytes=4)
    ring.append(Frame(1, "abcdefgh", 8))
    frames, _ = ring.since(0)
    assert [(f.seq, f.data) for f in frames] == [(1, "efgh")] and ring.bytes == 4


def test_trimmed_under_memory_pressure() -> None:
    ring = Scrollback(max_bytes=100)
    for seq in range(1, 11):
        ring.append(Frame(seq, "x" * 10, 10))
    assert ring.trim(35) == 70 and ring.bytes == 30 and ring.first_seq == 8
    assert ring.trim(0) == 30 and len(ring) == 0 and ring.since(3) == ([], 7)


def test_the_scrollback_share_gives_up_exited_sessions_first() -> None:
    def session(running: bool) -> SimpleNamespace:
        ring = Scrollback(max_bytes=1000)
        for seq in range(1, 11):
            ring.append(Frame(seq, "x" * 100, 100))
        return SimpleNamespace(ring=ring, running=running)

    sessions = {"a": session(False), "b": session(True), "c": session(True)}
    share = ScrollbackShare(sessions)  # type: ignore[arg-type]
    assert share.bytes == 3000
    assert share.shrink(2000) == 1000 and sessions["a"].ring.bytes == 0
    assert share.shrink(1000) == 1000 and share.bytes == 1000
    assert sessions["b"].ring.bytes == sessions["c"].ring.bytes == 500
