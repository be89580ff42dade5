"""Shell integration marks in a terminal's output: OSC 133 (prompt, command, end with exit
code; FinalTerm's, as VS Code and iTerm2 use them) and VS Code's OSC 633;E (the command line).

`MarkScanner.feed` is given each output frame and returns the commands that ended in it; it
keeps the tail of each command's output (the text between its C and D marks), escape
sequences removed, at most `tail_chars`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

OSC = "\x1b]"
# An OSC sequence ends with BEL or ST (ESC \).
_MARK = re.compile(r"\x1b\](133|633);([^\x07\x1b]*)(?:\x07|\x1b\\)")
_ESCAPES = re.compile(
    r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC
    r"|\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b[@-Z\\-_]"  # other two-character escapes
    r"|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"  # control characters but tab, newline and CR
)
#: a partial sequence at the end of a frame waits for the next one, up to this long
_CARRY_MAX = 4096


def plain_text(text: str) -> str:
    """`text` as a terminal leaves it, roughly: escape sequences and control characters
    removed, and a line rewritten after a carriage return (a progress bar, zsh's mark of a
    missing newline) kept as last written."""
    lines = _ESCAPES.sub("", text.replace("\r\n", "\n")).split("\n")
    return "\n".join(line.rsplit("\r", 1)[-1] for line in lines)


def unescape_command(value: str) -> str:
    """OSC 633;E's command line: `\\\\` is a backslash, `\\xHH` a character."""
    return re.sub(
        r"\\(\\|x[0-9a-fA-F]{2})",
        lambda m: "\\" if m.group(1) == "\\" else chr(int(m.group(1)[1:], 16)),
        value,
    )


def _split_unfinished(text: str) -> tuple[str, str]:
    """`text` less an OSC sequence (or a lone ESC) its frame cut short, and that part."""
    start = text.rfind(OSC)
    if start != -1 and len(text) - start < _CARRY_MAX:
        body = text[start + 2 :]
        if "\x07" not in body and "\x1b\\" not in body:
            return text[:start], text[start:]
    if text.endswith("\x1b"):
        return text[:-1], "\x1b"
    return text, ""


@dataclass(frozen=True, slots=True)
class Finished:
    """A command that ran in the shell: its line, exit code, duration and output tail."""

    command: str
    exit_code: int | None
    duration_ms: int
    output_tail: str
    started: float  # time.time() at its C mark


class MarkScanner:
    def __init__(self, tail_chars: int = 4096) -> None:
        self.tail_chars = tail_chars
        self._carry = ""
        self._command = ""
        self._running_since: float | None = None
        self._started_wall = 0.0
        self._output: list[str] = []
        self._output_len = 0
        self.started: list[str] = []  # commands that started in the last frame fed

    def feed(self, text: str) -> list[Finished]:
        """Scan one output frame; returns the commands that ended in it (in order)."""
        self.started = []
        if self._carry:
            text, self._carry = self._carry + text, ""
        if "\x1b" not in text and self._running_since is None:
            return []
        finished: list[Finished] = []
        position = 0
        for match in _MARK.finditer(text):
            self._collect(text[position : match.start()])
            position = match.end()
            self._mark(match.group(1), match.group(2), finished)
        rest, self._carry = _split_unfinished(text[position:])
        self._collect(rest)
        return finished

    def _mark(self, kind: str, body: str, finished: list[Finished]) -> None:
        code, _, arg = body.partition(";")
        if kind == "633" and code == "E":
            self._command = unescape_command(arg).strip()
        elif kind != "133":
            return
        elif code == "C":
            self._running_since = time.monotonic()
            self._started_wall = time.time()
            self._output, self._output_len = [], 0
            self.started.append(self._command)
        elif code == "D" and self._running_since is not None:
            exit_code = int(arg) if arg.lstrip("-").isdigit() else None
            duration = round((time.monotonic() - self._running_since) * 1000)
            tail = plain_text("".join(self._output)).rstrip(" \t")[-self.tail_chars :]
            finished.append(Finished(self._command, exit_code, duration, tail, self._started_wall))
            self._running_since, self._command = None, ""
            self._output, self._output_len = [], 0

    def ended(self, exit_code: int | None) -> Finished | None:
        """The program exited: the command it was running (the shell's `exit`, or a kill)
        ends with it."""
        if self._running_since is None:
            return None
        marks: list[Finished] = []
        self._mark("133", f"D;{'' if exit_code is None else exit_code}", marks)
        return marks[0]

    def _collect(self, text: str) -> None:
        """Keep a running command's latest output (twice the tail: escapes are removed later)."""
        if self._running_since is None or not text:
            return
        keep = 2 * self.tail_chars
        self._output.append(text)
        self._output_len += len(text)
        # Drop whole chunks only while the rest still holds `keep`: a short chunk after a
        # long one (zsh's mark of a missing newline after a flood) must not take its place.
        while len(self._output) > 1 and self._output_len - len(self._output[0]) >= keep:
            self._output_len -= len(self._output.pop(0))
        if self._output_len > keep:
            excess = self._output_len - keep
            self._output[0] = self._output[0][excess:]
            self._output_len = keep
