"""The answer guard (CONTRACT, "Problems": the answer stays unsaid): every way a reply can state the key's
answer is stopped, at every chunk size a stream may use; guiding replies pass whole and on time."""

from __future__ import annotations

import pytest

from tutor_cli.guard import AnswerGuard

LEAKS = [
    ("math", "7/4", "Good start.\nSo $x = \\frac{7}{4}$.\nWell done!\n"),  # inline
    ("math", "7/4", "First add 3.\n$$x = \\frac{7}{4}$$\nCheck it.\n"),  # display on one line
    ("math", "7/4", "First add 3.\n$$\n4x = 7\n\\Rightarrow x = \\frac{7}{4}\n$$\nCheck it.\n"),  # display block
    ("math", "7/4", "So \\[ x = \\dfrac{7}{4} \\] and that is it.\n"),
    ("math", "7/4", "The answer: \\(\\boxed{\\frac{7}{4}}\\)\n"),  # boxed
    ("math", "7/4", "Hence \\boxed{7/4} in plain text.\n"),
    ("math", "7/4", "So x = 7/4 in the end.\n"),  # plain text
    ("math", "7/4", "In words: x is 1.75 here.\n"),
    ("math", "7/4", "As a mixed number, $x = 1\\tfrac{3}{4}$.\n"),
    ("math", "7/4", "```\nx = 7/4\n```\n"),  # in a code block
    ("math", "7/4", "That gives 1.75, nice.\n"),  # decimal in prose
    ("math", "7/4", "Without dollars: x = \\frac{7}{4}\n"),  # LaTeX outside delimiters
    ("math", "7/4", "$4x = 7 \\Rightarrow x = 1.75$\n"),  # decimal after a step
    ("math", "7/4", "The answer is **1.75**\n"),
    ("math", "7/4", "$\\frac{7}{4}$\n"),  # the value alone
    ("math", "7/4", "$$x = \\frac{14}{8} = \\frac{7}{4}$$"),  # a chain, no newline at the end
    ("math", "7/4", "We find $\\frac{7}{4} = x$.\n"),
    ("math", "x = 7/4", "so $x=1.75$\n"),
    ("math", "{2, 3}", "One root is $x = 3$.\n"),  # each element of a set as a final result
    ("math", "{2, 3}", "The roots: $x_1 = 2$ and the other\n"),
    ("math", "x = 2 or x = 3", "$x \\in \\{2, 3\\}$\n"),
    ("math", "x = 2 or x = 3", "So x = 2.\n"),
    ("math", "2x + 2", "That is $f(x) = 2 + 2x$.\n"),  # symbolic: the key's form
    ("math", "2x + 2", "$$2(x+1) = 2x + 2$$\n"),
    ("math", "x/2", "So $\\frac{x}{2}$ it is.\n"),
    ("choice", "b", "The answer is (b).\n"),
    ("choice", "b", "The answer is B.\n"),
    ("choice", "b", "Correct option: b)\n"),
    ("text", "photosynthesis", "It is called Photosynthesis, of course.\n"),
    ("choice", "b", "Look at them again.\nb)\n"),  # the letter alone on a later line of one piece
    ("math", "y = 2x + 2", "So $y = 2x + 2$.\n"),  # a named symbolic key: its right side's form
    ("math", "{X + 1, 2X}", "So $y = 2X$.\n"),  # a symbolic set key: each element's own form
    ("math", "x + y + 1", "So $f = 1 + x + y$.\n"),  # the same sum in another order
    ("math", "2x + 2", "So $y = x \\cdot 2 + 2$.\n"),  # a product in another order
    ("math", "7/4", "So $\\boxed{x = \\frac{7}{4}}$.\n"),  # a statement inside a box
    ("math", "7/4", "Hence \\boxed{\\frac{7}{4} = x} in plain text.\n"),
    ("math", "7/4", "Divide by 4: $\\frac{4x}{4}, \\text{so } x = \\frac{7}{4}$.\n"),  # after a step
    ("math", "7/4", "We get $\\frac{14}{8} = \\frac{7}{4} = x$.\n"),  # a chain ending in the name
    ("math", "x = 2 or x = 3", "The roots are {3, 2}, as you can check.\n"),  # a set in prose
    ("text", "light reactions", "These are the Light  Reactions.\n"),  # the key's words, any spacing
    ("math", "7/4", "Look:\n\\[\n\\frac{7}{4}\n\\]\nCheck it.\n"),  # a \\[ display is held whole too
]

