"""Data rights and limits in a class database on a real PostgreSQL server: export, delete-student,
purge and daily limits, through the CLI, and the ledger's protection with students' raw SQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from tests.conftest import assert_no_traceback, class_accounts
from tutor_cli import SessionManager
from tutor_cli.store.postgres import STUDENT_GROUP, PostgresStore

WRITER = Path(__file__).parent / "helpers" / "chat_writer.py"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def school(pg_url: str):
    """Students ada and bob (each a session with a question and an answer) and teacher tess."""
    names, urls = class_accounts(pg_url)
    for who in ("ada", "bob"):
        with SessionManager(urls[who]) as manager:
            manager.create_session(names[who], "homework", f"prompt of {who}")
            manager.store.add_message(names[who], "homework", "user", f"secret question of {who} \x00 ✓")
            manager.store.add_message(
                names[who],
                "homework",
                "assistant",
                f"answer for {who}",
                usage={"prompt_tokens": 7, "completion_tokens": 3},
            )
    envs = {who: {"TUTOR_DATABASE_URL": url} for who, url in urls.items()}
    yield names, urls, envs
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for role in names.values():
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                conn.execute(f'DROP OWNED BY "{role}"')
                conn.execute(f'DROP ROLE "{role}"')


def rows_naming(url: str, value: str) -> dict[str, int]:
    """For every table of the schema, how many rows hold `value` in any text column."""
    found: dict[str, int] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        columns = conn.execute(
            "SELECT c.table_name, c.column_name FROM information_schema.columns c"
            " JOIN information_schema.tables t USING (table_schema, table_name)"
            " WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'"
            " AND c.data_type IN ('text', 'character varying')"
        ).fetchall()
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            )
        }
        assert {"sessions", "messages", "limits", "usage_days"} <= tables
        for table, column in columns:
            count = conn.execute(f'SELECT count(*) FROM "{table}" WHERE "{column}" = %s', (value,)).fetchone()[0]
            if count:
                found[f"{table}.{column}"] = count
    return found


# --- export ---------------------------------------------------------------------------------


def test_the_administrator_exports_everything_about_one_student(run_tutor, school) -> None:
    names, urls, envs = school
    result = run_tutor("admin", "export-student", names["ada"], env=envs["admin"])
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["format"] == "tutor-export" and document["version"] == 1
    assert document["student_id"] == names["ada"]
    tables = document["tables"]
    assert {"sessions", "messages", "usage_days", "limits"} <= set(tables)
    assert [m["content"] for m in tables["messages"]] == [
        "secret question of ada \x00 ✓",
        "answer for ada",
    ]
    assert tables["usage_days"][0]["questions"] == 1 and tables["usage_days"][0]["tokens"] == 10
    for rows in tables.values():
        assert all(row["student_id"] == names["ada"] for row in rows)
    assert names["bob"] not in result.stdout and "of bob" not in result.stdout


def test_a_student_exports_their_own_data_and_nobody_elses(run_tutor, school) -> None:
    names, urls, envs = school
    own = run_tutor("export", env=envs["ada"])
    assert own.returncode == 0, own.stderr
    assert json.loads(own.stdout)["tables"]["sessions"][0]["student_id"] == names["ada"]
    other = run_tutor("export", "--student", names["bob"], env=envs["ada"])
    assert other.returncode == 1 and "signed in as" in other.stderr and other.stdout == ""
    admin_command = run_tutor("admin", "export-student", names["bob"], env=envs["ada"])
    assert admin_command.returncode == 1 and admin_command.stdout == ""
    assert "Only the class database's administrator can export" in admin_command.stderr
    teacher = run_tutor("export", "--student", names["ada"], env=envs["tess"])
    assert teacher.returncode == 1 and "administrator exports" in teacher.stderr
    assert_no_traceback(teacher)


# --- delete a student -----------------------------------------------------------------------


def test_delete_student_removes_every_row_in_every_table_and_the_role(run_tutor, school) -> None:
    names, urls, envs = school
    assert (
        run_tutor("admin", "limit", "--student", names["ada"], "--daily-questions", "9", env=envs["admin"]).returncode
        == 0
    )
    assert rows_naming(urls["admin"], names["ada"])  # ada is all over the schema
    before_bob = rows_naming(urls["admin"], names["bob"])
    result = run_tutor("admin", "delete-student", names["ada"], "--yes", env=envs["admin"])
    assert result.returncode == 0, result.stderr
    counts = dict(line.split() for line in result.stdout.splitlines()[1:])
    assert counts["sessions"] == "1" and counts["messages"] == "2" and counts["usage_days"] == "1"
    assert counts["limits"] == "1"
    assert rows_naming(urls["admin"], names["ada"]) == {}
    assert rows_naming(urls["admin"], names["bob"]) == before_bob
    with psycopg.connect(urls["admin"], autocommit=True) as conn:
        assert conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (names["ada"],)).fetchone() is None
    gone = run_tutor("sessions", env=envs["ada"])
    assert gone.returncode == 1 and "refused the login" in gone.stderr


def test_delete_student_refuses_non_students_and_non_administrators(run_tutor, school) -> None:
    names, urls, envs = school
    admin_name = urlsplit(urls["admin"]).username
    store = PostgresStore(urls["admin"])
    class_students, class_teachers = store.groups()
    store.close()
    for target, said in (
        (admin_name, "is an administrator"),
        (class_students, "group roles"),
        (class_teachers, "group roles"),
        (STUDENT_GROUP, "not an account of this class"),  # the server-wide group of schema 2
        (names["tess"], "is a teacher"),
        ("nobody_here", "No student 'nobody_here'"),
    ):
        result = run_tutor("admin", "delete-student", target, "--yes", env=envs["admin"])
        assert result.returncode == 1 and said in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    for who in ("bob", "tess"):
        result = run_tutor("admin", "delete-student", names["ada"], "--yes", env=envs[who])
        assert result.returncode == 1 and "Only the class database's administrator" in result.stderr
    no_terminal = run_tutor("admin", "delete-student", names["ada"], env=envs["admin"])
    assert no_terminal.returncode == 1 and "--yes" in no_terminal.stderr
    assert rows_naming(urls["admin"], names["ada"])  # nothing was removed by any of these


def test_delete_student_while_they_chat_loses_nothing_of_anyone_else(run_tutor, school) -> None:
    names, urls, envs = school
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with psycopg.connect(urls["admin"], autocommit=True) as conn:  # enough of ada that deleting takes a while
        conn.execute(
            "INSERT INTO sessions (student_id, session_id, system_prompt, created_at, updated_at)"
            " SELECT %s, 'bulk-' || n, 'p', 0, 0 FROM generate_series(1, 2000) AS n",
            (names["ada"],),
        )
        conn.execute(
            "INSERT INTO messages (session_pk, student_id, role, content, created_at)"
            " SELECT s.id, s.student_id, 'user', 'bulk', 0 FROM sessions s, generate_series(1, 20)"
            " WHERE s.student_id = %s AND s.session_id LIKE 'bulk-%%'",
            (names["ada"],),
        )
    writers = {
        who: subprocess.Popen(
            # ada starts a new session every 10 messages: rows appear in every table while she is deleted
            [sys.executable, str(WRITER), urls[who], names[who], "busy", "4000", "10" if who == "ada" else "0"],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for who in ("ada", "bob")
    }
    for process in writers.values():
        assert process.stdout.readline().strip() == "ready"
    time.sleep(0.5)  # both are appending now
    result = run_tutor("admin", "delete-student", names["ada"], "--yes", env=envs["admin"])
    assert result.returncode == 0, result.stderr
    outputs = {who: process.communicate(timeout=120)[0] for who, process in writers.items()}
    assert "refused" in outputs["ada"] or "ended" in outputs["ada"], outputs["ada"]
    bob_wrote = int(outputs["bob"].strip().splitlines()[-1].split()[1])
    assert bob_wrote == 4000, outputs["bob"]
    assert rows_naming(urls["admin"], names["ada"]) == {}
    with psycopg.connect(urls["admin"], autocommit=True) as conn:
        orphans = conn.execute(
            "SELECT count(*) FROM messages m WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id = m.session_pk)"
        ).fetchone()[0]
        assert orphans == 0
        contents = [
            row[0]
            for row in conn.execute(
                "SELECT m.content FROM messages m JOIN sessions s ON s.id = m.session_pk"
                " WHERE s.student_id = %s AND s.session_id = 'busy' ORDER BY m.id",
                (names["bob"],),
            )
        ]
        assert contents == [f"{names['bob']}:{i}" for i in range(4000)]
        count = conn.execute(
            "SELECT message_count FROM sessions WHERE student_id = %s AND session_id = 'busy'", (names["bob"],)
        ).fetchone()[0]
        assert count == 4000


def test_delete_student_waits_for_their_write_under_way_and_removes_it_too(school) -> None:
    names, urls, envs = school
    with psycopg.connect(urls["ada"]) as conn:  # a transaction of ada's stays open
        conn.execute(
            "INSERT INTO sessions (student_id, session_id, system_prompt, created_at, updated_at)"
            " VALUES (%s, 'late', 'p', 0, 0)",
            (names["ada"],),
        )
        deleting = subprocess.Popen(
            [sys.executable, "-m", "tutor_cli", "admin", "delete-student", names["ada"], "--yes"],
            env={**os.environ, **envs["admin"]},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(2)
        assert deleting.poll() is None  # waiting for ada's write to end
        conn.commit()
    out, err = deleting.communicate(timeout=60)
    assert deleting.returncode == 0, err
    assert "sessions" in out and dict(line.split() for line in out.splitlines()[1:])["sessions"] == "2"
    assert rows_naming(urls["admin"], names["ada"]) == {}


# --- purge ----------------------------------------------------------------------------------


def test_purge_removes_old_sessions_of_every_student_with_their_messages(run_tutor, school, monkeypatch) -> None:
    names, urls, envs = school
    monkeypatch.setenv("TUTOR_NOW", "2025-01-01T12:00:00Z")
    for who in ("ada", "bob"):
        with SessionManager(urls[who]) as manager:
            manager.create_session(names[who], "old", "p")
            for index in range(3):
                manager.store.add_message(names[who], "old", "user", f"old {index}")
    monkeypatch.delenv("TUTOR_NOW")
    refused = run_tutor("admin", "purge", "--older-than", "30", "--yes", env=envs["ada"])
    assert refused.returncode == 1 and "Only the class database's administrator" in refused.stderr
    dry = run_tutor("admin", "purge", "--older-than", "30", "--dry-run", env=envs["admin"])
    assert dry.returncode == 0, dry.stderr
    assert "Would remove 2 sessions" in dry.stdout and "nothing was removed" in dry.stdout
    assert dict(line.split() for line in dry.stdout.splitlines()[1:]) == {"messages": "6", "sessions": "2"}
    result = run_tutor("admin", "purge", "--older-than", "30", "--yes", env=envs["admin"])
    assert result.returncode == 0, result.stderr
    assert dict(line.split() for line in result.stdout.splitlines()[1:]) == {"messages": "6", "sessions": "2"}
    for who in ("ada", "bob"):
        with SessionManager(urls[who]) as manager:
            assert [s.session_id for s in manager.store.list_sessions(names[who])] == ["homework"]
            assert len(manager.store.get_messages(names[who], "homework")) == 2
    again = run_tutor("admin", "purge", "--older-than", "30", "--yes", env=envs["admin"])
    assert again.returncode == 0 and "nothing to remove" in again.stdout


# --- limits ---------------------------------------------------------------------------------


def test_students_cannot_change_limits_or_their_usage_ledger(run_tutor, school) -> None:
    names, urls, envs = school
    admin = envs["admin"]
    assert run_tutor("admin", "limit", "--class", "--daily-questions", "50", env=admin).returncode == 0
    assert run_tutor("admin", "limit", "--student", names["bob"], "--daily-tokens", "99", env=admin).returncode == 0
    with psycopg.connect(urls["ada"], autocommit=True) as conn:
        assert conn.execute("SELECT student_id, daily_questions FROM limits").fetchall() == [("", 50)]
        assert [row[0] for row in conn.execute("SELECT student_id FROM usage_days")] == [names["ada"]]
        for statement in (
            "UPDATE limits SET daily_questions = NULL",
            "DELETE FROM limits",
            f"INSERT INTO limits (student_id, daily_questions, updated_at) VALUES ('{names['ada']}', 1000, 0)",
            "UPDATE usage_days SET questions = 0",
            "DELETE FROM usage_days",
            f"INSERT INTO usage_days (student_id, day) VALUES ('{names['ada']}', '2099-01-01')",
            "SELECT tutor_count_usage()",
        ):
            with pytest.raises((psycopg.errors.InsufficientPrivilege, psycopg.errors.FeatureNotSupported)):
                conn.execute(statement)
        # Deleting their own sessions (which they may) does not give today's use back, and a
        # negative token count written by hand does not lower it.
        session = conn.execute("SELECT id FROM sessions").fetchone()[0]
        conn.execute(
            "INSERT INTO messages (session_pk, student_id, role, content, created_at, prompt_tokens)"
            " VALUES (%s, %s, 'assistant', 'x', extract(epoch from now()), -1000)",
            (session, names["ada"]),
        )
        assert conn.execute("DELETE FROM sessions").rowcount == 1
        assert conn.execute("SELECT questions, tokens FROM usage_days").fetchone() == (2, 10)
    with psycopg.connect(urls["tess"], autocommit=True) as conn:
        assert len(conn.execute("SELECT * FROM limits").fetchall()) == 2
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE limits SET daily_questions = 1")
    for who in ("ada", "tess"):
        result = run_tutor("admin", "limit", "--class", "--daily-questions", "none", env=envs[who])
        assert result.returncode == 1 and "Only the class database's administrator can set limits" in result.stderr


def test_a_student_over_the_limit_is_told_and_nothing_is_sent(run_tutor, school, api_env, fake_server) -> None:
    names, urls, envs = school
    ada = {**envs["ada"], "TUTOR_NOW": "2026-03-02T22:30:00Z"}
    result = run_tutor("admin", "limit", "--student", names["ada"], "--daily-questions", "1", env=envs["admin"])
    assert result.returncode == 0 and "1 questions a day" not in result.stdout and "1 question" in result.stdout
    assert run_tutor("ask", "--session", "s", "first", env=ada).returncode == 0
    sent = len(fake_server.chat_requests)
    over = run_tutor("ask", "--session", "s", "second", env=ada)
    assert over.returncode == 1 and over.stdout == ""
    assert "1 question a day (1 answered today)" in over.stderr and "00:00 UTC, in 1 h 30 min" in over.stderr
    assert len(over.stderr.strip().splitlines()) == 1
    assert len(fake_server.chat_requests) == sent
    shown = json.loads(run_tutor("show", "s", "-f", "json", env=ada).stdout)
    assert [m["content"] for m in shown["messages"]] == ["first", "Answer to: first", "second"]
    usage = json.loads(run_tutor("usage", "-f", "json", env=ada).stdout)
    assert (
        usage
        == {
            "student_id": names["ada"],
            "day": "2026-03-02",
            "resets_at": "2026-03-03T00:00:00Z",
            "questions": 1,
            "tokens": usage["tokens"],
            "daily_questions": 1,
            "daily_tokens": None,
        }
        and usage["tokens"] > 0
    )
    teacher = run_tutor(
        "usage", "--student", names["ada"], "-f", "json", env={**envs["tess"], "TUTOR_NOW": ada["TUTOR_NOW"]}
    )
    assert json.loads(teacher.stdout)["questions"] == 1
    next_day = run_tutor("ask", "--session", "s", "third", env={**ada, "TUTOR_NOW": "2026-03-03T00:00:01Z"})
    assert next_day.returncode == 0, next_day.stderr
    # The kept question went with the next day's: merged into one, as after any unanswered question.
    assert fake_server.chat_requests[-1]["body"]["messages"][-1]["content"] == "second\n\nthird"


def test_delete_student_waits_for_a_profile_update_under_way_instead_of_deadlocking(pg_url: str) -> None:
    """A profile update writes `profiles`, then `sessions`; delete-student must lock in that order too."""
    import threading

    names, urls = class_accounts(pg_url)
    ada = names["ada"]
    with SessionManager(urls["ada"]) as manager:
        manager.new_session(ada, "p", "s1")
        manager.store.add_message(ada, "s1", "user", "q")
        manager.store.save_profile(ada, "notes")
    update = psycopg.connect(urls["ada"])  # what save_profile does, paused between its two statements
    update.execute("UPDATE profiles SET text = 'x', revision = revision + 1 WHERE student_id = %s", (ada,))
    outcome: dict[str, object] = {}

    def delete() -> None:
        admin = PostgresStore(pg_url)
        try:
            outcome["deleted"] = admin.delete_student(ada, drop_role=True)
        except Exception as error:  # the assertion below shows what went wrong
            outcome["deleted"] = error
        finally:
            admin.close()

    thread = threading.Thread(target=delete)
    thread.start()
    time.sleep(1.0)  # the delete is now waiting for the update's lock on profiles
    try:  # the student's access was revoked first: this is refused, or lands before the delete
        update.execute("UPDATE sessions SET profile_through = 1 WHERE student_id = %s", (ada,))
        update.commit()
    except psycopg.Error:
        update.rollback()
    update.close()
    thread.join(timeout=30)
    assert isinstance(outcome["deleted"], dict), outcome["deleted"]
    assert outcome["deleted"]["profiles"] == 1 and outcome["deleted"]["sessions"] == 1
