"""Lines joined into one string, searched in C (``str.find``, ``re``) instead of line by line
in Python: the code map's search keeps its names this way (`search`)."""

from __future__ import annotations

import re
from array import array
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from itertools import accumulate

_OFFSET = "i"  # line starts: 4 bytes each (a group's joined names stay far below 2 GiB)


class Blob:
    """Lines joined as ``\\n a \\n b \\n``; ``starts[i]`` is where line ``i`` begins."""

    def __init__(self, lines: list[str]) -> None:
        self.text = "\n" + "\n".join(lines) + "\n"
        # A C int array, not a list: a list holds an int object per line (8x the memory).
        self.starts = array(_OFFSET, accumulate((len(line) + 1 for line in lines), initial=1))
        self._counts: dict[str, int] = {}

    def find_all(self, needle: str) -> Iterator[int]:
        """Lines containing ``needle`` (a leading ``\\n`` anchors it to the line start)."""
        lead = needle.startswith("\n")
        find, starts = self.text.find, self.starts
        last = len(starts) - 1  # starts ends with the end of the text
        position = find(needle)
        while position >= 0:
            index = bisect_right(starts, position + lead) - 1
            if index >= last:  # the final newline, found by a bare "\n" needle
                return
            yield index
            position = find(needle, starts[index + 1] - 1)

    def scan(self, pattern: re.Pattern[str]) -> Iterator[int]:
        """Lines where ``pattern`` matches (a line may repeat)."""
        starts = self.starts
        for match in pattern.finditer(self.text):
            yield bisect_right(starts, match.start() + (match.group()[:1] == "\n")) - 1

    def line(self, index: int) -> str:
        return self.text[self.starts[index] : self.starts[index + 1] - 1]

    def lines(self) -> list[str]:
        return self.text[1:-1].split("\n")

    def spliced(self, edits: Sequence[tuple[int, object]], added: list[str]) -> Blob:
        """A copy with the edits applied: (old line index, None) drops that line, (old line
        index, row) puts the next of `added` before it; `edits` are in order."""
        text, starts = self.text, self.starts
        pieces = ["\n"]
        out = array(_OFFSET)
        length = 1  # of the new text so far
        at = 0  # the next old line not yet copied
        fresh = iter(added)

        def copy_to(end: int) -> None:
            nonlocal length
            if end <= at:
                return
            shift = length - starts[at]
            pieces.append(text[starts[at] : starts[end]])
            out.extend(starts[at:end] if not shift else (s + shift for s in starts[at:end]))
            length += starts[end] - starts[at]

        for index, row in edits:
            copy_to(index)
            if row is None:
                at = max(at, index + 1)
            else:
                at = max(at, index)
                line = next(fresh)
                pieces.append(line + "\n")
                out.append(length)
                length += len(line) + 1
        copy_to(len(starts) - 1)
        out.append(length)
        blob = Blob.__new__(Blob)
        blob.text, blob.starts, blob._counts = "".join(pieces), out, {}
        return blob

    def extended(self, lines: list[str]) -> Blob:
        """A copy with `lines` appended (the text copied in C: no line is split or joined
        again); counts already taken are carried over."""
        blob = Blob.__new__(Blob)
        added = "\n".join(lines) + "\n" if lines else ""
        blob.text = self.text[: self.starts[-1]] + added  # an empty blob's text is "\n\n"
        blob.starts = self.starts[:]
        blob.starts.extend(accumulate((len(line) + 1 for line in lines), initial=self.starts[-1]))
        del blob.starts[len(self.starts)]  # the old end, repeated as the first new start
        blob._counts = {char: n + added.count(char) for char, n in self._counts.items()}
        return blob

    def count(self, char: str) -> int:
        found = self._counts.get(char)
        if found is None:
            found = self._counts[char] = self.text.count(char)
        return found
