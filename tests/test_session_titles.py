"""Session titles and naming a session by part of its id: the store side, on both backends."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import psycopg
import pytest

from tutor_cli import SessionManager
from tutor_cli.errors import AmbiguousSessionError, InvalidMessageError, SessionNotFoundError
from tutor_cli.store import MIGRATIONS
from tutor_cli.store.sqlite import apply_migrations
from tutor_cli.titles import default_title

QUESTION = "How do I factor x^2 - 5x + 6 into two brackets without guessing every pair?"


def test_the_first_question_gives_the_title_and_later_ones_leave_it(tmp_path: Path) -> None:
    with SessionManager(tmp_path / "tutor.db") as manager:
        manager.create_session("ada", "s1", "p")
        assert manager.store.get_session("ada", "s1").title is None
        manager.add_message("ada", "s1", "user", QUESTION)
        manager.add_message("ada", "s1", "assistant", "Look for two numbers…")
        manager.add_message("ada", "s1", "user", "And x^2 + x - 12?")
        title = manager.store.get_session("ada", "s1").title
    assert title == "How do I factor x^2 - 5x + 6 into two brackets…"
    assert len(title) <= 50


@pytest.mark.parametrize(
    ("question", "title"),
    [
        ("What is a prime?", "What is a prime?"),
        ("  **Why**   is\n\nthe sky blue?  ", "Why is the sky blue?"),
        ("方程" * 40, "方程" * 24 + "…"),
        ("\n\n   ", None),
    ],
)
def test_default_titles_are_the_opening_words_on_one_line(question: str, title: str | None) -> None:
    assert default_title(question) == title


def test_a_title_can_be_set_and_a_bad_one_is_one_sentence(tmp_path: Path) -> None:
    with SessionManager(tmp_path / "tutor.db") as manager:
        manager.create_session("ada", "s1", "p")
        manager.add_message("ada", "s1", "user", QUESTION)
        assert manager.set_title("ada", "s1", "  Factoring\n quadratics ") == "Factoring quadratics"
        manager.add_message("ada", "s1", "user", "Another question")
        assert manager.store.get_session("ada", "s1").title == "Factoring quadratics"
        for bad in ("   ", "x" * 121):
            with pytest.raises(InvalidMessageError) as caught:
                manager.set_title("ada", "s1", bad)
            assert str(caught.value).endswith(".") and "\n" not in str(caught.value)
        with pytest.raises(SessionNotFoundError):
            manager.set_title("ada", "nope", "A title")
        assert manager.store.get_session("ada", "s1").title == "Factoring quadratics"


def sessions_of(manager: SessionManager, student: str, ids: list[str]) -> None:
    for session_id in ids:
        manager.create_session(student, session_id, "p")
        manager.add_message(student, session_id, "user", f"question of {session_id}")


def test_a_session_is_found_by_its_id_or_an_unambiguous_prefix_or_suffix(tmp_path: Path) -> None:
    ids = ["20261201-090000-b188", "20261202-090000-a0f3", "20261202-100000-77c1", "algebra", "algebra-2"]
    with SessionManager(tmp_path / "tutor.db") as manager:
        sessions_of(manager, "ada", ids)
        sessions_of(manager, "bob", ["20261203-090000-b188x"])
        find = manager.find_session
        assert find("ada", "b188").session_id == "20261201-090000-b188"  # suffix; bob's is not ada's
        assert find("ada", "20261201").session_id == "20261201-090000-b188"  # prefix
        assert find("ada", "algebra").session_id == "algebra"  # a whole id wins over a prefix of another
        assert find("ada", None).session_id == "algebra-2"  # the most recently used
        with pytest.raises(AmbiguousSessionError) as caught:
            find("ada", "20261202")
        message = str(caught.value)
        assert "20261202-090000-a0f3" in message and "20261202-100000-77c1" in message
        assert "question of 20261202-100000-77c1" in message  # candidates show their titles
        assert message.index("100000-77c1") < message.index("090000-a0f3")  # most recent first
        for missing in ("B188", "zzz", "0000-b1", "%", "_"):  # case matters; LIKE's wildcards are plain text
            with pytest.raises(SessionNotFoundError):
                find("ada", missing)
        with pytest.raises(SessionNotFoundError):
            find("carol", None)


def test_an_ambiguous_reference_lists_ten_and_counts_the_rest(tmp_path: Path) -> None:
    with SessionManager(tmp_path / "tutor.db") as manager:
        sessions_of(manager, "ada", [f"2026-{n:02d}" for n in range(14)])
        with pytest.raises(AmbiguousSessionError) as caught:
            manager.find_session("ada", "2026-")
    assert len(caught.value.candidates) == 10 and "and 4 more" in str(caught.value)


def test_an_older_store_is_migrated_with_titles_from_the_first_questions(tmp_path: Path) -> None:
    path = tmp_path / "tutor.db"
    conn = sqlite3.connect(path, isolation_level=None)
    apply_migrations(conn, MIGRATIONS[:-1])
    conn.execute(
        "INSERT INTO sessions (student_id, session_id, system_prompt, created_at, updated_at, message_count)"
        " VALUES ('ada', 'old', 'p', 1, 1, 2), ('ada', 'empty', 'p', 1, 1, 0)"
    )
    conn.executemany(
        "INSERT INTO messages (session_pk, student_id, role, content, created_at) VALUES (1, 'ada', ?, ?, 1)",
        [("user", "Why do fractions need a common denominator before adding?"), ("assistant", "Because…")],
    )
    conn.close()
    with SessionManager(path) as manager:
        assert manager.store.get_session("ada", "old").title == "Why do fractions need a common denominator…"
        assert manager.store.get_session("ada", "empty").title is None


def test_the_title_is_in_the_students_export(run_tutor, home: Path) -> None:
    with SessionManager(home / "tutor.db") as manager:
        manager.create_session("ada", "s1", "p")
        manager.add_message("ada", "s1", "user", QUESTION)
    document = json.loads(run_tutor("export").stdout)
    assert [row["title"] for row in document["tables"]["sessions"]] == [default_title(QUESTION)]


def test_in_the_class_database_a_student_titles_only_their_own_sessions(classroom) -> None:
    names, urls = classroom
    ada, bob = names["ada"], names["bob"]
    with SessionManager(urls["ada"]) as manager:
        assert manager.store.get_session(ada, "homework").title == "secret question of ada"
        manager.set_title(ada, "homework", "Ada's homework")
        assert manager.find_session(ada, "home").title == "Ada's homework"
        assert manager.find_session(ada, None).session_id == "homework"
    with psycopg.connect(urls["ada"], autocommit=True) as conn:
        assert conn.execute("UPDATE sessions SET title = 'mine' WHERE student_id = %s", (bob,)).rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE sessions SET system_prompt = 'x'")
    with psycopg.connect(urls["tess"], autocommit=True) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("UPDATE sessions SET title = 'teacher was here'")
    with SessionManager(urls["tess"]) as teacher:
        titles = {s.student_id: s.title for s in teacher.store.list_sessions(None)}
    assert titles == {ada: "Ada's homework", bob: "secret question of bob"}
