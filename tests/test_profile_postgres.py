"""Profiles in a class database: row-level security with a student's own credentials in raw SQL."""

from __future__ import annotations

import psycopg
import pytest

from tutor_cli import SessionManager


def test_a_student_reads_and_changes_only_their_own_profile_a_teacher_reads_all(classroom) -> None:  # noqa: F811
    names, urls = classroom
    ada, bob = names["ada"], names["bob"]
    with SessionManager(urls["ada"]) as manager:
        assert manager.store.save_profile(ada, "- ada's notes")
        session = manager.new_session(ada, "prompt", "with-notes", profile=True)
        assert manager.store.get_session(ada, session).profile_snapshot == "- ada's notes"
        assert manager.store.has_unseen_turns(ada)  # the classroom's "homework" question
    with SessionManager(urls["bob"]) as manager:
        manager.store.save_profile(bob, "- bob's notes")
    with psycopg.connect(urls["ada"], autocommit=True) as conn:
        assert conn.execute("SELECT student_id, text FROM profiles").fetchall() == [(ada, "- ada's notes")]
        assert conn.execute("UPDATE profiles SET text = 'x' WHERE student_id = %s", (bob,)).rowcount == 0
        assert conn.execute("UPDATE profiles SET text = 'mine' WHERE student_id = %s", (ada,)).rowcount == 1
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO profiles (student_id, text) VALUES (%s, 'planted')", (bob + "_x",))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM profiles")
    with psycopg.connect(urls["tess"], autocommit=True) as conn:
        rows = dict(conn.execute("SELECT student_id, text FROM profiles").fetchall())
        assert rows == {ada: "mine", bob: "- bob's notes"}
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE profiles SET text = 'teacher' WHERE student_id = %s", (ada,))
    with SessionManager(urls["bob"]) as manager:
        assert manager.store.get_profile(bob).text == "- bob's notes"
        assert manager.store.get_profile(ada) is None
        assert manager.store.clear_profile(bob)
        assert not manager.store.has_unseen_turns(bob)


def test_a_teacher_reads_a_profile_with_the_cli_and_cannot_change_it(classroom, run_tutor) -> None:  # noqa: F811
    names, urls = classroom
    with SessionManager(urls["ada"]) as manager:
        manager.store.save_profile(names["ada"], "- ada's notes")
    env = {"TUTOR_DATABASE_URL": urls["tess"]}
    shown = run_tutor("profile", "--student", names["ada"], "--format", "json", env=env)
    assert shown.returncode == 0, shown.stderr
    assert '"profile": "- ada\'s notes"' in shown.stdout
    refused = run_tutor("profile", "--student", names["ada"], "--clear", "--yes", env=env)
    assert refused.returncode == 1 and "Teachers" in refused.stderr
    with SessionManager(urls["ada"]) as manager:
        assert manager.store.get_profile(names["ada"]).text == "- ada's notes"
