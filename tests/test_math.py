"""Math a student can read: finding LaTeX in answers, drawing it as Unicode, streaming it.

The golden tests pin what texicode (pinned at 1.0.5) draws for us: rerun them before upgrading it.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections import Counter

import pytest
from rich.console import Console

from tutor_cli.views.answer import LiveAnswerView, MarkdownBlocks, answer_renderables
from tutor_cli.views.mathtext import code_regions, find_math, opens_display, pending_start, to_line, to_unicode

# Formulas in the style DeepSeek writes. display_only: drawn on several lines only (no one-line form).
CORPUS: list[tuple[str, bool]] = [
    (r"\frac{1}{2}+\frac{1}{3}=\frac{5}{6}", False),
    (r"x = \frac{-b \pm \sqrt{b^2-4ac}}{2a}", False),
    (r"\sqrt{b^2-4ac}", False),
    (r"x^2 - 5x + 6 = 0", False),
    (r"(x-2)(x-3) = 0", False),
    (r"\frac{d}{dx} x^3 = 3x^2", False),
    (r"f'(x) = 2x + 3", False),
    (r"\frac{d}{dx}\sin x = \cos x", False),
    (r"\frac{\partial f}{\partial y} = 2y", False),
    (r"\int_0^1 x^2\,dx = \frac{1}{3}", False),
    (r"\int_a^b f(x)\,dx = F(b) - F(a)", False),
    (r"\int x^n\,dx = \frac{x^{n+1}}{n+1} + C", False),
    (r"\lim_{x\to 0}\frac{\sin x}{x} = 1", False),
    (r"\lim_{n \to \infty} \left(1+\frac{1}{n}\right)^n = e", False),
    (r"\sum_{k=1}^{n} k = \frac{n(n+1)}{2}", False),
    (r"\sum_{i=0}^{\infty} \frac{1}{2^i} = 2", False),
    (r"\prod_{i=1}^{n} i = n!", False),
    (r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}", True),
    (r"\begin{bmatrix} a & b \\ c & d \end{bmatrix}^{-1}", True),
    (r"\det\begin{vmatrix} a & b \\ c & d \end{vmatrix} = ad - bc", True),
    (r"|x| = \begin{cases} x & \text{if } x \ge 0 \\ -x & \text{if } x < 0 \end{cases}", True),
    (r"\begin{aligned} 2x + 3 &= 7 \\ 2x &= 4 \\ x &= 2 \end{aligned}", True),
    (r"\alpha + \beta + \gamma = 180^\circ", False),
    (r"\theta = \frac{\pi}{4}", False),
    (r"\Delta y = m \cdot \Delta x", False),
    (r"\sigma^2 = \frac{1}{N}\sum_{i=1}^{N}(x_i - \mu)^2", False),
    (r"\boxed{x = 3}", False),
    (r"\boxed{x_1 = 2,\ x_2 = 3}", False),
    (r"\text{area} = \pi r^2", False),
    (r"6 \times 7 = 42", False),
    (r"a \cdot b = |a||b|\cos\theta", False),
    (r"x = 3 \pm 2", False),
    (r"x \le 5", False),
    (r"x \neq 0", False),
    (r"\pi \approx 3.14159", False),
    (r"\lim_{x \to \infty} \frac{1}{x} = 0", False),
    (r"a^2 + b^2 = c^2", False),
    (r"e^{i\pi} + 1 = 0", False),
    (r"\log_2 8 = 3", False),
    (r"x_1, x_2 = \frac{5 \pm 1}{2}", False),
    (r"A \implies B", False),
    (r"\overline{z} = a - bi", False),
    (r"\frac{\cancel{2}x}{\cancel{2}} = x", False),
    (r"\underbrace{a + a + a}_{3\text{ times}} = 3a", False),
    (r"E = mc^2 \tag{1}", False),
    (r"\operatorname{lcm}(4, 6) = 12", False),
    (r"\binom{5}{2} = 10", False),
    (r"\sqrt[3]{27} = 3", False),
    (r"\vec{v} = (1, 2)", False),
    (r"\mathbb{R}^2", False),
    (r"2x + 3 \geq 7 \iff x \ge 2", False),
    (r"\frac{a+b}{2} \ge \sqrt{ab}", False),
]


def _letters_and_digits(tex: str) -> Counter[str]:
    """The digits and variable letters of a formula: the source without command and environment names."""
    tex = re.sub(r"\\(begin|end)\{[a-z*]+\}", "", tex)
    tex = re.sub(r"\\[A-Za-z]+", "", tex)
    return Counter(c for c in tex if c.isalnum())


def _shown(rows: tuple[str, ...]) -> Counter[str]:
    text = unicodedata.normalize("NFKC", "".join(rows))  # ² → 2, ₙ → n, ½ → 1⁄2, 𝐯 → v
    return Counter(c for c in text if c.isalnum())


def test_the_corpus_holds_at_least_40_formulas() -> None:
    assert len(CORPUS) >= 40


@pytest.mark.parametrize(("tex", "display_only"), CORPUS, ids=[tex for tex, _ in CORPUS])
def test_every_corpus_formula_is_drawn_with_all_its_digits_and_letters(tex: str, display_only: bool) -> None:
    forms = [to_unicode(tex, True)]
    if not display_only:
        forms.append(to_unicode(tex, False))
    for rows in forms:
        assert rows is not None, tex
        assert not any("\\" in row for row in rows), rows  # no backslash command left
        assert not any("?" in row for row in rows), rows  # no texicode placeholder
        missing = _letters_and_digits(tex) - _shown(rows)
        assert not missing, (tex, rows, missing)
    if not display_only:
        assert len(forms[1]) == 1  # inline math is one line


@pytest.mark.parametrize(
    ("tex", "line"),
    [
        (r"x^2", "x²"),
        (r"a_n", "aₙ"),
        (r"\frac{1}{2}+\frac{1}{3}=\frac{5}{6}", "½+⅓=⅚"),
        (r"\sqrt{b^2-4ac}", "√(b²-4ac)"),
        (r"x = \frac{-b \pm \sqrt{b^2-4ac}}{2a}", "x=(-b±√(b²-4ac))/(2a)"),
        (r"\frac{a+b}{2}", "(a+b)/2"),
        (r"\frac{x}{y}", "x/y"),
        (r"A \implies B", "A⇒B"),
        (r"\boxed{x = 3}", "[x=3]"),
        (r"\int_0^1 x^2\,dx", "∫₀¹x² dx"),
        (r"\sum_{k=1}^{n} k", "∑ₖ₌₁ⁿk"),
        (r"e^{i\pi}", "e^(iπ)"),
        (r"x \le 5,\ y \neq 0,\ \pi \approx 3.14", "x≤5, y≠0, π≈3.14"),
        (r"6 \times 7 \cdot 2 \pm 1", "6×7⋅2±1"),
        (r"\text{area} = \pi r^2", "area=πr²"),
        (r"\overline{z}", "z̄"),
        (r"E = mc^2 \tag{1}", "E=mc²    (1)"),
    ],
)
def test_golden_one_line_forms(tex: str, line: str) -> None:
    assert to_line(tex) == line


@pytest.mark.parametrize(
    ("tex", "rows"),
    [
        (r"\frac{1}{2}", (" 1", "╶─╴", " 2")),
        (r"\boxed{x = 3}", ("┌─────┐", "│ x=3 │", "└─────┘")),
        (r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}", ("⎛1 2⎞", "⎝3 4⎠")),
        (r"\begin{aligned} 2x &= 4 \\ x &= 2 \end{aligned}", ("2x=4", " x=2")),
        (r"\int_0^1 x^2\,dx", ("⌠¹", "│ x² dx", "⌡₀")),
        (
            r"f(x) = \begin{cases} x & x \ge 0 \\ -x & x < 0 \end{cases}",
            ("     ⎧x   x≥0", "f(x)=⎩-x  x<0"),
        ),
    ],
)
def test_golden_display_forms(tex: str, rows: tuple[str, ...]) -> None:
    assert to_unicode(tex, True) == rows


@pytest.mark.parametrize(
    "tex",
    [r"\frac{1}{", r"\color{red}{x}", r"\unknowncommand x", "x = 3 € 4", r"\begin{foo} x", "\\frac\\\nx", "x \\"],
)
def test_what_cannot_be_drawn_comes_back_as_none_never_an_error(tex: str) -> None:
    assert to_unicode(tex, True) is None or not any("?" in row or "\\" in row for row in to_unicode(tex, True))
    assert to_line(tex) is None or ("?" not in to_line(tex) and "\\" not in to_line(tex))


def test_a_backslash_before_a_line_break_in_a_formula_shows_the_source_in_every_view() -> None:
    text = "Look: $\\frac\\\nx$ and $$\\frac\\\ny$$ done."
    console = Console(file=io.StringIO(), width=80, force_terminal=True)
    view = LiveAnswerView(console, math=True)
    view.start()
    view.content(text)
    view.finish()
    shown = console.file.getvalue()
    assert "Look:" in shown and "done." in shown


# --- finding formulas ---------------------------------------------------------------------------


def _found(text: str, final: bool = True) -> list[str]:
    return [text[s.start : s.end] for s in find_math(text, final=final)]


@pytest.mark.parametrize(
    "text",
    [
        "It costs $5 and $10.",
        "Between $5 and $10, or $20.",
        "Run `echo $HOME` or see $HOME and $PATH.",
        "Inline code `$x$` and `` $y$ `` is code.",
        "```bash\necho $x$ and $$y$$\n```\n",
        "~~~\n\\(x\\) \\[y\\]\n~~~\n",
        "Escaped \\$5 and \\$x\\$ are dollars.",
        "A price $ 5 and 6 $ with spaces.",
        "It costs $5 and `$HOME` is set.",
        "Greek \\Xi costs $5, and then a stray \\].",  # only `\(` and `\[` open a formula
        "a $x\n~~~\ny$\n~~~\n\nmore",  # no formula runs into a code block, even one a blank line ends
        "$a\n\nb$ and `c`",  # nor across a blank line, whatever follows it
        "a\nb\nc\nd\ne\n```\n$x$\n```\n",  # a fence below other lines is still code
    ],
)
def test_not_math(text: str) -> None:
    assert _found(text) == []


def test_each_delimiter_is_found() -> None:
    text = "Inline $x^2$ and \\(y\\), display $$a$$ and\n\\[\nb\n\\]\n"
    assert _found(text) == ["$x^2$", "\\(y\\)", "$$a$$", "\\[\nb\n\\]"]
    assert [s.display for s in find_math(text)] == [False, False, True, True]


def test_a_lone_dollar_never_swallows_the_rest_of_the_answer() -> None:
    text = "It costs $5.\n\nThen we solve $x^2 = 4$.\n\n" + "More text. " * 50
    assert _found(text) == ["$x^2 = 4$"]
    assert _found("Pay $ now " + "and more " * 100) == []


def test_a_formula_never_runs_across_a_blank_line() -> None:
    assert _found("$$ x\n\ny $$") == [] and _found("$a\n\nb$") == []


def test_money_after_math_and_math_after_money() -> None:
    assert _found("If $x=2$ it costs $5 and $10.") == ["$x=2$"]


@pytest.mark.parametrize("final", [True, False])
def test_a_dollar_followed_by_a_digit_closes_no_formula(final: bool) -> None:
    # pandoc's rule: "$5 and$10" is money, though its second `$` has no space before it.
    assert _found("between $5 and$10 a week", final=final) == []
    assert _found("pay $x$5 now", final=final) == []
    assert _found("between $5 and$10 a week, while $y$ is math.", final=final) == ["$y$"]


def test_a_closing_dollar_at_the_end_of_a_growing_stream_waits_for_the_next_character() -> None:
    assert _found("so $x$", final=False) == []  # "$x$5" would not be a formula
    assert _found("so $x$ ", final=False) == ["$x$"]
    assert _found("so $x$", final=True) == ["$x$"]


@pytest.mark.parametrize(
    ("text", "spans"),
    [
        ("a \\(x\\) b", [(2, 7, "x", False)]),
        ("\\[x\\]", [(0, 5, "x", True)]),
        ("x \\(a\\) y \\[b\\] z", [(2, 7, "a", False), (10, 15, "b", True)]),
        ("\\(x\\)\\(y\\)", [(0, 5, "x", False), (5, 10, "y", False)]),
        ("$x$ $y$", [(0, 3, "x", False), (4, 7, "y", False)]),
        ("$$x$$ and $$y$$", [(0, 5, "x", True), (10, 15, "y", True)]),
        ("a$b$c", [(1, 4, "b", False)]),
        ("$5$", [(0, 3, "5", False)]),
        ("$x$$y$", []),  # a closing `$` right before another is no closer
        ("$ x$", []),
        ("$x $", []),
        ("$x$5 and $y$", [(9, 12, "y", False)]),
        ("pay $x$5", []),  # the digit may be the text's last character
        ("$$$[$", [(2, 5, "[", False)]),  # an empty `$$ $$` is none, the `$` after it may open
        ("$5$($", [(0, 3, "5", False)]),
        # Escapes: an odd run of backslashes escapes, an even one is backslashes.
        ("$a\\$b$", [(0, 6, "a\\$b", False)]),
        ("$a\\\\$ b", [(0, 5, "a\\\\", False)]),
        ("$$a\\$$b$$", [(0, 9, "a\\$$b", True)]),
        ("$\\$$ $y$", [(0, 4, "\\$", False), (5, 8, "y", False)]),
        ("\\$5 and $x$", [(8, 11, "x", False)]),
        ("\\(a\\\\)", []),
        ("\\\\(x\\)", []),
        # Empty formulas are none; what follows is still read.
        ("$$ $$", []),
        ("$$ $$x$$", [(3, 8, "x", True)]),
        ("\\( \\) $y$", [(6, 9, "y", False)]),
        ("\\(\\) x \\)", []),  # a formula closes at its first closer: this one is empty
        ("$$$$ x $$", [(2, 9, " x ", True)]),  # as with "$$$[$": the empty one is none, its closer may open
        # A backslash escapes one character only; a formula's text is never read again.
        ("\\$$x$", [(2, 5, "x", False)]),
        ("\\(a$\\) b$ c", [(0, 6, "a$", False)]),
        ("$$a$$$b$", [(0, 5, "a", True), (5, 8, "b", False)]),
        ("$$a$$\\(b\\)", [(0, 5, "a", True), (5, 10, "b", False)]),
        ("$a$\\(b\\)", [(0, 3, "a", False), (3, 8, "b", False)]),
        ("$x$\n```\ny\n```\n", [(0, 3, "x", False)]),  # a formula at the very start, a fence after it
        # Inline code: a run of backticks is closed only by a run of the same length.
        ("`$x$` and $y$", [(10, 13, "y", False)]),
        ("``a ` $x$ `` $y$", [(13, 16, "y", False)]),
        ("`` a ``` b `` $y$", [(14, 17, "y", False)]),
        ("`` `$x$` `` $z$", [(12, 15, "z", False)]),
        ("` $x$", [(2, 5, "x", False)]),  # a lone backtick is a backtick
        ("` $x$\n```\ncode\n```\n", [(2, 5, "x", False)]),  # nor does a fence below close it
        ("`a` $x$ `b`", [(4, 7, "x", False)]),  # each code span ends at its first matching run
        ("$x`$` $y$", [(6, 9, "y", False)]),
        ("$a$ `b` $c$", [(0, 3, "a", False), (8, 11, "c", False)]),
        ("$$a `$$` b$$", []),
        ("\\(a `\\)` b\\)", []),
        ("$a\n\nb$ $c$", [(7, 10, "c", False)]),
        ("Run $`date` and $x$ with `bc`.", [(16, 19, "x", False)]),  # a `$` before code opens nothing
        # Nor by the tail of a longer run: "```" does not close "`" (CommonMark).
        ("`a ``` $x$ ` $y$", [(13, 16, "y", False)]),
        # A backtick fence's info string holds no backtick: such a line opens no code block.
        ("```x` and $y$\nmore", [(10, 13, "y", False)]),
        ("~~~x`\n$y$\n~~~\n", []),  # a tilde fence's may
    ],
)
def test_formulas_are_found_exactly_where_pandoc_finds_them(text: str, spans: list) -> None:
    assert [(s.start, s.end, s.tex, s.display) for s in find_math(text)] == spans


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("so $\\fr", 3),
        ("done $x$ then $y", 14),
        ("trailing $", 9),  # may open a formula: held until the next character
        ("trailing \\", 9),
        ("a \\(x", 2),
        ("a \\[x", 2),
        ("$$x", 0),
        ("text \\\\$x", 7),  # an escaped backslash, then a real opener
        ("$x \\", 0),  # a backslash at the very end escapes nothing before it
        ("\\$x \\", 4),
        ("so $x$", 3),  # growing: the closing `$` may yet be followed by a digit
        ("$5$($", 4),
        ("```\ncode\n```\n$x", 13),  # right after a closed fence
        ("`a\nb \\(x", 5),  # a backtick on an earlier line makes no inline code here
        ("`` ` `` $x", 8),  # inline code closes only with a run of the same length
        ("\\` $x", 3),  # an escaped backtick opens no inline code
        ("Money $5 is shown", None),
        ("a $ b", None),
        ("text \\$x", None),
        ("\\$x", None),
        ("\\\\\\$x", None),
        ("`$x` and", None),
        ("``$x`` and", None),
        ("`a ``` $x", None),  # "```" does not close "`": still inline code
        ("$x$ and `$y", None),
        ("```\n$x\n", None),
        ("$x\n\nmore", None),
        ("$x\n \nmore", None),  # a blank line may hold spaces or tabs
        ("$x\n\t\nmore", None),
        ("Cost $a\n\nSo $\\frac", 12),  # what opens after the blank line is held
        ("Type `$HOME`, then $\\frac{1", 19),  # inline code, then a formula
        ("First line.\nRun `ls`, then $\\frac{1", 27),
        ("Use `$HOME` here\nand more", None),
        ("So $\\frac{1}{2} or `x`", 3),  # a backtick after the formula is no inline code around it
        ("`a`$\\frac{1", 3),  # the code span ends right before it
        ("\\``a` $\\frac{1", 6),  # an escaped backtick, then a closed code span
        ("a \\` b `$HOME", None),  # an escaped backtick, then an open one
    ],
)
def test_a_live_view_holds_back_only_what_may_still_become_a_formula(text: str, start: int | None) -> None:
    assert pending_start(text) == start


@pytest.mark.parametrize(
    ("line", "before", "after"),
    [
        ("$$", None, "$$"),
        ("$$", "$$", None),
        ("a$$", None, "$$"),
        ("x $$a$$ y", None, None),
        ("$$ $$", None, None),
        ("$$x$$$$", None, "$$"),
        ("\\[", None, "\\["),
        ("\\[x", None, "\\["),
        ("a \\]", "\\[", None),
        ("\\]", "\\[", None),
        ("\\]", None, None),
        ("\\[x\\]\\[", None, "\\["),
        ("x\\[ $$", None, "\\["),  # `$$` inside \[ … \] is text
        ("$$", "\\[", "\\["),
        ("\\[", "$$", "$$"),
        ("`$$` code", None, None),
        ("``$$`` $$", None, "$$"),
        ("``a` $$ ``", None, None),  # a code span closes only with a run of the same length
        ("`a`` $$ `", None, None),
        ("\\`$$`", None, "$$"),  # an escaped backtick opens no code span
        ("\\``$$` text", None, None),  # … and the one after it may
        ("a \\` b `$$` c", None, None),
        ("`` a `$$` b", None, None),  # an unclosed run is backticks; a code span after it is still one
        ("$`a`$", None, None),  # no delimiter is made of the text around a code span
        ("\\$$", None, None),
        ("\\\\[", None, None),
        ("a\\", "$$", "$$"),
        ("\\]$$", "\\[", "$$"),
        ("\\alpha", "\\[", "\\["),  # a command inside \[ … \] closes nothing
    ],
)
def test_display_math_is_tracked_across_lines(line: str, before: str | None, after: str | None) -> None:
    assert opens_display(line, before) == after


def test_code_blocks_are_found_where_their_fences_are() -> None:
    text = "Some text\n```python\nx = 1\n```\nmore\n~~~\nopen to the end"
    assert code_regions(text) == [(10, 30), (35, len(text))]
    assert text[10:30] == "```python\nx = 1\n```\n"


# --- rendering through the views ------------------------------------------------------------------

ANSWER = (
    "## Solving $x^2-5x+6=0$\n\n"
    "Use \\(x = \\frac{-b \\pm \\sqrt{b^2-4ac}}{2a}\\) with $a=1$, half is $\\frac{1}{2}$:\n\n"
    "$$\nx = \\frac{5 \\pm 1}{2}\n$$\n\n"
    "Money: $5 and $10, `$HOME`.\n\n"
    "\\[\n\\boxed{x = 3}\n\\]\n"
)


def _stream(text: str, chunk: int, math: bool = True, width: int = 80) -> str:
    console = Console(file=io.StringIO(), width=width, force_terminal=True, color_system=None)
    view = LiveAnswerView(console, math=math)
    for start in range(0, len(text), chunk):
        view.content(text[start : start + chunk])
    view.finish()
    return console.file.getvalue()


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 64])
def test_streamed_math_is_drawn_whatever_the_chunking(chunk: int) -> None:
    out = _stream(ANSWER, chunk)
    assert "x²-5x+6=0" in out
    assert "√(b²-4ac)" in out and "½" in out
    assert "╶───╴" in out and "│ x=3 │" in out  # stacked fraction, boxed answer
    assert "$5 and $10" in out and "$HOME" in out
    assert "\\frac" not in out and "\\(" not in out and "$$" not in out


def test_raw_shows_the_source_as_written_even_through_markdown() -> None:
    out = _stream(ANSWER, 4, math=False)
    assert "\\(x = \\frac{-b \\pm \\sqrt{b^2-4ac}}{2a}\\)" in out
    assert "$\\frac{1}{2}$" in out
    assert "√" not in out and "½" not in out


def test_markdown_would_mangle_the_source_we_keep_it() -> None:
    text = "$$\nx \\\\\n= y\n$$\n"  # Markdown alone makes `= y` a heading and eats a backslash
    out = _stream(text, 3, math=False)
    assert "x \\\\" in out and "= y" in out


def test_an_unclosed_formula_at_the_end_is_shown_as_written() -> None:
    out = _stream("So the answer is $\\frac{1}{2", 3)
    assert "$\\frac{1}{2" in out


def test_the_live_tail_shows_no_half_drawn_formula() -> None:
    console = Console(file=io.StringIO(), width=80, force_terminal=True, color_system=None)
    for partial, drawn in [("so $\\fr", False), ("so $\\frac{1}{2}", False), ("so $\\frac{1}{2}$ ", True)]:
        parts = answer_renderables(partial, math=True, width=80, final=False)
        console.file = io.StringIO()
        for part in parts:
            console.print(part)
        assert ("½" in console.file.getvalue()) is drawn, partial


def test_a_wide_display_formula_falls_back_to_one_line() -> None:
    tex = " + ".join(f"\\frac{{{i}}}{{x_{i}}}" for i in range(1, 12))
    out = _stream(f"$$\n{tex}\n$$\n", 5, width=40)
    assert "1/x₁" in out and "╶" not in out


def test_an_open_display_formula_is_not_cut_while_it_grows() -> None:
    body = "".join(f"a_{{{i}}} + b_{{{i}}} \\\\\n" for i in range(120))
    text = "$$\n\\begin{aligned}\n" + body + "\\end{aligned}\n$$\n\nAfter.\n"
    assert len(body) > 1500
    blocks = MarkdownBlocks()
    finished = []
    for start in range(0, len(text), 9):
        finished += blocks.feed(text[start : start + 9])
    finished.append(blocks.flush())
    assert "".join(finished) == text
    assert any(b.startswith("$$") and b.rstrip().endswith("$$") for b in finished)


def test_the_live_region_holds_back_a_formula_until_it_closes() -> None:
    view = LiveAnswerView(Console(file=io.StringIO(), width=80, force_terminal=True), math=True)
    view.content("Money $5 is shown, and so $\\fr")
    assert view.unprinted == "Money $5 is shown, and so "
    view.content("ac{1}{2}$ is done")
    assert view.unprinted.endswith("$\\frac{1}{2}$ is done")
