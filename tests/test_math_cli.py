"""Math on a real terminal (chat, show) and exact LaTeX everywhere else (pipes, files, the store)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import assert_no_traceback
from tests.fake_server import FakeServer, Reply
from tutor_cli import SessionManager

# Small chunks split formulas mid-command: "\fr" + "ac{", "\sq" + "rt{".
ANSWER = (
    "The roots are \\(x = \\frac{-b \\pm \\sqrt{b^2-4ac}}{2a}\\), and $x^2$ halves to $\\frac{1}{2}$.\n\n"
    "$$\n\\int_0^1 x^2\\,dx = \\frac{1}{3}\n$$\n\nIt costs $5 and $10. DONE\n"
)


def test_chat_draws_math_streamed_in_small_chunks(terminal, fake_server: FakeServer, home: Path) -> None:
    fake_server.reply(Reply(content=ANSWER, chunk_size=3, delay=0.005))
    term = terminal("chat")
    term.prompt()
    term.type("solve it")
    screen = term.expect("DONE")
    term.prompt()
    term.ctrl("d")
    assert term.finish() == 0
    assert "x²" in screen and "√(b²-4ac)" in screen and "½" in screen
    assert "╶─╴" in screen  # the display fraction is stacked
    assert "$5 and $10" in screen
    assert "\\frac" not in screen and "\\sqrt" not in screen and "$$" not in screen
    with SessionManager(home / "tutor.db") as manager:
        latest = manager.store.latest_session("ada")
        assert manager.store.get_messages("ada", latest.session_id)[-1].content == ANSWER  # stored exactly


def test_tutor_math_raw_shows_the_source_on_a_terminal(terminal, fake_server: FakeServer) -> None:
    fake_server.reply(Reply(content=ANSWER, chunk_size=3))
    term = terminal("chat", env={"TUTOR_MATH": "raw"})
    term.prompt()
    term.type("solve it")
    screen = term.expect("DONE")
    term.prompt()
    term.ctrl("d")
    assert term.finish() == 0
    assert "\\frac{1}{2}" in screen and "\\(x = " in screen and "½" not in screen


def test_ask_to_a_file_keeps_the_exact_latex(run_tutor, api_env, fake_server: FakeServer) -> None:
    fake_server.reply(Reply(content=ANSWER, chunk_size=3))
    result = run_tutor("ask", "solve it")
    assert_no_traceback(result)
    assert result.returncode == 0
    assert result.stdout == ANSWER


def test_an_unknown_tutor_math_is_one_sentence_and_exit_1(run_tutor, api_env) -> None:
    result = run_tutor("ask", "hi", env={"TUTOR_MATH": "pretty"})
    assert result.returncode == 1
    assert "TUTOR_MATH must be 'unicode' or 'raw'" in result.stderr
    assert_no_traceback(result)


def _stored_session(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    with SessionManager(home / "tutor.db") as manager:
        manager.create_session("ada", "maths", "prompt")
        manager.add_message("ada", "maths", "user", "What is half of one?")
        manager.add_message("ada", "maths", "assistant", ANSWER)


def test_show_on_a_terminal_draws_math(terminal, home: Path) -> None:
    _stored_session(home)
    term = terminal("show", "maths")
    screen = term.expect("DONE")
    assert term.finish() == 0
    assert "½" in screen and "√(b²-4ac)" in screen and "\\frac" not in screen


def test_show_in_a_pipe_and_as_markdown_keeps_the_exact_latex(run_tutor, home: Path) -> None:
    _stored_session(home)
    for args in (("show", "maths"), ("show", "maths", "--format", "markdown")):
        result = run_tutor(*args)
        assert result.returncode == 0
        assert ANSWER.rstrip("\n") in result.stdout
