"""Views: neutralising control sequences, Markdown block splitting, the live answer view."""

from __future__ import annotations

import io
import random
import subprocess
import sys

import pytest
from rich.console import Console

from tutor_cli.pricing import UsageTotals
from tutor_cli.store import SessionRecord
from tutor_cli.views.answer import AnswerView, LiveAnswerView, MarkdownBlocks
from tutor_cli.views.text import neutralise
from tutor_cli.views.transcript import print_sessions_table

SAMPLE = (
    "# Fractions\n\nA fraction has a **numerator** and a denominator.\n\n"
    "1. Find a common denominator.\n2. Add the numerators.\n\n"
    "```python\nfrom fractions import Fraction\n\nprint(Fraction(1, 2) + Fraction(1, 3))\n```\n\n"
    "| a | b |\n|---|---|\n| 1 | 2 |\n\n> A quote.\n\nDone?\n"
)


def test_the_views_load_no_store_backend() -> None:
    """Views are handed records: importing every view loads no store backend (nor its driver)."""
    probe = (
        "import sys, pkgutil, importlib, tutor_cli.views as v\n"
        "for m in pkgutil.iter_modules(v.__path__): importlib.import_module(f'tutor_cli.views.{m.name}')\n"
        "bad = {'psycopg', 'tutor_cli.store.sqlite', 'tutor_cli.store.postgres'} & set(sys.modules)\n"
        "print(sorted(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\x1b[2Jb", "ab"),
        ("title\x1b]0;pwned\x07end", "titleend"),
        ("link \x1b]8;;http://x\x1b\\text\x1b]8;;\x1b\\", "link text"),
        ("bell\x07 back\x08space", "bell backspace"),
        ("8-bit \x9b31m csi", "8-bit  csi"),
        ("keep\ttabs\nand newlines", "keep\ttabs\nand newlines"),
        ("emoji 🙂 and 中文 stay", "emoji 🙂 and 中文 stay"),
        ("dcs \x1bPq#0;2;0;0;0\x1b\\ end", "dcs  end"),
    ],
)
def test_neutralise_removes_control_sequences_only(raw: str, shown: str) -> None:
    assert neutralise(raw) == shown


def test_blocks_reassemble_to_the_original_whatever_the_chunking() -> None:
    rng = random.Random(7)
    for _ in range(50):
        blocks = MarkdownBlocks()
        out: list[str] = []
        position = 0
        while position < len(SAMPLE):
            step = rng.randint(1, 12)
            out += blocks.feed(SAMPLE[position : position + step])
            position += step
        out.append(blocks.flush())
        assert "".join(out) == SAMPLE


def test_blocks_never_split_inside_a_code_fence() -> None:
    blocks = MarkdownBlocks()
    finished = blocks.feed(SAMPLE)
    code = [b for b in finished if "from fractions" in b]
    assert len(code) == 1 and code[0].startswith("```python") and code[0].rstrip().endswith("```")


def test_a_long_code_fence_is_cut_into_closed_fences_so_the_live_tail_stays_small() -> None:
    text = "```python\n" + "".join(f"x_{i} = {i}\n" for i in range(200)) + "```\n"
    blocks = MarkdownBlocks()
    finished = blocks.feed(text)
    assert len(finished) > 5
    assert all(b.startswith("```python\n") and b.endswith("```\n") for b in finished)
    assert len(blocks.tail) < 2000


def render_stream(text: str, chunk: int = 7, terminal: bool = False) -> str:
    """Stream into a console; without a terminal the live tail is not drawn, only what is printed."""
    file = io.StringIO()
    console = Console(file=file, width=80, force_terminal=terminal, color_system="truecolor" if terminal else None)
    view = LiveAnswerView(console)
    view.start()
    view.reasoning("First, recall what a fraction is.\nThen add.")
    for start in range(0, len(text), chunk):
        view.content(text[start : start + chunk])
    view.finish()
    return file.getvalue()


