"""Ctrl-C while an answer streams, as the student's screen shows it: every line once.

The terminal's own output is fed to a terminal emulator (pyte), so what is compared is the screen,
not the bytes: a line the live region failed to erase shows up twice there."""

from __future__ import annotations

import time

import pexpect
import pyte

from tests.fake_server import Reply
from tests.test_review_terminal import ANSWER_PROMPT, NOW, import_deck

COLUMNS, ROWS = 100, 40
LINES = [f"Line {n:02d} of the answer, which streams slowly enough to be stopped half way." for n in range(1, 31)]
ANSWER = "\n\n".join(LINES) + "\n"


class Screen:
    """A pexpect child's output, as a VT100 screen of COLUMNS x ROWS with history."""

    def __init__(self, child: pexpect.spawn) -> None:
        self.child = child
        self.screen = pyte.HistoryScreen(COLUMNS, ROWS, history=2000)
        self.stream = pyte.Stream(self.screen)

    def pump(self, until: str, timeout: float = 15) -> None:
        """Feed output to the emulator until `until` is on the screen (or its history)."""
        deadline = time.monotonic() + timeout
        while until not in self.text():
            if time.monotonic() > deadline:
                raise AssertionError(f"{until!r} never appeared:\n{self.text()}")
            try:
                self.stream.feed(self.child.read_nonblocking(65536, timeout=0.1))
            except pexpect.TIMEOUT:
                continue

    def settle(self, seconds: float = 0.5) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.stream.feed(self.child.read_nonblocking(65536, timeout=0.05))
            except pexpect.TIMEOUT:
                pass

    def lines(self) -> list[str]:
        history = ["".join(char.data for char in line.values()) for line in self.screen.history.top]
        return [line.rstrip() for line in history + list(self.screen.display)]

    def text(self) -> str:
        return "\n".join(self.lines())


def spawn(terminal, *args: str, env: dict[str, str] | None = None) -> Screen:
    term = terminal(*args, env={"COLUMNS": str(COLUMNS), "LINES": str(ROWS), **(env or {})})
    term.child.setwinsize(ROWS, COLUMNS)
    return Screen(term.child)


def assert_each_answer_line_once(screen: Screen) -> None:
    lines = screen.lines()
    shown = [line for line in LINES if any(line in row for row in lines)]
    assert len(shown) >= 2, screen.text()  # it was stopped part way, after some lines
    for line in shown:
        assert sum(line in row for row in lines) == 1, f"{line!r} twice:\n{screen.text()}"


def test_ctrl_c_in_the_chat_leaves_each_line_of_the_answer_on_screen_once(terminal, fake_server) -> None:
    fake_server.reply(Reply(content=ANSWER, chunk_size=20, delay=0.05))
    screen = spawn(terminal, "chat")
    screen.pump("you ›")
    screen.child.send("Tell me a long story\r")
    screen.pump(LINES[5])
    screen.child.sendcontrol("c")
    screen.pump("(stopped)")
    screen.settle()
    assert_each_answer_line_once(screen)
    screen.child.sendcontrol("d")


def test_ctrl_c_in_the_reviews_feedback_leaves_each_line_on_screen_once(
    terminal, run_tutor, fake_server, tmp_path
) -> None:
    import_deck(run_tutor, tmp_path)
    fake_server.reply(Reply(content=ANSWER, chunk_size=20, delay=0.05))
    screen = spawn(terminal, "review", env=NOW)
    screen.pump(ANSWER_PROMPT)
    screen.child.send("4\r")
    screen.pump(LINES[5])
    screen.child.sendcontrol("c")
    screen.pump("(feedback stopped)")
    screen.settle()
    assert_each_answer_line_once(screen)
    screen.child.send("q")
