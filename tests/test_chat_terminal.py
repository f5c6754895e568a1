"""The REPL in a real pseudo-terminal, typed at as a person would, against the fake server."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

from tests.fake_server import FakeServer, Reply
from tutor_cli import SessionManager


def stored(home: Path, student: str = "ada") -> list:
    with SessionManager(home / "tutor.db") as manager:
        latest = manager.store.latest_session(student)
        return manager.store.get_messages(student, latest.session_id)


def roles(request: dict) -> list[str]:
    return [m["role"] for m in request["body"]["messages"]]


def test_three_turns_then_resume_sends_the_earlier_turns(terminal, fake_server: FakeServer, home: Path) -> None:
    term = terminal("chat", "--session", "algebra")
    term.prompt()
    for question in ("first question", "second question", "third question"):
        term.type(question)
        term.expect(f"Answer to: {question}")
        term.prompt()
    term.ctrl("d")
    assert term.finish() == 0
    assert [m.content for m in stored(home)] == [
        "first question",
        "Answer to: first question",
        "second question",
        "Answer to: second question",
        "third question",
        "Answer to: third question",
    ]

    term = terminal("chat", "-c")
    term.expect("algebra")
    term.prompt()
    term.ask("fourth question")
    term.type("/exit")
    assert term.finish() == 0
    last = fake_server.chat_requests[-1]["body"]["messages"]
    assert [m["content"] for m in last[1:]] == [
        "first question",
        "Answer to: first question",
        "second question",
        "Answer to: second question",
        "third question",
        "Answer to: third question",
        "fourth question",
    ]
    assert last[0]["role"] == "system"


def stop_a_long_answer(term, fake_server) -> None:
    """Ask for a long, slow answer and press Ctrl-C once its first words are on screen."""
    fake_server.reply(content="word " * 400, chunk_size=5, delay=0.02)
    term.prompt()
    term.type("tell me a long story")
    term.expect("word word")
    term.ctrl("c")
    term.expect("(stopped)")
    term.prompt()


def test_ctrl_c_stops_the_answer_keeps_both_and_the_next_request_is_valid(terminal, fake_server, home) -> None:
    term = terminal("chat")
    stop_a_long_answer(term, fake_server)
    term.ask("shorter please")
    term.ctrl("d")
    assert term.finish() == 0
    messages = stored(home)
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[1].interrupted and messages[1].content.startswith("word word")
    assert len(messages[1].content) < len("word " * 400)
    assert not fake_server.refusals
    assert roles(fake_server.chat_requests[-1]) == ["system", "user", "assistant", "user"]


def test_ctrl_c_stops_an_answer_even_when_started_with_sigint_ignored(terminal, fake_server, home) -> None:
    """A background job of a non-interactive shell inherits SIGINT ignored; Ctrl-C must still work."""
    term = terminal("chat", preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    stop_a_long_answer(term, fake_server)
    term.ctrl("d")
    assert term.finish() == 0
    assert stored(home)[1].interrupted


def test_ctrl_c_at_the_prompt_clears_the_line_and_ctrl_d_leaves(terminal, fake_server) -> None:
    term = terminal("chat")
    term.prompt()
    term.send("half typed")
    term.ctrl("c")
    term.prompt()
    term.ask("real question")
    term.ctrl("d")
    assert term.finish() == 0
    assert fake_server.chat_requests[-1]["body"]["messages"][-1]["content"] == "real question"


def test_blank_input_sends_nothing(terminal, fake_server) -> None:
    term = terminal("chat")
    term.prompt()
    term.type("   ")
    term.prompt()
    term.type("/exit")
    assert term.finish() == 0
    assert fake_server.chat_requests == []


def test_an_api_error_is_one_sentence_and_the_question_is_kept(terminal, fake_server, home) -> None:
    fake_server.reply(Reply(status=402, error_message="Insufficient Balance"))
    term = terminal("chat")
    term.prompt()
    term.type("question one")
    term.expect("balance is used up")
    term.prompt()
    term.type("question two")
    term.expect("Answer to: question one")
    term.prompt()
    term.ctrl("d")
    assert term.finish() == 0
    assert "Traceback" not in term.screen
    assert not fake_server.refusals
    # The unanswered question is merged with the next one, so the history alternates.
    assert fake_server.chat_requests[-1]["body"]["messages"][1:] == [
        {"role": "user", "content": "question one\n\nquestion two"}
    ]
    assert [m.content for m in stored(home)][:2] == ["question one", "question two"]


def test_each_error_status_then_a_follow_up(terminal, fake_server) -> None:
    cases = [
        (401, "key was refused"),
        (400, "refused (400)"),
        (422, "refused (422)"),
        (429, "rate limit"),
        (500, "server failed"),
        (503, "overloaded"),
    ]
    term = terminal("chat")
    term.prompt()
    for status, words in cases:
        fake_server.reply(*[Reply(status=status, error_message="nope")] * 4)
        term.type(f"question for {status}")
        term.expect(words, timeout=20)
        term.prompt()
        fake_server.replies.clear()
    term.type("finally")
    term.expect("Answer to: question for 401")
    term.prompt()
    term.ctrl("d")
    assert term.finish() == 0
    assert not fake_server.refusals
    assert "sk-test" not in term.screen


def test_a_dropped_stream_keeps_the_partial_answer_and_retry_asks_again(terminal, fake_server, home) -> None:
    fake_server.reply(
        Reply(content="partial answer that will be cut off", chunk_size=8, drop_after=16),
        Reply(content="complete answer"),
    )
    term = terminal("chat")
    term.prompt()
    term.type("explain")
    term.expect("dropped")
    term.prompt()
    term.type("/retry")
    term.expect("complete answer")
    term.prompt()
    term.ctrl("d")
    assert term.finish() == 0
    messages = stored(home)
    assert [(m.role, m.interrupted) for m in messages] == [
        ("user", False),
        ("assistant", True),
        ("user", False),
        ("assistant", False),
    ]
    assert messages[1].content == "partial answer t"
    assert messages[2].content == "explain"
    assert not fake_server.refusals


def test_retry_of_an_unanswered_question_does_not_store_it_twice(terminal, fake_server, home) -> None:
    fake_server.reply(Reply(status=401))
    term = terminal("chat")
    term.prompt()
    term.type("lonely question")
    term.expect("key was refused")
    term.prompt()
    term.type("/retry")
    term.expect("Answer to: lonely question")
    term.prompt()
    term.ctrl("d")
    term.finish()
    assert [m.content for m in stored(home)] == ["lonely question", "Answer to: lonely question"]


def test_a_paste_of_several_lines_is_one_message(terminal, fake_server) -> None:
    term = terminal("chat")
    term.prompt()
    term.send("\x1b[200~def f(x):\n    return x * 2\n\nprint(f(3))\x1b[201~")
    term.send("\r")
    term.expect("Answer to: def f(x):")
    term.prompt()
    term.ctrl("d")
    term.finish()
    assert len(fake_server.chat_requests) == 1
    sent = fake_server.chat_requests[0]["body"]["messages"][-1]["content"]
    assert sent == "def f(x):\n    return x * 2\n\nprint(f(3))"


def test_alt_enter_adds_a_line_instead_of_sending(terminal, fake_server) -> None:
    term = terminal("chat")
    term.prompt()
    term.send("line one")
    term.send("\x1b\r")
    term.send("line two\r")
    term.expect("Answer to: line one")
    term.prompt()
    term.ctrl("d")
    term.finish()
    assert fake_server.chat_requests[0]["body"]["messages"][-1]["content"] == "line one\nline two"


def test_slash_commands(terminal, fake_server, home) -> None:
    term = terminal("chat", "--session", "first")
    term.prompt()
    term.type("/help")
    for name in ("/exit", "/new", "/model", "/thinking", "/retry", "/sessions", "/show"):
        term.expect(name)
    term.prompt()
    term.type("/frobnicate")
    term.expect("Unknown command /frobnicate")
    term.prompt()
    term.type("/model deepseek-v4-pro")
    term.expect("deepseek-v4-pro")
    term.prompt()
    term.type("/thinking on")
    term.expect("Thinking: on")
    term.prompt()
    term.ask("with the pro model")
    term.type("/show")
    term.expect("with the pro model")
    term.prompt()
    term.type("/new")
    term.expect("New session")
    term.prompt()
    term.type("/sessions")
    term.expect("first")
    term.prompt()
    term.type("/exit")
    assert term.finish() == 0
    assert len(fake_server.chat_requests) == 1
    body = fake_server.chat_requests[0]["body"]
    assert body["model"] == "deepseek-v4-pro" and body["thinking"] == {"type": "enabled"}
    with SessionManager(home / "tutor.db") as manager:
        assert len(manager.store.list_sessions("ada")) == 2


def test_thinking_is_shown_above_the_answer_never_sent_back_or_stored_as_content(terminal, fake_server, home) -> None:
    fake_server.reply(reasoning="The student asks about primes. Consider 7.", content="7 is prime.")
    term = terminal("chat", "--thinking")
    term.prompt()
    term.type("is 7 prime?")
    before = term.expect("7 is prime.")
    assert "Consider 7." in before
    term.prompt()
    term.ask("and 9?")
    term.ctrl("d")
    term.finish()
    assert not fake_server.refusals  # the fake refuses any reasoning_content sent back
    first = stored(home)[1]
    assert first.content == "7 is prime." and first.reasoning == "The student asks about primes. Consider 7."


def test_model_text_cannot_control_the_terminal_and_markup_is_literal(terminal, fake_server, home) -> None:
    evil = "Title \x1b]0;pwned\x07 clear\x1b[2J\x1b[H bell\x07 and [bold red]not markup[/bold red] done."
    fake_server.reply(content=evil)
    term = terminal("chat")
    term.prompt()
    term.type("hi")
    term.expect("done.")
    term.prompt()
    term.ctrl("d")
    term.finish()
    assert "\x1b]0;pwned" not in term.screen and "\x1b[2J" not in term.screen
    assert "[bold red]not markup[/bold red]" in term.screen
    assert stored(home)[1].content == evil  # what is stored is the model's exact text


def test_reasoning_markup_is_shown_literally(terminal, fake_server, home) -> None:
    reasoning = "Maybe [bold red]x[/bold red] is wrong.\nCheck [italic]y[/italic] too"
    fake_server.reply(reasoning=reasoning, content="Both are fine.")
    term = terminal("chat", "--thinking")
    term.prompt()
    term.type("check x and y")
    term.expect("Both are fine.")
    term.prompt()
    term.ctrl("d")
    term.finish()
    assert "[bold red]x[/bold red]" in term.screen  # a finished line of reasoning
    assert "[italic]y[/italic]" in term.screen  # the last line, printed when the answer begins
    assert stored(home)[1].reasoning == reasoning


def test_show_on_a_terminal_prints_reasoning_markup_literally(terminal, home) -> None:
    home.mkdir(parents=True, exist_ok=True)
    with SessionManager(home / "tutor.db") as manager:
        manager.create_session("ada", "marked", "prompt")
        manager.add_message("ada", "marked", "user", "check x")
        manager.store.add_message(
            "ada", "marked", "assistant", "Fine.", model="deepseek-flash", reasoning="Is [bold red]x[/bold red] right?"
        )
    term = terminal("show", "marked")
    term.expect("Fine.")
    assert term.finish() == 0
    assert "[bold red]x[/bold red]" in term.screen


def test_kill_9_mid_answer_keeps_the_question_and_a_sound_store(terminal, fake_server, home) -> None:
    fake_server.reply(content="slow " * 500, chunk_size=5, delay=0.02)
    term = terminal("chat")
    term.prompt()
    term.type("a question worth keeping")
    term.expect("slow slow")
    os.kill(term.child.pid, signal.SIGKILL)
    term.child.wait()
    time.sleep(0.1)
    conn = sqlite3.connect(home / "tutor.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    assert [m.content for m in stored(home)] == ["a question worth keeping"]
    term = terminal("chat", "-c")
    term.prompt()
    term.type("still there?")
    term.expect("Answer to: a question worth keeping")
    term.prompt()
    term.ctrl("d")
    term.finish()
    assert not fake_server.refusals


def test_input_history_survives_across_runs(terminal, fake_server, home) -> None:
    term = terminal("chat")
    term.prompt()
    term.ask("remember this line")
    term.ctrl("d")
    term.finish()
    term = terminal("chat")
    term.prompt()
    term.send("\x1b[A")  # up arrow
    term.send("\r")
    term.expect("Answer to: remember this line")
    term.prompt()
    term.ctrl("d")
    term.finish()
    assert (home / "history").stat().st_mode & 0o077 == 0


def test_without_a_key_chat_stops_before_any_prompt(terminal, monkeypatch) -> None:
    monkeypatch.delenv("DEEPSEEK_API_KEY")
    term = terminal("chat")
    out = term.child.read()
    term.child.close()
    assert term.child.exitstatus == 1
    assert "DEEPSEEK_API_KEY" in out and "you ›" not in out


def test_tutor_alone_is_chat(terminal, fake_server) -> None:
    term = terminal()
    term.prompt()
    term.ask("hello")
    term.ctrl("d")
    assert term.finish() == 0


def test_tab_completes_slash_commands_and_the_toolbar_shows_the_session(terminal, fake_server) -> None:
    # A terminal that answers cursor-position requests, as real ones do: prompt_toolkit draws
    # the bottom bar only when it knows where the cursor is.
    term = terminal(
        "chat", "--session", "toolbar-check", "--model", "deepseek-v4-pro", env={"PROMPT_TOOLKIT_NO_CPR": "0"}
    )
    term.expect("\x1b[6n")
    term.send("\x1b[10;1R")
    term.expect("session toolbar-check · deepseek-v4-pro · default thinking")
    term.send("/hel")
    term.send("\t")
    term.send("\r")
    term.expect("/retry")
    term.prompt()
    term.ctrl("d")
    assert term.finish() == 0
    assert fake_server.chat_requests == []


def test_show_on_a_terminal_renders_the_transcript(terminal, home) -> None:
    home.mkdir(parents=True, exist_ok=True)
    with SessionManager(home / "tutor.db") as manager:
        manager.create_session("ada", "rendered", "prompt")
        manager.add_message("ada", "rendered", "user", "What is **bold**?")
        manager.store.add_message(
            "ada",
            "rendered",
            "assistant",
            "## A heading\n\nSome **strong** text.",
            model="deepseek-flash",
            usage={"prompt_tokens": 12, "completion_tokens": 5},
        )
    term = terminal("show", "rendered")
    term.expect("Session rendered")
    term.expect("Student")
    term.expect("What is **bold**?")  # the student's text is shown as typed
    screen = term.expect("Some")
    assert "## A heading" not in screen and "A heading" in screen  # the tutor's Markdown is rendered
    assert term.finish() == 0
