"""The scrollback ring: bounded in bytes, frames replayed after a seq."""

from __future__ import annotations

from aegisd_terminal.ring import Frame, Scrollback


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
