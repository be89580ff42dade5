"""A session's scrollback: the latest output frames, numbered, within a byte budget."""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Frame:
    seq: int
    data: str
    size: int  # bytes read from the PTY for it (what the budget counts)


class Scrollback:
    """Frames in seq order (consecutive); the oldest leave once their total passes `max_bytes`.
    A frame larger than the whole budget keeps only its tail."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._frames: deque[Frame] = deque()
        self.bytes = 0
        self.last_seq = 0

    def append(self, frame: Frame) -> None:
        if frame.size > self.max_bytes:
            tail = frame.data[-self.max_bytes :]
            frame = Frame(frame.seq, tail, len(tail.encode("utf-8", "surrogatepass")))
        self._frames.append(frame)
        self.last_seq = frame.seq
        self.bytes += frame.size
        while self.bytes > self.max_bytes and len(self._frames) > 1:
            self.bytes -= self._frames.popleft().size

    def trim(self, max_bytes: int) -> int:
        """Drop the oldest frames until at most `max_bytes` are held (under memory pressure:
        the daemon's budget); returns the bytes freed."""
        freed = 0
        while self.bytes > max_bytes and self._frames:
            size = self._frames.popleft().size
            self.bytes -= size
            freed += size
        return freed

    @property
    def first_seq(self) -> int:
        """The oldest seq still held (the next one to come when empty)."""
        return self._frames[0].seq if self._frames else 0

    def since(self, seq: int) -> tuple[list[Frame], int]:
        """The frames after `seq` still held, and how many after it are gone from the ring."""
        if not self._frames:
            return [], max(0, self.last_seq - seq)
        first = self._frames[0].seq
        skip = max(0, seq + 1 - first)
        lost = max(0, first - seq - 1)
        return list(itertools.islice(self._frames, skip, None)), lost

    def __len__(self) -> int:
        return len(self._frames)
