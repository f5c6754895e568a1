"""The `tutor` command against a class database: administrators, students and teachers."""

from __future__ import annotations

import json
import os

import psycopg
import pytest

from tests.conftest import as_user, assert_no_traceback, create_database, drop_database


@pytest.fixture
def empty_database(postgres_cluster: str):
    url = create_database(postgres_cluster, "t_cli_")
    yield url
    drop_database(postgres_cluster, url)


@pytest.fixture
def school(run_tutor, empty_database):
    """A migrated class database with a student, a second student and a teacher, made through the CLI."""
    suffix = os.urandom(3).hex()
    names = {"ada": f"ada_{suffix}", "bob": f"bob_{suffix}", "tess": f"tess_{suffix}"}
    admin = {"TUTOR_DATABASE_URL": empty_database}
    result = run_tutor("db", "migrate", env=admin)
    assert result.returncode == 0, result.stderr
    for who in ("ada", "bob"):
        assert run_tutor("admin", "add-student", names[who], "--password", f"{who}-pw", env=admin).returncode == 0
    assert run_tutor("admin", "add-teacher", names["tess"], "--password", "tess-pw", env=admin).returncode == 0
    envs = {
        who: {"TUTOR_DATABASE_URL": as_user(empty_database, names[who], f"{who}-pw")} for who in ("ada", "bob", "tess")
    }
    yield names, envs, admin
    with psycopg.connect(empty_database, autocommit=True) as conn:
        for role in names.values():
            conn.execute(f'DROP OWNED BY "{role}"')
            conn.execute(f'DROP ROLE "{role}"')


def test_student_commands_before_migration_say_what_to_do(run_tutor, empty_database) -> None:
    result = run_tutor("sessions", env={"TUTOR_DATABASE_URL": empty_database})
    assert result.returncode == 1 and "tutor db migrate" in result.stderr
    assert_no_traceback(result)


def test_migrate_is_idempotent(run_tutor, school) -> None:
    _, _, admin = school
    result = run_tutor("db", "migrate", env=admin)
    from tutor_cli.store import MIGRATIONS

    version = len(MIGRATIONS)
    assert result.returncode == 0 and f"schema version {version} of {version}" in result.stdout


def test_a_student_is_their_database_role(run_tutor, school) -> None:
    names, envs, _ = school
    assert run_tutor("new-session", "--session", "homework", env=envs["ada"]).returncode == 0
    sessions = json.loads(run_tutor("sessions", "-f", "json", env=envs["ada"]).stdout)
    assert [(s["student_id"], s["session_id"]) for s in sessions] == [(names["ada"], "homework")]
    result = run_tutor("sessions", "--student", names["bob"], env=envs["ada"])
    assert result.returncode == 1 and "signed in as" in result.stderr and names["bob"] in result.stderr
    assert run_tutor("show", "homework", "--student", names["bob"], env=envs["ada"]).returncode == 1
    assert json.loads(run_tutor("sessions", "-f", "json", env=envs["bob"]).stdout) == []
    assert run_tutor("sessions", "--all-students", "-f", "json", env=envs["bob"]).stdout.strip() == "[]"


def test_a_teacher_reads_everyone_and_changes_nothing(run_tutor, school) -> None:
    names, envs, _ = school
    for who in ("ada", "bob"):
        assert run_tutor("new-session", "--session", f"{who}-work", env=envs[who]).returncode == 0
    listing = json.loads(run_tutor("sessions", "--all-students", "-f", "json", env=envs["tess"]).stdout)
    assert {(s["student_id"], s["session_id"]) for s in listing} == {
        (names["ada"], "ada-work"),
        (names["bob"], "bob-work"),
    }
    shown = run_tutor("show", "bob-work", "--student", names["bob"], "-f", "json", env=envs["tess"])
    assert shown.returncode == 0 and json.loads(shown.stdout)["student_id"] == names["bob"]
    result = run_tutor("show", "bob-work", env=envs["tess"])
    assert result.returncode == 1 and "--student" in result.stderr
    for command in (["new-session"], ["delete", "bob-work", "--student", names["bob"], "--yes"]):
        result = run_tutor(*command, env=envs["tess"])
        assert result.returncode == 1 and "Teachers can read" in result.stderr
        assert_no_traceback(result)
    table = run_tutor("sessions", "--all-students", env={**envs["tess"], "COLUMNS": "160"}).stdout
    assert "Student" in table and names["ada"] in table


def test_a_student_asks_through_the_class_store(run_tutor, school, api_env, fake_server) -> None:
    names, envs, _ = school
    result = run_tutor("ask", "--session", "q", "What is 2+2?", env=envs["ada"])
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Answer to: What is 2+2?\n"
    shown = json.loads(run_tutor("show", "q", "-f", "json", env=envs["ada"]).stdout)
    assert [m["content"] for m in shown["messages"]] == ["What is 2+2?", "Answer to: What is 2+2?"]
    assert shown["usage"]["prompt_tokens"] > 0


def test_login_and_connection_failures_are_one_sentence(run_tutor, school) -> None:
    names, envs, admin = school
    wrong = envs["ada"]["TUTOR_DATABASE_URL"].replace("ada-pw", "not-the-password")
    result = run_tutor("sessions", env={"TUTOR_DATABASE_URL": wrong})
    assert result.returncode == 1 and "refused the login" in result.stderr
    assert "not-the-password" not in result.stderr
    result = run_tutor("sessions", env={"TUTOR_DATABASE_URL": "postgresql://x:y@127.0.0.1:9/tutor"})
    assert result.returncode == 1 and "cannot reach" in result.stderr
    assert_no_traceback(result)
    result = run_tutor("--database-url", "mysql://nope", "sessions")
    assert result.returncode == 1 and "PostgreSQL URL" in result.stderr


def test_the_database_url_option_works_like_the_variable(run_tutor, school) -> None:
    names, envs, _ = school
    result = run_tutor("--database-url", envs["bob"]["TUTOR_DATABASE_URL"], "new-session", "--session", "via-option")
    assert result.returncode == 0, result.stderr
    listing = json.loads(run_tutor("sessions", "-f", "json", env=envs["bob"]).stdout)
    assert [s["session_id"] for s in listing] == ["via-option"]


def test_student_names_must_be_plain(run_tutor, school) -> None:
    _, _, admin = school
    result = run_tutor("admin", "add-student", "bad name; drop", "--password", "x", env=admin)
    assert result.returncode == 1 and "cannot be a database user name" in result.stderr
