"""The real `tutor` command, run as a subprocess: foundation commands, exit codes, start-up."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import assert_no_traceback
from tutor_cli import SessionManager


def seed(home: Path, student: str = "ada", session: str = "s1", turns: int = 2) -> None:
    home.mkdir(parents=True, exist_ok=True)
    with SessionManager(home / "tutor.db") as manager:
        manager.create_session(student, session, "Be a patient tutor.")
        for i in range(turns):
            manager.add_message(student, session, "user", f"question {i}")
            manager.store.add_message(
                student,
                session,
                "assistant",
                f"**answer** {i}",
                model="deepseek-flash",
                usage={"prompt_tokens": 10, "completion_tokens": 5},
            )


def test_version_and_module_entry_point(run_tutor) -> None:
    result = run_tutor("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("tutor 0.")


@pytest.mark.parametrize("command", [[], ["new-session"], ["show"], ["sessions"], ["delete"]])
def test_every_help_shows_examples(run_tutor, command: list[str]) -> None:
    result = run_tutor(*command, "--help")
    assert result.returncode == 0
    assert "Examples:" in result.stdout and "tutor " in result.stdout


def test_new_session_creates_home_privately_and_ends_with_the_id(run_tutor, home: Path) -> None:
    result = run_tutor("new-session", "--session", "algebra-1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].endswith("algebra-1")
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "tutor.db").stat().st_mode) == 0o600
    with SessionManager(home / "tutor.db") as manager:
        prompt = manager.get_session("ada", "algebra-1")["system_prompt"]
    assert "tutor" in prompt.lower() and "hint" in prompt.lower()


def test_new_session_without_id_prints_a_fresh_one(run_tutor, home: Path) -> None:
    result = run_tutor("new-session", "--student", "bob")
    session_id = result.stdout.strip().split()[-1]
    with SessionManager(home / "tutor.db") as manager:
        assert manager.get_session("bob", session_id) is not None


def test_new_session_with_an_existing_id_fails_and_changes_nothing(run_tutor, home: Path) -> None:
    seed(home)
    with SessionManager(home / "tutor.db") as manager:
        before = (
            manager.store.get_session("ada", "s1"),
            manager.store.get_messages("ada", "s1"),
            manager.store.list_sessions(None),
        )
    result = run_tutor("new-session", "--session", "s1")
    assert result.returncode == 1
    assert "already exists" in result.stderr
    assert_no_traceback(result)
    with SessionManager(home / "tutor.db") as manager:  # exactly as it was: prompt, messages, times, usage
        after = (
            manager.store.get_session("ada", "s1"),
            manager.store.get_messages("ada", "s1"),
            manager.store.list_sessions(None),
        )
    assert after == before
    assert before[0].system_prompt == "Be a patient tutor." and len(before[1]) == 4


def test_new_session_uses_the_given_prompt_file(run_tutor, home: Path, tmp_path: Path) -> None:
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("You teach chemistry. ⚗️")
    assert run_tutor("new-session", "--session", "chem", "--system-prompt", str(prompt)).returncode == 0
    with SessionManager(home / "tutor.db") as manager:
        assert manager.get_session("ada", "chem")["system_prompt"] == "You teach chemistry. ⚗️"


def test_an_unreadable_prompt_file_fails_naming_the_file(run_tutor, tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    result = run_tutor("new-session", "--system-prompt", str(missing))
    assert result.returncode == 1
    assert str(missing) in result.stderr
    assert_no_traceback(result)
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    result = run_tutor("new-session", "--system-prompt", str(binary))
    assert result.returncode == 1 and str(binary) in result.stderr


def test_show_text_follows_the_lessons_layout(run_tutor, home: Path) -> None:
    seed(home)
    result = run_tutor("show", "s1", "--format", "text")
    assert result.returncode == 0
    assert result.stdout.startswith("Role: system\nMessage: Be a patient tutor.\n")
    assert "Role: user\nMessage: question 0\n" in result.stdout
    assert result.stdout.index("question 0") < result.stdout.index("answer** 0") < result.stdout.index("question 1")


def test_show_defaults_to_text_when_piped(run_tutor, home: Path) -> None:
    seed(home)
    assert run_tutor("show", "s1").stdout == run_tutor("show", "s1", "--format", "text").stdout


def test_show_json_is_one_object_with_the_contract_fields(run_tutor, home: Path) -> None:
    seed(home)
    document = json.loads(run_tutor("show", "s1", "-f", "json").stdout)
    assert document["student_id"] == "ada" and document["session_id"] == "s1"
    assert document["system_prompt"] == "Be a patient tutor."
    assert [m["role"] for m in document["messages"]] == ["user", "assistant"] * 2
    assert document["messages"][1]["content"] == "**answer** 0"
    assert document["messages"][1]["model"] == "deepseek-flash"
    assert document["messages"][1]["usage"]["prompt_tokens"] == 10
    assert "created_at" in document and "last_used_at" in document


def test_show_markdown_is_a_readable_document(run_tutor, home: Path) -> None:
    seed(home)
    text = run_tutor("show", "s1", "--format", "markdown").stdout
    assert text.startswith("# Session s1")
    assert "## Student" in text and "## Tutor" in text and "**answer** 1" in text


def test_show_of_an_unknown_session_names_session_and_student(run_tutor, home: Path) -> None:
    seed(home)
    result = run_tutor("show", "missing", "--student", "bob")
    assert result.returncode == 1
    assert "missing" in result.stderr and "bob" in result.stderr
    assert_no_traceback(result)


def test_students_are_kept_apart_in_the_cli(run_tutor, home: Path) -> None:
    seed(home, student="ada")
    assert run_tutor("show", "s1", "--student", "bob").returncode == 1
    result = run_tutor("show", "s1", env={"TUTOR_STUDENT": "ada"})
    assert result.returncode == 0


def test_sessions_json_lists_most_recent_first(run_tutor, home: Path) -> None:
    seed(home, session="older")
    seed(home, session="newer", turns=1)
    sessions = json.loads(run_tutor("sessions", "--format", "json").stdout)
    assert [s["session_id"] for s in sessions] == ["newer", "older"]
    assert sessions[0]["message_count"] == 2 and sessions[1]["message_count"] == 4
    assert {"student_id", "created_at", "last_used_at"} <= sessions[0].keys()


def test_sessions_table_and_empty_list(run_tutor, home: Path) -> None:
    assert "No sessions yet" in run_tutor("sessions").stdout
    seed(home, session="algebra-homework-week-12")
    table = run_tutor("sessions", env={"COLUMNS": "80"}).stdout
    assert "algebra-homework-week-12" in table and "4" in table


def test_delete_asks_first_and_declining_keeps_the_session(run_tutor, home: Path) -> None:
    seed(home)
    result = run_tutor("delete", "s1", input="n\n")
    assert result.returncode == 1
    assert "Delete session s1" in result.stderr
    with SessionManager(home / "tutor.db") as manager:
        assert manager.get_session("ada", "s1") is not None
    result = run_tutor("delete", "s1", input="y\n")
    assert result.returncode == 0
    with SessionManager(home / "tutor.db") as manager:
        assert manager.get_session("ada", "s1") is None


@pytest.mark.parametrize("answer", ["", "\n"], ids=["end-of-input", "enter"])
def test_delete_with_no_answer_keeps_the_session(run_tutor, home: Path, answer: str) -> None:
    seed(home)
    result = run_tutor("delete", "s1", input=answer)
    assert result.returncode == 1
    assert "Delete session s1" in result.stderr and "Nothing was deleted" in result.stderr
    with SessionManager(home / "tutor.db") as manager:
        assert len(manager.get_session("ada", "s1")["messages"]) == 4


def test_delete_with_yes_and_unknown_session(run_tutor, home: Path) -> None:
    seed(home)
    assert run_tutor("delete", "s1", "--yes").returncode == 0
    result = run_tutor("delete", "s1", "--yes")
    assert result.returncode == 1 and "s1" in result.stderr


def test_wrong_usage_exits_2(run_tutor) -> None:
    assert run_tutor("show", "one", "two").returncode == 2
    assert run_tutor("sessions", "--format", "yaml").returncode == 2
    assert run_tutor("no-such-command").returncode == 2


@pytest.mark.parametrize(
    "command",
    [["new-session"], ["show", "s1"], ["sessions"], ["delete", "s1", "--yes"]],
)
def test_every_command_refuses_a_file_that_is_not_a_store_and_leaves_it(run_tutor, home: Path, command) -> None:
    home.mkdir(parents=True)
    junk = (b"not a database, just notes from class\n" * 170)[:6000]
    (home / "tutor.db").write_bytes(junk)
    result = run_tutor(*command)
    assert result.returncode == 1
    assert str(home / "tutor.db") in result.stderr
    assert_no_traceback(result)
    assert (home / "tutor.db").read_bytes() == junk


def test_a_home_that_is_a_file_is_one_sentence(run_tutor, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_tutor("sessions", env={"TUTOR_HOME": str(blocker)})
    assert result.returncode == 1 and str(blocker) in result.stderr
    assert_no_traceback(result)


@pytest.mark.parametrize(
    "args", [["--help"], ["sessions"], ["sessions", "-f", "json"], ["show", "s1"], ["show", "s1", "-f", "json"]]
)
def test_light_commands_do_not_import_pydantic_openai_or_prompt_toolkit(home: Path, args: list[str]) -> None:
    """Start-up stays fast: a typer that coerces options through pydantic (0.29) must be chosen on
    purpose, and the SDK, the REPL, the algebra (sympy, lark), the PDF reader and the embedding model
    (with numpy) are imported only by the commands that need them, even for a session whose
    questions went with course passages."""
    seed(home)
    with SessionManager(home / "tutor.db") as manager:
        manager.store.add_message("ada", "s1", "user", "cited?", passages=[("cells.md § Osmosis", "Water.")])
    probe = (
        "import sys, runpy\n"
        f"sys.argv = ['tutor', *{args!r}]\n"
        "code = 0\n"
        "try:\n    runpy.run_module('tutor_cli', run_name='__main__')\n"
        "except SystemExit as exit:\n    code = exit.code or 0\n"
        "heavy = {'pydantic', 'openai', 'prompt_toolkit', 'pypdf', 'sympy', 'lark', 'numpy', 'tokenizers',"
        " 'threadpoolctl'}\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & heavy | {'tutor_cli.embedding'} & set(sys.modules))\n"
        "print('EXIT', code, 'HEAVY', heavy, file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=os.environ)
    assert "EXIT 0 HEAVY []" in result.stderr, result.stderr[-500:]
    assert result.stdout.strip()  # the command really ran