def test_live_view_renders_markdown_once_with_reasoning_above() -> None:
    plain = render_stream(SAMPLE)
    assert "Fractions" in plain and "# Fractions" not in plain  # heading rendered, not raw
    assert plain.index("recall what a fraction is") < plain.index("Fractions")
    assert "Fraction(1, 2)" in plain
    assert plain.count("A fraction has a") == 1  # each finished block printed once
    assert plain.count("Then add.") == 1


def test_live_view_on_a_terminal_draws_styles_and_the_whole_answer() -> None:
    rendered = render_stream(SAMPLE, terminal=True)
    assert "\x1b[" in rendered
    plain = neutralise(rendered)
    assert "Done?" in plain and "numerator" in plain


def test_live_view_shows_console_markup_literally() -> None:
    plain = neutralise(render_stream("Use [bold red]this[/bold red] literally.\n"))
    assert "[bold red]this[/bold red]" in plain


def test_plain_view_writes_text_as_it_arrives_without_escapes() -> None:
    out = io.StringIO()
    view = AnswerView(out)
    view.start()
    view.reasoning("hidden")
    view.content("**bold** \x1b[1mtext")
    view.finish()
    assert out.getvalue() == "**bold** text\n"


def _sessions_table(width: int, student_id: str | None) -> list[str]:
    import time

    used = UsageTotals()
    used.add({"prompt_tokens": 1_234_567, "completion_tokens": 45_678, "cache_hit_tokens": 1_000_000}, 1.2345)
    now = time.time()
    rows = [
        (SessionRecord("ada", "20261125-091502-3fa1", "p", now, now, 1234, "deepseek-v4-pro"), used),
        (SessionRecord("ada", "algebra-homework-week-12", "p", now, now, 4, "deepseek-flash"), UsageTotals()),
    ]
    out = io.StringIO()
    print_sessions_table(Console(file=out, width=width), rows, student_id)
    return out.getvalue().splitlines()


@pytest.mark.parametrize("student_id", ["ada", None])
def test_sessions_table_at_80_columns_keeps_every_header_and_id_whole(student_id) -> None:
    lines = _sessions_table(80, student_id)
    headers = ["Session", "Msgs", "Last used", "Model", "Tokens", "Cached", "Cost"]
    if student_id is None:
        headers.insert(0, "Student")
    header_line = next(line for line in lines if line.startswith(headers[0] + " "))
    assert [h for h in headers if h in header_line] == headers, header_line
    assert "…" not in "".join(lines)
    assert all(len(line) <= 80 for line in lines)
    assert any("20261125-091502-3fa1" in line for line in lines)  # a generated id on one line
    if student_id is not None:  # with no Student column there is room for a longer one too
        assert any("algebra-homework-week-12" in line for line in lines)
    assert "$1.2345" in "".join(lines) and "1.28M" in "".join(lines)


def test_sessions_table_on_a_wide_terminal_keeps_long_ids_on_one_line() -> None:
    lines = _sessions_table(120, "ada")
    assert any("algebra-homework-week-12" in line and "deepseek-flash" in line for line in lines)


@pytest.mark.parametrize("terminal", [False, True], ids=["pipe", "terminal"])
def test_live_view_shows_reasoning_markup_literally(terminal: bool) -> None:
    file = io.StringIO()
    console = Console(file=file, width=80, force_terminal=terminal, color_system="truecolor" if terminal else None)
    view = LiveAnswerView(console)
    view.start()
    reasoning = "Maybe [bold red]x[/bold red] is wrong.\nCheck [italic]y[/italic] too"
    for start in range(0, len(reasoning), 5):
        view.reasoning(reasoning[start : start + 5])
    view.content("Both are fine.\n")
    view.finish()
    plain = neutralise(file.getvalue())
    assert "Maybe [bold red]x[/bold red] is wrong." in plain  # a finished line
    assert "Check [italic]y[/italic] too" in plain  # the unfinished last line
