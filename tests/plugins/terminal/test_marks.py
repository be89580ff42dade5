"""OSC 133 / 633 marks in output, however the frames cut them."""

from __future__ import annotations

import itertools

from aegisd_terminal.marks import MarkScanner, plain_text, unescape_command
from hypothesis import given
from hypothesis import strategies as st

RUN = (
    "\x1b]633;E;\t ls -l \\x3b echo\x07\x1b]133;C\x07file\r\n\x1b[31mred\x1b[0m\r\n\x1b]133;D;2\x07"
)


def test_a_command_and_its_end() -> None:
    scanner = MarkScanner()
    done = scanner.feed("\x1b]133;A\x07$ \x1b]133;B\x07" + RUN + "\x1b]133;A\x07$ ")
    assert scanner.started == ["ls -l ; echo"]
    assert [(f.command, f.exit_code, f.output_tail) for f in done] == [
        ("ls -l ; echo", 2, "file\nred\n")
    ]


def test_marks_cut_between_frames_and_st_terminators() -> None:
    scanner = MarkScanner()
    text = RUN.replace("\x07\x1b]133;C\x07", "\x1b\\\x1b]133;C\x1b\\")
    finished = []
    for start in range(0, len(text), 3):
        finished += scanner.feed(text[start : start + 3])
    assert [(f.command, f.exit_code) for f in finished] == [("ls -l ; echo", 2)]


def test_an_end_without_a_start_is_no_command() -> None:
    scanner = MarkScanner()
    assert scanner.feed("\x1b]133;D;0\x07\x1b]133;A\x07prompt") == []
    assert scanner.ended(0) is None


def test_the_tail_is_capped() -> None:
    scanner = MarkScanner(tail_chars=100)
    scanner.feed("\x1b]133;C\x07")
    for n in range(2000):
        scanner.feed(f"line {n}\r\n")
    done = scanner.feed("\x1b]133;D;0\x07")
    assert len(done[0].output_tail) <= 100 and done[0].output_tail.endswith("line 1999\n")


ZSH_FLOOD = (
    "\x1b]133;C\x07"
    + "".join(f"{n}\r\n" for n in range(1, 3001))
    + "\x1b[1m\x1b[7m#\x1b[27m\x1b[1m\x1b[0m"  # zsh's PROMPT_SP, then the end mark
    + " " * 79
    + "\r \r\x1b]133;D;0\x07\x1b]133;A\x07"
)


def _tail(frames: list[str]) -> str:
    scanner = MarkScanner(tail_chars=4096)
    done = [f for frame in frames for f in scanner.feed(frame)]
    assert len(done) == 1
    return done[0].output_tail


def test_a_short_frame_after_a_flood_keeps_the_floods_tail() -> None:
    # Issue 21: under load a flood arrives as one big frame and zsh's PROMPT_SP as a small
    # one; the small frame used to push the big one out of the kept output, leaving no tail.
    split = ZSH_FLOOD.index("\x1b[1m")
    tail = _tail([ZSH_FLOOD[:split], ZSH_FLOOD[split:]])
    assert tail.endswith("2999\n3000\n") and len(tail) == 4096


@given(st.lists(st.integers(min_value=0, max_value=len(ZSH_FLOOD)), max_size=8))
def test_the_tail_does_not_depend_on_how_frames_cut_the_output(cuts: list[int]) -> None:
    points = [0, *sorted(cuts), len(ZSH_FLOOD)]
    frames = [ZSH_FLOOD[a:b] for a, b in itertools.pairwise(points)]
    assert _tail(frames) == _tail([ZSH_FLOOD])


def test_plain_text_and_unescaping() -> None:
    assert plain_text("\x1b[1;32mok\x1b[0m\r\n\x1b]0;title\x07x") == "ok\nx"
    assert unescape_command("a\\\\b\\x0ac") == "a\\b\nc"


def test_a_line_rewritten_after_a_carriage_return_keeps_its_last_text() -> None:
    assert plain_text("10%\r50%\r100%\r\ndone") == "100%\ndone"
    # zsh's PROMPT_SP: a reverse-video mark, spaces, then CR, space, CR before the prompt
    assert plain_text("3000\r\n\x1b[1m\x1b[7m%\x1b[27m\x1b[0m" + " " * 79 + "\r \r") == "3000\n"
