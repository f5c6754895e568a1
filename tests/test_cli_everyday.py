"""The command line in everyday use: bad prompt files, finding sessions, what `ask` says, exports."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.conftest import assert_no_traceback
from tutor_cli import SessionManager

# --- bug 5: an unreadable --system-prompt is exit 1 and one sentence, like a missing one ----------


def one_sentence_naming(result, path: Path) -> None:
    assert result.returncode == 1, result.stderr
    assert_no_traceback(result)
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1 and str(path) in message and message.endswith(".")


def test_a_folder_as_the_system_prompt_is_exit_1_naming_it(run_tutor, terminal, tmp_path) -> None:
    folder = tmp_path / "prompts"
    folder.mkdir()
    one_sentence_naming(run_tutor("new-session", "--system-prompt", str(folder)), folder)
    chat = terminal("chat", "--system-prompt", str(folder))
    assert chat.finish() == 1
    assert str(folder) in chat.screen and "Traceback" not in chat.screen and "Usage:" not in chat.screen


def test_a_prompt_file_that_cannot_be_read_is_exit_1_naming_it(run_tutor, tmp_path) -> None:
    if os.geteuid() != 0:  # an ordinary user cannot read a file without read permission
        unreadable = tmp_path / "secret.txt"
        unreadable.write_text("You are a tutor.")
        unreadable.chmod(0)
    elif sys.platform == "linux":  # root reads any file; reading this one fails for everybody (EIO)
        unreadable = Path("/proc/self/mem")
    else:
        pytest.skip("no unreadable file for root on this platform")
    result = run_tutor("new-session", "--system-prompt", str(unreadable))
    one_sentence_naming(result, unreadable)
    missing = run_tutor("new-session", "--system-prompt", str(tmp_path / "missing.txt"))
    one_sentence_naming(missing, tmp_path / "missing.txt")


# --- finding a session: the most recent, a prefix or a suffix ----------------------------------


@pytest.fixture
def three_sessions(home: Path) -> None:
    with SessionManager(home / "tutor.db") as manager:
        for session_id, question in (
            ("20261201-090000-b188", "First question"),
            ("20261202-090000-a0f3", "Second question"),
            ("20261202-100000-77c1", "Third question"),
        ):
            manager.create_session("ada", session_id, "p")
            manager.add_message("ada", session_id, "user", question)


def test_show_without_a_session_shows_the_most_recent(run_tutor, three_sessions) -> None:
    shown = json.loads(run_tutor("show", "-f", "json").stdout)
    assert shown["session_id"] == "20261202-100000-77c1" and shown["title"] == "Third question"


def test_show_finds_a_session_by_the_end_or_the_start_of_its_id(run_tutor, three_sessions) -> None:
    assert json.loads(run_tutor("show", "b188", "-f", "json").stdout)["session_id"] == "20261201-090000-b188"
    assert json.loads(run_tutor("show", "20261201", "-f", "json").stdout)["session_id"] == "20261201-090000-b188"


def test_an_ambiguous_part_of_an_id_lists_the_candidates(run_tutor, three_sessions) -> None:
    result = run_tutor("show", "20261202")
    assert result.returncode == 1 and result.stdout == ""
    assert_no_traceback(result)
    assert "20261202-090000-a0f3 (Second question)" in result.stderr
    assert "20261202-100000-77c1 (Third question)" in result.stderr


def test_show_with_no_sessions_at_all_is_one_sentence(run_tutor) -> None:
    result = run_tutor("show")
    assert result.returncode == 1 and "has no sessions yet" in result.stderr
    assert_no_traceback(result)


def test_the_markdown_and_the_terminal_view_carry_the_title(run_tutor, three_sessions) -> None:
    assert "- Title: First question" in run_tutor("show", "b188", "-f", "markdown").stdout


# --- ask: which session, and a question that got no answer -------------------------------------


def test_ask_on_a_terminal_names_its_session_on_standard_error(terminal, home) -> None:
    term = terminal("ask", "What is a prime?")
    term.expect("Answer to: What is a prime?")
    assert term.finish() == 0
    with SessionManager(home / "tutor.db") as manager:
        (session,) = manager.store.list_sessions("ada")
    assert f"Session {session.session_id} (new)" in term.screen


def test_ask_in_a_pipe_keeps_standard_output_clean(run_tutor, api_env) -> None:
    result = run_tutor("ask", "What is a prime?")
    assert result.returncode == 0 and result.stdout == "Answer to: What is a prime?\n"
    assert "Session" not in result.stderr


def test_a_question_over_a_limit_in_a_new_session_says_where_it_is_kept(run_tutor, api_env, fake_server) -> None:
    now = {"TUTOR_NOW": "2026-11-25T10:00:00Z"}
    assert run_tutor("admin", "limit", "--class", "--daily-questions", "0").returncode == 0
    result = run_tutor("ask", "What is a prime?", env=now)
    assert result.returncode == 1 and fake_server.chat_requests == []
    (session,) = json.loads(run_tutor("sessions", "-f", "json").stdout)
    assert f"kept in session {session['session_id']}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# --- export --student NAME unknown --------------------------------------------------------------


def test_exporting_an_unknown_student_is_one_sentence_and_exit_1(run_tutor, three_sessions) -> None:
    result = run_tutor("export", "--student", "adaa")
    assert result.returncode == 1 and result.stdout == ""
    assert_no_traceback(result)
    assert "No student 'adaa'" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert json.loads(run_tutor("export", "--student", "ada").stdout)["student_id"] == "ada"
    assert json.loads(run_tutor("export", env={"TUTOR_STUDENT": "newcomer"}).stdout)["tables"]["sessions"] == []


# --- --max-tokens ---------------------------------------------------------------------------------


def test_max_tokens_is_sent_from_the_option_or_the_environment_and_not_otherwise(
    run_tutor, api_env, fake_server
) -> None:
    assert run_tutor("ask", "One?").returncode == 0
    assert "max_tokens" not in fake_server.chat_requests[-1]["body"]
    assert run_tutor("ask", "Two?", env={"TUTOR_MAX_TOKENS": "700"}).returncode == 0
    assert fake_server.chat_requests[-1]["body"]["max_tokens"] == 700
    assert run_tutor("ask", "--max-tokens", "5", "Three?", env={"TUTOR_MAX_TOKENS": "700"}).returncode == 0
    assert fake_server.chat_requests[-1]["body"]["max_tokens"] == 5
    bad = run_tutor("ask", "Four?", env={"TUTOR_MAX_TOKENS": "lots"})
    assert bad.returncode == 1 and "TUTOR_MAX_TOKENS" in bad.stderr
