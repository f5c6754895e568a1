"""SessionManager: the lesson's API, in memory and durable, with its rules."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tutor_cli import (
    InvalidMessageError,
    SessionExistsError,
    SessionManager,
    SessionNotFoundError,
    TutorError,
)

LESSON_EXAMPLE = textwrap.dedent(
    """
    from tutor_cli import SessionManager

    # Example usage
    session_manager = SessionManager({args})
    student_id = "student_123"
    session_id = "session_abc"
    system_prompt = "You are a helpful tutor."

    session_manager.create_session(student_id, session_id, system_prompt)

    messages = [
        ("user", "What is the Pythagorean theorem?"),
        ("assistant", "In a right triangle, a^2 + b^2 = c^2."),
        ("user", "Can you give me an example?"),
    ]
    for role, content in messages:
        session_manager.add_message(student_id, session_id, role, content)

    session = session_manager.get_session(student_id, session_id)
    print(len(session["messages"]), "messages")

    conversation = session_manager.get_conversation(student_id, session_id)
    for message in conversation:
        print(f"Role: {{message['role']}}")
        print(f"Message: {{message['content']}}")
        print()
    """
)

LESSON_OUTPUT = (
    "3 messages\n"
    "Role: system\nMessage: You are a helpful tutor.\n\n"
    "Role: user\nMessage: What is the Pythagorean theorem?\n\n"
    "Role: assistant\nMessage: In a right triangle, a^2 + b^2 = c^2.\n\n"
    "Role: user\nMessage: Can you give me an example?\n\n"
)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def manager(request: pytest.FixtureRequest, tmp_path: Path) -> SessionManager:
    """The same suite against every backend, so they cannot drift apart."""
    if request.param == "memory":
        m = SessionManager()
    elif request.param == "sqlite":
        m = SessionManager(tmp_path / "tutor.db")
    else:
        m = SessionManager(request.getfixturevalue("pg_url"))
    yield m
    m.close()


@pytest.mark.parametrize("args", ["", "'lesson.db'"])
def test_the_lessons_example_runs_unchanged_and_prints_what_the_lesson_says(tmp_path: Path, args: str) -> None:
    script = tmp_path / "lesson.py"
    script.write_text(LESSON_EXAMPLE.format(args=args))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == LESSON_OUTPUT


def test_get_conversation_is_system_prompt_then_messages_with_only_role_and_content(manager) -> None:
    manager.create_session("ada", "s1", "Be kind.")
    manager.add_message("ada", "s1", "user", "hi")
    manager.store.add_message(
        "ada", "s1", "assistant", "hello", model="m", reasoning="think", usage={"prompt_tokens": 3}
    )
    assert manager.get_conversation("ada", "s1") == [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
    ]


def test_missing_sessions_read_as_none_and_empty(manager) -> None:
    assert manager.get_session("ada", "nope") is None
    assert manager.get_conversation("ada", "nope") == []


def test_creating_an_existing_session_raises_and_keeps_the_old_one(manager) -> None:
    manager.create_session("ada", "s1", "first prompt")
    manager.add_message("ada", "s1", "user", "kept")
    with pytest.raises(SessionExistsError) as caught:
        manager.create_session("ada", "s1", "second prompt")
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, TutorError)
    assert manager.get_session("ada", "s1") == {
        "system_prompt": "first prompt",
        "messages": [{"role": "user", "content": "kept"}],
    }


def test_adding_to_a_missing_session_raises_lookup_error(manager) -> None:
    with pytest.raises(SessionNotFoundError) as caught:
        manager.add_message("ada", "ghost", "user", "hello?")
    assert isinstance(caught.value, LookupError)
    assert "ghost" in str(caught.value) and "ada" in str(caught.value)


@pytest.mark.parametrize("role", ["system", "tool", "User", "", None])
def test_a_role_other_than_user_or_assistant_raises_value_error(manager, role) -> None:
    manager.create_session("ada", "s1", "p")
    with pytest.raises(InvalidMessageError) as caught:
        manager.add_message("ada", "s1", role, "text")
    assert isinstance(caught.value, ValueError)
    assert manager.get_session("ada", "s1")["messages"] == []


def test_the_same_session_id_under_two_students_is_two_sessions(manager) -> None:
    manager.create_session("ada", "homework", "prompt A")
    manager.create_session("bob", "homework", "prompt B")
    manager.add_message("ada", "homework", "user", "from ada")
    assert manager.get_conversation("bob", "homework") == [{"role": "system", "content": "prompt B"}]
    assert manager.get_conversation("ada", "homework")[1] == {"role": "user", "content": "from ada"}


@pytest.mark.parametrize(
    "text",
    [
        "emoji 🧑‍🏫📚 and CJK 你好 and combining é",
        "a NUL \x00 in the middle\x00",
        "right-to-left \u200f שלום \u202e mark",
        "x" * 300_000,
        "🙂" * 80_000,
        "",
        "\r\n line endings \r kept \t tabs",
        "private-use \ue000\ue002 and \ue000\ue001 escape look-alikes \ue000",
    ],
    ids=["unicode", "nul", "rtl", "300k-ascii", "300k-emoji", "empty", "line-endings", "escape-lookalikes"],
)
def test_any_text_round_trips_exactly(manager, text: str) -> None:
    manager.create_session("ada", "s1", text)
    manager.add_message("ada", "s1", "user", text)
    session = manager.get_session("ada", "s1")
    assert session["system_prompt"] == text
    assert session["messages"][0]["content"] == text


@pytest.mark.parametrize("text", ["a NUL \x00 in a summary", "private-use \ue000\ue002 stays itself"])
def test_summaries_and_the_window_round_trip_any_text(manager, text: str) -> None:
    """Every column goes through the same text adapters: a summary holding NUL or the escape's
    look-alikes is stored and read back exactly (set_window once forgot the encoding)."""
    manager.create_session("ada", "s1", "p")
    first = manager.store.add_message("ada", "s1", "user", "q")
    manager.store.set_window("ada", "s1", first, summary=text, summary_through=first - 1)
    record = manager.store.get_session("ada", "s1")
    assert record.summary == text and record.window_start == first


def test_a_durable_store_keeps_everything_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "tutor.db"
    with SessionManager(str(path)) as first:
        first.create_session("ada", "s1", "p")
        first.add_message("ada", "s1", "user", "remember me")
    with SessionManager(path) as second:
        assert second.get_conversation("ada", "s1")[-1] == {"role": "user", "content": "remember me"}


def test_new_session_without_an_id_makes_a_fresh_unique_one(manager) -> None:
    ids = {manager.new_session("ada", "p") for _ in range(20)}
    assert len(ids) == 20
    assert all(manager.get_session("ada", session_id) for session_id in ids)


def test_sessions_are_listed_most_recently_used_first(manager) -> None:
    for name in ("old", "middle", "new"):
        manager.create_session("ada", name, "p")
    manager.add_message("ada", "old", "user", "bump")
    assert [s.session_id for s in manager.store.list_sessions("ada")] == ["old", "new", "middle"]
    assert manager.store.latest_session("ada").session_id == "old"
    assert manager.store.list_sessions("nobody") == []


def test_deleting_a_session_removes_it_and_its_messages_only(manager) -> None:
    manager.create_session("ada", "a", "p")
    manager.create_session("ada", "b", "p")
    manager.add_message("ada", "a", "user", "x")
    manager.store.delete_session("ada", "a")
    assert manager.get_session("ada", "a") is None
    assert manager.get_session("ada", "b") is not None
    with pytest.raises(SessionNotFoundError):
        manager.store.delete_session("ada", "a")


def test_last_question_knows_whether_it_was_answered(manager) -> None:
    manager.create_session("ada", "s1", "p")
    assert manager.last_question("ada", "s1") == (None, False)
    manager.add_message("ada", "s1", "user", "first")
    assert manager.last_question("ada", "s1") == ("first", True)
    manager.add_message("ada", "s1", "assistant", "answer")
    assert manager.last_question("ada", "s1") == ("first", False)


def test_requests_alternate_whatever_was_stored(manager) -> None:
    manager.create_session("ada", "s1", "p")
    for role, content in [
        ("assistant", "stray greeting"),
        ("user", "q1"),
        ("user", "q2"),
        ("assistant", "a"),
        ("assistant", "a2"),
        ("user", "q3"),
    ]:
        manager.add_message("ada", "s1", role, content)
    assert manager.request_messages("ada", "s1") == [
        {"role": "system", "content": "p"},
        {"role": "user", "content": "q1\n\nq2"},
        {"role": "assistant", "content": "a\n\na2"},
        {"role": "user", "content": "q3"},
    ]


def test_reading_a_missing_sessions_messages_fails_before_the_first_one_is_asked_for(manager) -> None:
    """`show` writes its header only after this call returned: a missing session must raise here."""
    with pytest.raises(SessionNotFoundError):
        manager.store.iter_messages("ada", "nowhere")
