"""The class store on a real PostgreSQL server: isolation by the database itself, teachers, load."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from urllib.parse import urlsplit

import psycopg
import pytest

from tests.conftest import as_user
from tutor_cli import SessionManager, SessionNotFoundError, StoreError, TutorError
from tutor_cli.store.postgres import STUDENT_GROUP, PostgresStore, decode_text, encode_text


def test_text_encoding_round_trips_nul_and_the_escape_itself() -> None:
    for text in ["plain", "a\x00b", "\ue000", "\ue000\ue002", "\x00\ue000\x00", "\ue000\ue001\x00"]:
        stored = encode_text(text)
        assert "\x00" not in stored
        assert decode_text(stored) == text


def test_each_connection_knows_who_it_is(classroom) -> None:
    names, urls = classroom
    with SessionManager(urls["ada"]) as ada, SessionManager(urls["tess"]) as tess:
        assert ada.store.identity.kind == "student" and ada.store.identity.name == names["ada"]
        assert tess.store.identity.kind == "teacher"
    with SessionManager(urls["admin"]) as admin:
        assert admin.store.identity.kind == "admin"


def test_a_student_cannot_read_list_change_or_delete_anothers_sessions(classroom) -> None:
    names, urls = classroom
    ada_id, bob_id = names["ada"], names["bob"]
    with SessionManager(urls["ada"]) as ada:
        assert ada.get_session(bob_id, "homework") is None
        assert ada.get_conversation(bob_id, "homework") == []
        assert ada.store.list_sessions(bob_id) == []
        assert [s.student_id for s in ada.store.list_sessions(None)] == [ada_id]
        with pytest.raises(SessionNotFoundError):
            ada.add_message(bob_id, "homework", "user", "injected")
        with pytest.raises(SessionNotFoundError):
            ada.store.delete_session(bob_id, "homework")
        with pytest.raises(TutorError):
            ada.create_session(bob_id, "planted", "pretending to be bob")
    with SessionManager(urls["bob"]) as bob:
        assert bob.get_conversation(bob_id, "homework")[1:] == [{"role": "user", "content": "secret question of bob"}]
        assert [s.session_id for s in bob.store.list_sessions(bob_id)] == ["homework"]


def test_raw_sql_with_a_students_own_credentials_sees_only_their_rows(classroom) -> None:
    names, urls = classroom
    with psycopg.connect(urls["ada"], autocommit=True) as conn:
        students = {row[0] for row in conn.execute("SELECT student_id FROM sessions")}
        assert students == {names["ada"]}
        contents = [row[0] for row in conn.execute("SELECT content FROM messages")]
        assert contents == ["secret question of ada"]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE messages SET content = 'hacked' WHERE student_id = %s", (names["bob"],))
        assert conn.execute("DELETE FROM sessions WHERE student_id = %s", (names["bob"],)).rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO sessions (student_id, session_id, system_prompt, created_at, updated_at)"
                " VALUES (%s, 'x', 'p', 0, 0)",
                (names["bob"],),
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("ALTER TABLE sessions DISABLE ROW LEVEL SECURITY")
    with SessionManager(urls["bob"]) as bob:
        assert bob.get_conversation(names["bob"], "homework")[1]["content"] == "secret question of bob"


@pytest.mark.skipif(not shutil.which("psql"), reason="psql is not installed")
def test_psql_with_a_students_credentials_cannot_see_another_student(classroom) -> None:
    names, urls = classroom
    parts = urlsplit(urls["ada"])
    env = {**os.environ, "PGPASSWORD": "ada-pw"}
    result = subprocess.run(
        [
            "psql",
            "-h",
            parts.hostname,
            "-p",
            str(parts.port),
            "-U",
            names["ada"],
            "-d",
            parts.path.lstrip("/"),
            "-At",
            "-c",
            "SELECT student_id || ':' || content FROM messages",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert result.stdout.strip() == f"{names['ada']}:secret question of ada"


def test_the_teacher_reads_every_student_and_writes_nothing(classroom) -> None:
    names, urls = classroom
    with SessionManager(urls["tess"]) as tess:
        assert {s.student_id for s in tess.store.list_sessions(None)} == {names["ada"], names["bob"]}
        assert tess.get_conversation(names["bob"], "homework")[1]["content"] == "secret question of bob"
        with pytest.raises(TutorError, match="Teachers can read"):
            tess.add_message(names["bob"], "homework", "assistant", "teacher edit")
        with pytest.raises(TutorError, match="Teachers can read"):
            tess.create_session(names["tess"], "own", "p")
        with pytest.raises(TutorError, match="Teachers can read"):
            tess.store.delete_session(names["ada"], "homework")
    with psycopg.connect(urls["tess"], autocommit=True) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("UPDATE messages SET content = 'x'")


def test_fifty_students_appending_at_once_lose_nothing(pg_url: str) -> None:
    admin = PostgresStore(pg_url)
    suffix = os.urandom(3).hex()
    students = [f"s{n}_{suffix}" for n in range(50)]
    for name in students:
        admin.add_member(name, "pw", STUDENT_GROUP)
    admin.close()
    errors: list[BaseException] = []

    def student(name: str) -> None:
        try:
            with SessionManager(as_user(pg_url, name, "pw")) as manager:
                manager.create_session(name, "load", "p")
                for index in range(100):
                    manager.add_message(name, "load", "user" if index % 2 == 0 else "assistant", f"{name}:{index}")
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=student, args=(name,)) for name in students]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with SessionManager(pg_url) as admin_manager:
        for name in students:
            messages = admin_manager.get_session(name, "load")["messages"]
            assert [m["content"] for m in messages] == [f"{name}:{i}" for i in range(100)]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for name in students:
            conn.execute(f'DROP OWNED BY "{name}"')
            conn.execute(f'DROP ROLE "{name}"')


def test_the_request_window_and_usage_work_on_postgres(pg_url: str) -> None:
    with SessionManager(pg_url) as manager:
        manager.create_session("ada", "long", "system")
        for turn in range(200):
            manager.add_message("ada", "long", "user", f"question {turn} " * 30)
            manager.store.add_message(
                "ada",
                "long",
                "assistant",
                f"answer {turn} " * 30,
                model="deepseek-flash",
                usage={"prompt_tokens": 100, "completion_tokens": 10, "cache_hit_tokens": 60, "cache_miss_tokens": 40},
            )
        manager.add_message("ada", "long", "user", "newest")
        request = manager.window.build("ada", "long", window_tokens=8_000)
        assert request.messages[0]["content"] == "system" and request.messages[-1]["content"] == "newest"
        assert request.dropped is not None and manager.store.get_session("ada", "long").window_start > 0
        from tutor_cli.pricing import PriceTable

        totals = manager.session_totals(PriceTable(), "ada", "long")
        assert totals.tokens["prompt_tokens"] == 20_000 and totals.cache_hit_share == 0.6
        assert totals.priced and totals.cost > 0


def test_an_unmigrated_database_is_one_sentence(postgres_cluster: str) -> None:
    name = "t_empty_" + os.urandom(3).hex()
    with psycopg.connect(postgres_cluster, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = postgres_cluster.rsplit("/", 1)[0] + "/" + name
    try:
        with pytest.raises(StoreError, match="tutor db migrate"):
            SessionManager(url)
    finally:
        with psycopg.connect(postgres_cluster, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_wrong_password_and_unreachable_server_are_one_sentence(classroom) -> None:
    names, urls = classroom
    with pytest.raises(StoreError, match="refused the login") as caught:
        SessionManager(as_user(urls["admin"], names["ada"], "wrong-password"))
    assert "wrong-password" not in str(caught.value)
    with pytest.raises(StoreError, match="cannot reach"):
        SessionManager("postgresql://nobody:secret@127.0.0.1:9/tutor")


def test_a_failing_migration_leaves_no_half_made_tables_and_no_version_row(pg_url: str) -> None:
    """As on SQLite: a migration runs in one transaction with its version row, or not at all."""
    from tutor_cli.store import MIGRATIONS, Migration

    applied = list(MIGRATIONS)

    def broken(conn) -> None:
        conn.execute("CREATE TABLE half_done (x integer)")
        conn.execute("ALTER TABLE sessions ADD COLUMN half_column text")
        raise RuntimeError("power cut")

    store = PostgresStore(pg_url)
    with pytest.raises(RuntimeError, match="power cut"):
        store.migrate([*applied, Migration("broken", broken, broken)])
    store.close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('half_done')").fetchone()[0] is None
        columns = [
            row[0]
            for row in conn.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'sessions'")
        ]
        assert "half_column" not in columns
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == list(range(1, len(applied) + 1))
