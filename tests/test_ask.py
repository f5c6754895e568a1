"""`tutor ask` and `tutor models` as scripts use them: real subprocess, fake server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import assert_no_traceback
from tests.fake_server import API_KEY, FakeServer, Reply
from tutor_cli import SessionManager


def test_ask_prints_plain_text_to_a_pipe_and_stores_the_turn(run_tutor, api_env, fake_server, home) -> None:
    fake_server.reply(content="# Title\n\n**Bold** \x1b[31mred\x1b[0m and [bold]markup[/bold].\n")
    result = run_tutor("ask", "What is red?")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "# Title\n\n**Bold** red and [bold]markup[/bold].\n"
    assert "\x1b" not in result.stdout
    sessions = json.loads(run_tutor("sessions", "-f", "json").stdout)
    assert len(sessions) == 1 and sessions[0]["message_count"] == 2
    with SessionManager(home / "tutor.db") as manager:
        messages = manager.store.get_messages("ada", sessions[0]["session_id"])
    assert messages[0].content == "What is red?"
    assert messages[1].content.startswith("# Title") and messages[1].usage["prompt_tokens"] > 0


def test_ask_reads_the_question_from_stdin(run_tutor, api_env, fake_server) -> None:
    result = run_tutor("ask", "-", input="a question\nover two lines\n")
    assert result.stdout == "Answer to: a question\nover two lines\n"
    result = run_tutor("ask", input="no dash needed when piped")
    assert result.stdout == "Answer to: no dash needed when piped\n"


def test_ask_within_a_session_sends_its_history(run_tutor, api_env, fake_server) -> None:
    assert run_tutor("ask", "--session", "hw", "first").returncode == 0
    assert run_tutor("ask", "--session", "hw", "second").returncode == 0
    messages = fake_server.chat_requests[-1]["body"]["messages"]
    assert [m["content"] for m in messages[1:]] == ["first", "Answer to: first", "second"]


def test_ask_api_failure_is_exit_1_with_the_plain_reason(run_tutor, api_env, fake_server) -> None:
    fake_server.reply(status=401)
    result = run_tutor("ask", "hi")
    assert result.returncode == 1
    assert "key was refused" in result.stderr and result.stdout == ""
    assert_no_traceback(result)


def test_ask_that_fails_in_a_new_session_names_the_session_holding_the_question(
    run_tutor, api_env, fake_server, home
) -> None:
    fake_server.reply(status=402, error_message="Insufficient Balance")
    result = run_tutor("ask", "What is a prime?")
    assert result.returncode == 1
    sessions = json.loads(run_tutor("sessions", "-f", "json").stdout)
    assert len(sessions) == 1
    session = sessions[0]["session_id"]
    assert "balance is used up" in result.stderr
    assert f"kept in session {session}" in result.stderr and f"--session {session}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    with SessionManager(home / "tutor.db") as manager:
        assert [m.content for m in manager.store.get_messages("ada", session)] == ["What is a prime?"]


def test_ask_that_fails_in_an_existing_session_does_not_repeat_its_name(run_tutor, api_env, fake_server) -> None:
    assert run_tutor("ask", "--session", "hw", "first").returncode == 0
    fake_server.reply(status=402, error_message="Insufficient Balance")
    result = run_tutor("ask", "--session", "hw", "second")
    assert result.returncode == 1 and "balance is used up" in result.stderr
    assert "kept in session" not in result.stderr


def test_ask_with_an_unknown_model(run_tutor, api_env) -> None:
    result = run_tutor("ask", "--model", "deepseek-gone", "hi")
    assert result.returncode == 1
    assert "deepseek-gone" in result.stderr and "tutor models" in result.stderr


def test_ask_to_an_unreachable_server_names_it(run_tutor, api_env) -> None:
    result = run_tutor("ask", "hi", env={"DEEPSEEK_BASE_URL": "http://127.0.0.1:9"})
    assert result.returncode == 1 and "http://127.0.0.1:9" in result.stderr
    assert_no_traceback(result)


def test_ask_without_a_key_names_the_variable(run_tutor, fake_server) -> None:
    result = run_tutor("ask", "hi", env={"DEEPSEEK_BASE_URL": fake_server.base_url})
    assert result.returncode == 1 and "DEEPSEEK_API_KEY" in result.stderr
    assert fake_server.requests == []


def test_ask_thinking_option_and_environment(run_tutor, api_env, fake_server) -> None:
    run_tutor("ask", "--thinking", "q")
    assert fake_server.chat_requests[-1]["body"]["thinking"] == {"type": "enabled"}
    run_tutor("ask", "q", env={"TUTOR_THINKING": "off"})
    assert fake_server.chat_requests[-1]["body"]["thinking"] == {"type": "disabled"}
    result = run_tutor("ask", "q", env={"TUTOR_THINKING": "maybe"})
    assert result.returncode == 1 and "TUTOR_THINKING" in result.stderr


def test_ask_plain_output_leaves_reasoning_out(run_tutor, api_env, fake_server, home) -> None:
    fake_server.reply(reasoning="secret musings", content="the answer")
    result = run_tutor("ask", "--thinking", "q")
    assert result.stdout == "the answer\n"
    data = json.loads(
        run_tutor("show", json.loads(run_tutor("sessions", "-f", "json").stdout)[0]["session_id"], "-f", "json").stdout
    )
    assert data["messages"][1]["reasoning"] == "secret musings"


def test_ask_a_dropped_stream_keeps_the_partial_answer(run_tutor, api_env, fake_server, home) -> None:
    fake_server.reply(Reply(content="0123456789" * 5, chunk_size=10, drop_after=20))
    result = run_tutor("ask", "q")
    assert result.returncode == 1
    assert result.stdout.startswith("01234567890123456789") and "dropped" in result.stderr
    session = json.loads(run_tutor("sessions", "-f", "json").stdout)[0]["session_id"]
    data = json.loads(run_tutor("show", session, "-f", "json").stdout)
    assert data["messages"][1] == {**data["messages"][1], "content": "01234567890123456789", "interrupted": True}


def test_empty_question_is_usage_error(run_tutor, api_env) -> None:
    assert run_tutor("ask", "-", input="   \n").returncode == 2


def test_models_lists_and_marks_the_default(run_tutor, api_env, fake_server: FakeServer) -> None:
    result = run_tutor("models")
    assert result.returncode == 0
    assert "* deepseek-flash" in result.stdout and "  deepseek-v4-pro" in result.stdout
    result = run_tutor("models", env={"DEEPSEEK_API_KEY": "wrong"})
    assert result.returncode == 1 and "key was refused" in result.stderr


def test_models_names_an_unserved_default(run_tutor, api_env, fake_server: FakeServer) -> None:
    fake_server.models = ["llama3"]
    result = run_tutor("models")
    assert "llama3" in result.stdout and "deepseek-flash" in result.stderr


def test_home_and_db_unaffected_by_a_bad_key(run_tutor, api_env, home: Path) -> None:
    run_tutor("ask", "hi", env={"DEEPSEEK_API_KEY": "sk-bad"})
    assert "sk-bad" not in (home / "tutor.db").read_bytes().decode("latin-1")


def test_ask_never_shows_the_key_a_server_echoes(run_tutor, api_env, fake_server, home) -> None:
    fake_server.reply(status=400, error_message=f"Invalid request: header was 'Bearer {API_KEY}'")
    result = run_tutor("ask", "--session", "k", "hi")
    assert result.returncode == 1 and "refused (400)" in result.stderr
    assert API_KEY not in result.stdout + result.stderr
    assert API_KEY.encode() not in (home / "tutor.db").read_bytes()


def test_ask_interrupted_mid_answer_exits_130_and_keeps_the_partial_answer(api_env, fake_server, home) -> None:
    fake_server.reply(Reply(content="0123456789" * 100, chunk_size=10, delay=0.05))
    child = subprocess.Popen(
        [sys.executable, "-m", "tutor_cli", "ask", "--session", "stopped", "count slowly"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # Ctrl-C as from a shell in the foreground, whatever disposition the test runner left.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    shown = os.read(child.stdout.fileno(), 20)  # part of the answer is on screen
    assert shown.startswith(b"0123456789")
    child.send_signal(signal.SIGINT)
    rest, errors = child.communicate(timeout=30)
    assert child.returncode == 130, errors.decode()
    assert "Traceback" not in errors.decode()
    printed = (shown + rest).decode().strip()
    assert 0 < len(printed) < 1000
    with SessionManager(home / "tutor.db") as manager:
        question, partial = manager.store.get_messages("ada", "stopped")
    assert (question.role, question.content) == ("user", "count slowly")
    assert partial.role == "assistant" and partial.interrupted
    assert partial.content and ("0123456789" * 100).startswith(partial.content)
    # What was kept is what was shown (give or take the chunk in flight when Ctrl-C came).
    assert printed.startswith(partial.content) or partial.content.startswith(printed)
    assert abs(len(printed) - len(partial.content)) <= 10