PASSES = [
    ("math", "7/4", "Start with $4x - 3 = 4$. Add 3 to both sides: $4x = 7$.\nNow what do you divide by?\n"),
    ("math", "7/4", "Try $x = 2$: $4(2) - 3 = 5$, too big.\nWhat about a smaller number?\n"),
    ("math", "7/4", "It costs $5 and $10 a week, and 1/4 of it is tax.\n"),
    ("math", "7/4", "$$\n4x - 3 = 4\n$$\nWhat is your first step?\n"),
    ("math", "{2, 3}", "Factor: $(x-2)(x-3) = 0$.\nWhen is a product zero?\n"),
    ("math", "2", "Step 2: multiply both sides by 2.\n"),
    ("math", "2x + 2", "Expand $2(x + 1)$ term by term: what is $2 \\cdot x$?\n"),  # the problem's own form
    ("math", "2x + 2", "Is $2x + 1$ right? Check $x = 0$.\n"),
    ("choice", "a", "The answer is a number between 1 and 10.\n"),
    ("text", "photosynthesis", "Think about what plants do with light.\n"),
    ("math", "7/4", "Fill in $x =$ yourself.\n"),  # a blank is no value
    ("math", "7/4", "Put your result in \\boxed{ like this, then check it.\n"),  # an unclosed box: no error
    ("math", "7", "So $7 = 4x$, and now divide.\n"),  # a step: its right side is no name
    ("math", "x^2 + y^2 = r^2", "The radius squared is $r^2$ here.\n"),  # an equation key has no value
]


def stream(guard: AnswerGuard, reply: str, size: int) -> str:
    shown = "".join(guard.feed(reply[i : i + size]) for i in range(0, len(reply), size))
    return shown + guard.finish()


@pytest.mark.parametrize(("kind", "key", "reply"), LEAKS)
def test_a_reply_stating_the_answer_is_withheld_at_every_chunk_size(kind: str, key: str, reply: str) -> None:
    for size in range(1, 65):
        guard = AnswerGuard(kind, key)
        shown = stream(guard, reply, size)
        assert guard.withheld, (size, reply)
        assert guard.stated
        leaked = [
            part
            for part in ("7}{4}", "7/4", "1.75", "= 3", "= 2", "2 + 2x", "2x + 2", "frac{x}", "(b)", "B.", "b)")
            if part in shown
        ]
        assert not leaked, (size, shown)
        assert reply.startswith(shown)  # what was shown is the clean lines before the leak, untouched


@pytest.mark.parametrize(("kind", "key", "reply"), PASSES)
def test_a_guiding_reply_passes_whole_at_every_chunk_size(kind: str, key: str, reply: str) -> None:
    for size in range(1, 65):
        guard = AnswerGuard(kind, key)
        assert stream(guard, reply, size) == reply, size
        assert not guard.withheld


def test_nothing_after_the_leak_is_released() -> None:
    guard = AnswerGuard("math", "7/4")
    assert guard.feed("Nice work so far.\n") == "Nice work so far.\n"
    assert guard.feed("So $x = \\frac{7}{4}$.\n") == ""
    assert guard.feed("And here is why, step by step.\n") == ""
    assert guard.finish() == ""
    assert guard.withheld and guard.stated == "$x = \\frac{7}{4}$"


