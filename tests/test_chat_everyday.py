"""Everyday use of the chat in a real terminal: titles, the recap of a resumed session, the spinner."""

from __future__ import annotations

import json

from tests.fake_server import Reply


def test_the_header_shows_the_title_and_slash_title_changes_it(terminal, run_tutor) -> None:
    term = terminal("chat", "--session", "algebra")
    term.prompt()
    term.ask("How do I solve two equations at once?")
    term.type("/title")
    term.expect("Title: How do I solve two equations at once?")
    term.prompt()
    term.type("/title   Simultaneous   equations ")
    term.expect("Title: Simultaneous equations")
    term.prompt()
    term.type("/title " + "x" * 130)
    term.expect("at most 120 characters")
    term.prompt()
    term.ctrl("d")
    assert term.finish() == 0
    sessions = json.loads(run_tutor("sessions", "-f", "json").stdout)
    assert [s["title"] for s in sessions] == ["Simultaneous equations"]
    again = terminal("chat", "--session", "algebra")
    again.expect("“Simultaneous equations” · session algebra (resumed, 2 messages)")
    again.prompt()
    again.ctrl("d")
    assert again.finish() == 0


def test_continuing_opens_with_a_recap_of_the_last_exchange(terminal) -> None:
    term = terminal("chat", "--session", "geo")
    term.prompt()
    term.ask("What is the area of a circle?")
    term.ask("And its circumference?")
    term.ctrl("d")
    assert term.finish() == 0
    again = terminal("chat", "-c")
    before = again.expect("you ›")
    assert "Last time you asked: And its circumference?" in before
    assert "The tutor answered: Answer to: And its circumference?" in before
    assert "asked: What is the area" not in before  # only the last exchange
    assert "\x1b[2m" in before  # dimmed
    again.ctrl("d")
    assert again.finish() == 0


def test_a_new_session_has_no_recap(terminal) -> None:
    term = terminal("chat")
    before = term.expect("you ›")
    assert "Last time" not in before
    term.ctrl("d")
    assert term.finish() == 0


def test_the_spinner_says_thinking_only_in_thinking_mode(terminal, fake_server) -> None:
    fake_server.reply(Reply(content="Plain answer.", first_delay=1.0), Reply(content="Deep answer.", first_delay=1.0))
    term = terminal("chat", "--no-thinking")
    term.prompt()
    term.type("Quick one?")
    shown = term.expect("Plain answer.")
    assert "waiting for the answer…" in shown and "thinking…" not in shown
    term.prompt()
    term.type("/thinking on")
    term.expect("Thinking: on")
    term.prompt()
    term.type("Deep one?")
    shown = term.expect("Deep answer.")
    assert "thinking…" in shown
    term.prompt()
    term.ctrl("d")
    assert term.finish() == 0