def test_a_line_is_released_as_soon_as_it_ends() -> None:
    guard = AnswerGuard("math", "7/4")
    assert guard.feed("Add 3 to both") == ""
    assert guard.feed(" sides.\nThen div") == "Add 3 to both sides.\n"
    assert guard.feed("ide.") == ""
    assert guard.finish() == "Then divide."


def test_a_formula_is_held_until_it_closes() -> None:
    guard = AnswerGuard("math", "7/4")
    assert guard.feed("Look:\n$$\n4x = 7\n") == "Look:\n"  # the open display waits for its end
    assert guard.feed("$$\nNext?\n") == "$$\n4x = 7\n$$\nNext?\n"
    guard = AnswerGuard("math", "7/4")
    assert guard.feed("Look:\n$$\nx = \\frac{7}{4}\n") == "Look:\n"
    assert guard.feed("$$\n") == ""
    assert guard.withheld


def test_the_lines_before_a_held_formula_are_released() -> None:
    guard = AnswerGuard("math", "7/4")
    assert guard.feed("Look.\nAnd look:\n$$\n4x = 7\n") == "Look.\nAnd look:\n"
    guard = AnswerGuard("math", "7/4")
    assert guard.feed("\n$$\n4x = 7\n") == "\n"


def test_a_formula_after_a_long_paragraph_is_still_held_until_it_closes() -> None:
    guard = AnswerGuard("math", "7/4")
    paragraph = "A long explanation of the method. " * 130 + "\n"  # over MAX_HELD characters in one line
    assert guard.feed(paragraph + "$$\n") == paragraph
    assert guard.feed("\\frac{7}{4}\n") == ""
    assert guard.feed("$$\n") == "" and guard.withheld


def test_a_formula_that_never_closes_is_checked_at_the_end() -> None:
    guard = AnswerGuard("math", "7/4")
    assert stream(guard, "Look:\n$$\nx = \\frac{7}{4}\n", 3) == "Look:\n"
    assert guard.withheld
    guard = AnswerGuard("math", "7/4")  # the value alone: only the open formula's check can see it
    assert stream(guard, "Look:\n$$\n\\frac{7}{4}\n", 3) == "Look:\n"
    assert guard.withheld


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def start(self) -> None:
        self.calls.append(("start", ""))

    def content(self, text: str) -> None:
        self.calls.append(("content", text))

    def reasoning(self, text: str) -> None:
        self.calls.append(("reasoning", text))

    def finish(self, note: str | None = None) -> None:
        self.calls.append(("finish", note or ""))


def test_the_reasoning_passes_through_a_guard_of_its_own() -> None:
    from tutor_cli.store.records import ProblemRecord
    from tutor_cli.work import GuardedSink

    problem = ProblemRecord(1, 1, "", "p1", 0, "Solve $4x - 3 = 4$.", "7/4", "math", (), (), None, None)
    view = Recorder()
    sink = GuardedSink.around(view, problem)
    sink.start()
    for piece in ("Let me solve it.\n4x = 7 so x = ", "7/4.\nNow guide.\n"):
        sink.reasoning(piece)
    for piece in ("What is your ", "first step?\n"):
        sink.content(piece)
    sink.finish()
    shown = "".join(text for kind, text in view.calls if kind in ("content", "reasoning"))
    assert "7/4" not in shown and "Let me solve it." in shown and "What is your first step?" in shown
    assert not sink.withheld  # the answer itself stated nothing: it is stored as usual


def test_the_problems_tolerance_counts_in_the_guard_as_in_the_checking() -> None:
    guard = AnswerGuard("math", "100", tolerance=0.01)  # 1%: 100.5 is the answer, 102 is another number
    assert guard.feed("Try $x = 102$.\n") == "Try $x = 102$.\n"
    assert guard.feed("So $x = 100.5$.\n") == "" and guard.withheld
    guard = AnswerGuard("math", "\\sqrt{2}", tolerance=0.0)  # exact: the same value still counts
    assert guard.feed("So $x = \\sqrt{2}$.\n") == "" and guard.withheld
